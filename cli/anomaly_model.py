"""`powerdesk anomaly inspect | findings | train`: inspection findings become labels; the theft model learns them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.settings import get_settings

err = Console(stderr=True)


def inspect_cmd(
    account: Annotated[str, typer.Argument(help="the customer's account number (户号)")],
    finding: Annotated[str, typer.Option(help="theft | fault | normal (what the inspection found)")],
    by: Annotated[str, typer.Option(help="who inspected")],
    note: Annotated[str, typer.Option(help="what was found, in a few words")] = "",
    alert: Annotated[int | None, typer.Option(help="the alert this inspection settles (acknowledged too)")] = None,
) -> None:
    """Record an inspector's finding: it becomes the customer's label for the next `anomaly train`."""
    from cli.anomaly import _sessions
    from core.db import transaction
    from services.inspections import record_finding

    with transaction(_sessions(get_settings())) as session:
        view = record_finding(session, account, finding, by, note, alert)
    typer.echo(json.dumps(view.as_dict(), ensure_ascii=False))


def findings_cmd(
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List recorded inspection findings, newest first."""
    from cli.anomaly import _sessions
    from services.inspections import list_findings

    with _sessions(get_settings())() as session:
        views = list_findings(session, limit)
    if as_json:
        typer.echo(json.dumps([v.as_dict() for v in views], ensure_ascii=False))
        return
    table = Table("id", "户号", "finding", "label", "inspector", "alert", "recorded", "note")
    for v in views:
        table.add_row(
            str(v.id), v.account_no, v.finding, str(v.label), v.inspector, str(v.alert_id or ""), v.recorded_at, v.note
        )
    Console().print(table)


def train_cmd(
    consumption: Annotated[
        Path | None, typer.Option("--consumption", help="a CSV (customer_id,date,kwh …); without it: the database")
    ] = None,
    labels: Annotated[Path | None, typer.Option("--labels", help="CSV customer_id,label (1 = theft)")] = None,
    meta: Annotated[Path | None, typer.Option("--meta", help="CSV customer_id,area,category (peer groups)")] = None,
    findings: Annotated[
        bool | None,
        typer.Option(
            "--findings/--no-findings",
            help="add the recorded inspection findings (default: yes from the database, no with --consumption)",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="where to save (default ANOMALY_MODEL_FILE)")] = None,
    source: Annotated[str, typer.Option(help="a note of where the labels come from, saved with the model")] = "",
) -> None:
    """Train the theft model from inspection findings and/or a labels file, and save it for `anomaly score`."""
    from analytics.anomaly.contract import read_labels
    from cli.anomaly import _load, _meta, _sessions
    from services.theft_training import database_population, stored_findings, train_and_save

    settings = get_settings()
    use_findings = findings if findings is not None else consumption is None
    if consumption is None:
        cons, meta_ = database_population(_sessions(settings))
    else:
        cons = _load(consumption, settings)
        meta_ = _meta(meta, cons.customers)
    from_file = read_labels(labels) if labels is not None else None
    from_db = stored_findings(_sessions(settings)) if use_findings else None
    label_note = source or (f"labels {labels.name}" if labels is not None else "")
    result = train_and_save(settings, cons, meta_, from_file, from_db, out, label_note)
    err.print(f"trained on {result.customers} customers ({result.positives} thefts) → {result.path}")
    typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
