"""`powerdesk outage add | update | close | list | show | scopes | notify | notices`: outage events and their
proactive notices from the command line."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import json
from typing import Annotated

import typer

from cli.db import migrated_sessions
from core.clock import local_now
from core.db import transaction
from core.errors import InvalidInput
from core.settings import get_settings
from services.outage_notice_counts import notice_summary
from services.outage_notice_delivery import DeliveryReport, make_delivery
from services.outage_scope import SCOPE_COLUMNS, known_values
from services.outages import (
    NewOutage,
    OutageView,
    close_outage,
    create_outage,
    get_outage,
    list_outages,
    outage_view,
    update_outage,
)
from services.wechat_api import make_sender

outage_app = typer.Typer(help="Outage events: planned (计划停电) and faults (故障停电).", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


def _by() -> str:
    return f"cli:{getpass.getuser()}"[:50]


def parse_local(value: str, option: str) -> dt.datetime:
    """An ISO 8601 local time (2026-12-08T08:00 or 2026-12-08 08:00)."""
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"{option} must be a local time like 2026-12-08T08:00; got {value[:40]!r}") from exc


def _print(views: list[OutageView], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([v.as_dict() for v in views], ensure_ascii=False, indent=1))
        return
    for v in views:
        where = f"{v.scope} {v.scope_value}" if v.scope_value else f"{v.affected} accounts"
        typer.echo(f"#{v.id}\t{v.kind}\t{v.status}\t{v.start} … {v.end}\t{where}\t{v.affected} customers\t{v.reason}")


@outage_app.command("add")
def add(
    kind: Annotated[str, typer.Option(help="planned (计划停电) or fault (故障停电)")],
    start: Annotated[str, typer.Option(help="local time, e.g. 2026-12-08T08:00")],
    end: Annotated[str, typer.Option(help="local time; for a fault, the estimated restoration")],
    reason: Annotated[str, typer.Option(help="停电原因, e.g. 10kV线路检修")],
    area: Annotated[str | None, typer.Option(help="an area (供电区域), e.g. 西湖区")] = None,
    feeder: Annotated[str | None, typer.Option(help="a 10 kV feeder")] = None,
    transformer_area: Annotated[str | None, typer.Option(help="a transformer area (台区)")] = None,
    accounts: Annotated[str | None, typer.Option(help="account numbers (户号), comma-separated")] = None,
    as_json: JsonOption = False,
) -> None:
    """Announce a planned outage or report a fault for an area, a feeder, a 台区 or a list of accounts."""
    scopes = {"area": area, "feeder": feeder, "transformer_area": transformer_area, "accounts": accounts}
    given = [k for k, v in scopes.items() if v is not None]
    if len(given) != 1:
        raise InvalidInput("give exactly one of --area, --feeder, --transformer-area, --accounts")
    scope = given[0]
    new = NewOutage(
        kind=kind,
        start=parse_local(start, "--start"),
        end=parse_local(end, "--end"),
        reason=reason,
        scope=scope,
        scope_value=None if scope == "accounts" else scopes[scope],
        accounts=(accounts or "").split(",") if scope == "accounts" else [],
    )
    sessions = migrated_sessions()
    with transaction(sessions) as session:
        view = outage_view(session, create_outage(session=session, new=new, by=_by(), source="cli"), local_now())
    _print([view], as_json)


@outage_app.command("update")
def update(
    event_id: Annotated[int, typer.Argument(min=1, help="the event's id")],
    start: Annotated[str | None, typer.Option(help="new start (local time; a planned outage moved)")] = None,
    end: Annotated[str | None, typer.Option(help="new end / estimated restoration (local time)")] = None,
    reason: Annotated[str | None, typer.Option(help="new reason")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change an open event's start, end (a fault's estimated restoration) or reason; customers already told about
    a planned outage are told of its new times."""
    sessions = migrated_sessions()
    with transaction(sessions) as session:
        begins = parse_local(start, "--start") if start is not None else None
        when = parse_local(end, "--end") if end is not None else None
        event = update_outage(session=session, event_id=event_id, by=_by(), start=begins, end=when, reason=reason)
        view = outage_view(session, event, local_now())
    _print([view], as_json)


@outage_app.command("close")
def close(event_id: Annotated[int, typer.Argument(min=1, help="the event's id")], as_json: JsonOption = False) -> None:
    """Power is back (a fault), or the planned work is over or called off."""
    sessions = migrated_sessions()
    with transaction(sessions) as session:
        view = outage_view(session, close_outage(session=session, event_id=event_id, by=_by()), local_now())
    _print([view], as_json)


