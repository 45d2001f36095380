"""`powerdesk ticket show | status`: a ticket's lifecycle (受理 → 派单 → 到场 → 修复 → 回访, or 取消)."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from cli.db import migrated_sessions
from core.db import transaction
from core.settings import get_settings
from services.labels import load_labels
from services.ticket_lifecycle import TicketView, get_ticket, link_outage, move, parse_state, ticket_view

ticket_app = typer.Typer(help="Tickets and their lifecycle.", no_args_is_help=True)


def _print(view: TicketView, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(view.as_dict(), ensure_ascii=False, indent=1))
        return
    names = load_labels(get_settings().data_dir).by_group["ticket_status"]
    typer.echo(f"{view.ticket_no}\t{view.kind}\t{view.status} {names.get(view.status, '')}\t{view.description[:80]}")
    for step in view.history:
        note = f"\t{step.note}" if step.note else ""
        typer.echo(f"  {step.at}\t{step.from_status or '-'} → {step.to_status}\t{step.by}{note}")
    if view.next:
        typer.echo(f"  next: {', '.join(view.next)}")


@ticket_app.command("show")
def show(
    ticket_no: Annotated[str, typer.Argument(help="e.g. GZ20261207000042")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """A ticket, its state and every step with its time."""
    with migrated_sessions()() as session:
        view = ticket_view(session, get_ticket(session, ticket_no))
    _print(view, as_json)


@ticket_app.command("status")
def status(
    ticket_no: Annotated[str, typer.Argument(help="e.g. GZ20261207000042")],
    to: Annotated[str, typer.Option("--to", help="the next state: a code (dispatched) or its name (派单)")],
    note: Annotated[str | None, typer.Option(help="what happened")] = None,
    outage: Annotated[int | None, typer.Option(min=1, help="link the ticket to this outage event")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Move a ticket to its next state (forward only; 回访 visited and 取消 cancelled are final)."""
    state = parse_state(to, load_labels(get_settings().data_dir).by_group["ticket_status"])
    with transaction(migrated_sessions()) as session:
        if outage is not None:
            link_outage(session, ticket_no=ticket_no, outage_id=outage)
        ticket = move(session, ticket_no=ticket_no, to=state, by=f"cli:{getpass.getuser()}"[:50], note=note)
        view = ticket_view(session, ticket)
    _print(view, as_json)
