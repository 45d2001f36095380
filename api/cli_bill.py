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