@outage_app.command("list")
def list_command(
    active: Annotated[bool, typer.Option(help="only events in progress")] = False,
    coming: Annotated[bool, typer.Option(help="only events not started yet")] = False,
    as_json: JsonOption = False,
) -> None:
    """Events, newest first (or the active / coming ones, earliest first)."""
    if active and coming:
        raise InvalidInput("give --active or --coming, not both")
    with migrated_sessions()() as session:
        now = local_now()
        events = list_outages(session=session, which="active" if active else "coming" if coming else "all", now=now)
        views = [outage_view(session, e, now) for e in events]
    _print(views, as_json)


@outage_app.command("show")
def show(event_id: Annotated[int, typer.Argument(min=1)], as_json: JsonOption = False) -> None:
    """One event with its history."""
    with migrated_sessions()() as session:
        view = outage_view(session, get_outage(session=session, event_id=event_id), local_now(), history=True)
    if as_json:
        typer.echo(json.dumps(view.as_dict(), ensure_ascii=False, indent=1))
        return
    _print([view], False)
    for h in view.history or []:
        typer.echo(
            f"  v{h['version']}\t{h['at']}\t{h['action']}\t{h['by']}\t{json.dumps(h['changes'], ensure_ascii=False)}"
        )


@outage_app.command("scopes")
def scopes(scope: Annotated[str, typer.Argument(help="area, feeder or transformer_area")]) -> None:
    """The areas, feeders or transformer areas (台区) that have customers, one a line."""
    if scope not in SCOPE_COLUMNS:
        raise InvalidInput(f"unknown scope {scope[:30]!r}; use one of {', '.join(SCOPE_COLUMNS)}")
    with migrated_sessions()() as session:
        for value in known_values(session, scope):
            typer.echo(value)


@outage_app.command("notify")
def notify(
    once: Annotated[bool, typer.Option("--once", help="deliver what is due now and stop")] = False,
    rate: Annotated[float | None, typer.Option(min=0.01, help="WeChat pushes a second (OUTAGE_NOTICE_RATE)")] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=64, help="WeChat pushes at once (OUTAGE_NOTICE_CONCURRENCY)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Deliver the queued outage notices (WeChat pushes, widget notices) and print what happened; without --once,
    keep delivering every OUTAGE_NOTICE_POLL_S seconds (the api does this too)."""
    settings = get_settings()
    sessions = migrated_sessions()
    delivery = make_delivery(settings, sessions, make_sender(settings, settings.redis_url), rate, concurrency)

    report = asyncio.run(delivery.deliver_due())
    _print_report(report, as_json)
    if not once:
        typer.echo(f"delivering every {settings.outage_notice_poll_s:g} s; Ctrl-C stops", err=True)
        asyncio.run(delivery.run(settings.outage_notice_poll_s))


def _print_report(report: DeliveryReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        typer.echo(
            f"{report.sent} sent, {report.failed} failed, {report.retrying} to retry later, {report.cancelled} "
            f"cancelled; {report.attempts} WeChat calls in {report.seconds:.1f} s"
        )
    if report.waiting_for_wechat:
        typer.echo(
            f"{report.waiting_for_wechat} WeChat notices wait: set WECHAT_APP_ID and WECHAT_APP_SECRET to send them",
            err=True,
        )


@outage_app.command("notices")
def notices(
    event_id: Annotated[int, typer.Argument(min=1, help="the event's id")], as_json: JsonOption = False
) -> None:
    """The event's proactive notices: how many per kind and status, per channel, and the failures' reasons."""
    with migrated_sessions()() as session:
        get_outage(session=session, event_id=event_id)
        summary = notice_summary(session, event_id)
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=1))
        return
    typer.echo(f"#{event_id}\t{summary.total} notices\t" + ", ".join(f"{k} {v}" for k, v in summary.by_channel.items()))
    if summary.by_via:
        typer.echo("  sent via\t" + "\t".join(f"{via} {n}" for via, n in summary.by_via.items()))
    for kind, statuses in summary.by_status.items():
        typer.echo(f"  {kind}\t" + "\t".join(f"{s} {n}" for s, n in statuses.items()))
    for failure in summary.failures:
        typer.echo(f"  failed\t{failure['account_no']}\t{failure['channel']}\t{failure['error']}")
