"""`powerdesk bill …` and `powerdesk records …`: bill computation (the I/O contract) and the audits."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from core.settings import get_settings

bill_app = typer.Typer(help="Bills: compute (billing-io contract), audit stored bills.", no_args_is_help=True)
records_app = typer.Typer(help="Customer records: audit.", no_args_is_help=True)
err = Console(stderr=True)


def read_json_input(source: str) -> Any:
    """JSON from a file or `-` (stdin); a malformed document exits 2 with where it broke."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]cannot read {source}: {exc}[/red]")
        raise typer.Exit(2) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        err.print(f"[red]{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}[/red]")
        raise typer.Exit(2) from None


@bill_app.command("compute")
def bill_compute(
    source: Annotated[str, typer.Argument(help="a JSON list of bill requests, or - for stdin")],
) -> None:
    """Compute bills as ../shared/spec/billing-io.md says: one result per request, in order; errors per request."""
    from analytics.billing.requests import compute_requests
    from analytics.billing.schedule import load_tariff_book

    data = read_json_input(source)
    if not isinstance(data, list):
        err.print("[red]expected a JSON list of bill requests ([{...}, ...])[/red]")
        raise typer.Exit(2)
    book = load_tariff_book(get_settings().data_dir / "tariffs")
    results = compute_requests(data, book)
    json.dump(results, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    failed = sum("error" in r for r in results)
    if failed:
        err.print(f"{len(results) - failed} bills computed, {failed} refused (see their `error`)")


@bill_app.command("audit")
def bill_audit(
    month_from: Annotated[str | None, typer.Option("--from", help="first billing month, YYYY-MM")] = None,
    month_to: Annotated[str | None, typer.Option("--to", help="last billing month, YYYY-MM")] = None,
    engine: Annotated[str, typer.Option(help="pandas (in process) or dask (LocalCluster or --scheduler)")] = "pandas",
    scheduler: Annotated[str | None, typer.Option(help="address of a running Dask scheduler")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Recompute stored bills from readings and schedules; findings go to the database and a CSV."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from core.errors import InvalidInput
    from services.bill_audit import month_range, run_bill_audit

    if engine not in ("pandas", "dask"):
        err.print(f"[red]--engine must be pandas or dask, got {engine!r}[/red]")
        raise typer.Exit(2)
    settings = get_settings()
    try:
        first, last = month_range(month_from, month_to)
    except InvalidInput as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    with Progress(
        TextColumn("稽核电费账单"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task("audit", total=None)
        summary = run_bill_audit(
            settings.effective_database_url,
            settings.data_dir / "tariffs",
            settings.var_dir / "audits",
            first,
            last,
            engine=engine,  # type: ignore[arg-type]
            scheduler=scheduler,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    result = {
        "run_id": summary.run_id,
        "customers": summary.customers,
        "bills": summary.bills,
        "findings": len(summary.findings),
        "by_reason": summary.by_reason(),
        "csv": str(summary.csv_path),
    }
    if json_out:
        print(json.dumps(result, ensure_ascii=False))
    else:
        err.print(f"{summary.bills} bills of {summary.customers} customers checked, {len(summary.findings)} findings")
        for reason, count in summary.by_reason().items():
            err.print(f"  {reason:22s} {count}")
        err.print(f"findings: table audit_findings (run {summary.run_id}) and {summary.csv_path}")


@records_app.command("audit")
def records_audit(json_out: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False) -> None:
    """Check every customer record: fields, duplicates, category/capacity/multiplier against the meter data."""
    from services.records_audit import run_records_audit

    settings = get_settings()
    summary = run_records_audit(settings.effective_database_url, settings.var_dir / "audits")
    if json_out:
        print(json.dumps(summary, ensure_ascii=False))
        return
    err.print(f"{summary['customers']} records checked, {summary['findings']} findings")
    for reason, count in summary["by_reason"].items():
        err.print(f"  {reason:22s} {count}")
    err.print(f"findings: table audit_findings (run {summary['run_id']}) and {summary['csv']}")
