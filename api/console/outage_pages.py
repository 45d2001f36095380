"""The console's outage pages: active and coming events, one event with its history, the customers it affects (50 a
page) and its linked tickets, and the supervisors' forms to update the estimated restoration / reason or close it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.console.auth import principal
from api.console.page_kit import Change, ConsoleForm, base, form_action, form_fields, loaded_page, page, to_login
from api.schemas import MAX_DB_ID, DbId
from core.clock import local_now
from core.errors import PowerDeskError
from services import outage_views
from services.agents import Principal
from services.outages import MAX_REASON_CHARS, close_outage, get_outage, list_outages, outage_view, update_outage

router = APIRouter(include_in_schema=False)
ALL_LIMIT = 200  # events on the "all" tab, newest first


class OutageUpdateForm(ConsoleForm):
    """The supervisors' update form: a new start (a planned outage moved), end (estimated restoration,
    `datetime-local`) and/or reason; blank fields are left as they are."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    reason: str | None = Field(default=None, max_length=MAX_REASON_CHARS)


@router.get("/console/outages", response_class=HTMLResponse)
async def outages_page(request: Request, which: str = "current") -> Response:
    """Active and coming events with the customers affected and the tickets linked; `which=all`: the newest 200."""
    who = await principal(request)
    if who is None:
        return to_login(request)
    which = "all" if which == "all" else "current"

    def load() -> dict[str, Any]:
        now = local_now()
        with request.app.state.sessions() as session:
            if which == "all":
                events = list_outages(session=session, which="all", now=now, limit=ALL_LIMIT)
                return {"events": outage_views.outage_lines(session, events, now)}
            active, coming = outage_views.current_outages(session, now)
            return {"active": active, "coming": coming}

    context = await run_in_threadpool(load)
    return page(request, "outages.html", {**base(who), **context, "which": which, "all_limit": ALL_LIMIT})


def _detail(event_id: int, customers_page: int) -> Callable[[Session], dict[str, Any]]:
    def load(session: Session) -> dict[str, Any]:
        event = get_outage(session=session, event_id=event_id)
        ticket_total, tickets = outage_views.linked_tickets(session, event_id)
        return {
            "event": outage_view(session, event, local_now(), history=True),
            "customers": outage_views.affected_customers(session, event, customers_page),
            "ticket_total": ticket_total,
            "tickets": tickets,
            "reported": outage_views.report_counts(session, [event_id])[event_id],
        }

    return load


@router.get("/console/outages/{event_id}", response_class=HTMLResponse)
async def outage_page(
    request: Request, event_id: DbId, customers_page: Annotated[int, Query(alias="page", ge=1, le=MAX_DB_ID)] = 1
) -> Response:
    """One event: its history, the customers it affects (50 a page), its linked tickets; supervisors' forms."""
    who = await principal(request)
    if who is None:
        return to_login(request)
    return await loaded_page(request, who, "outage.html", _detail(event_id, customers_page))


async def _supervisor_change(request: Request, event_id: int, change: Change) -> Response:
    """Back to the event's page, or the page again with the error (a closed event: the Conflict)."""

    async def again(who: Principal, error: PowerDeskError) -> Response:
        return await loaded_page(request, who, "outage.html", _detail(event_id, 1), error)

    return await form_action(
        request,
        "the outage page",
        change,
        f"/console/outages/{event_id}",
        again,
        supervisors_only="update or close an outage event",
    )


@router.post("/console/outages/{event_id}/update")
async def update_event(request: Request, event_id: DbId) -> Response:
    """A new start (a planned outage moved; its customers already told are told again), estimated restoration (a
    fault's end) and/or reason."""

    def change(session: Session, who: Principal, form: FormData) -> None:
        fields = form_fields(OutageUpdateForm, form)
        update_outage(
            session=session,
            event_id=event_id,
            by=who.username,
            start=fields.start,
            end=fields.end,
            reason=fields.reason,
        )

    return await _supervisor_change(request, event_id, change)


@router.post("/console/outages/{event_id}/close")
async def close_event(request: Request, event_id: DbId) -> Response:
    """Power is back (a fault), or the planned work is over or called off."""

    def change(session: Session, who: Principal, _: FormData) -> None:
        close_outage(session=session, event_id=event_id, by=who.username)

    return await _supervisor_change(request, event_id, change)
