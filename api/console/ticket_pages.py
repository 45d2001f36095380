"""A ticket in the console: its lifecycle so far (each step timed, by whom, with a note), the form that moves it to
its next state (受理 → 派单 → 到场 → 修复 → 回访, or 取消) and the one that links it to an outage event affecting
its customer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.console.auth import principal
from api.console.page_kit import Change, ConsoleForm, form_action, form_fields, loaded_page, to_login
from api.schemas import MAX_DB_ID, TicketNo
from core.clock import local_now
from core.errors import PowerDeskError
from core.models import Customer
from core.models_outages import OutageEvent
from services import outage_views
from services.agents import Principal
from services.ticket_lifecycle import get_ticket, link_outage, move, ticket_view

router = APIRouter(include_in_schema=False)
MAX_NOTE_CHARS = 500


class TicketMoveForm(ConsoleForm):
    to: str = Field(min_length=1, max_length=20)
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)


class TicketOutageForm(ConsoleForm):
    outage_id: int = Field(ge=1, le=MAX_DB_ID)


def _ticket(ticket_no: str) -> Callable[[Session], dict[str, Any]]:
    def load(session: Session) -> dict[str, Any]:
        ticket = get_ticket(session, ticket_no)
        now = local_now()
        customer = session.get(Customer, ticket.customer_id) if ticket.customer_id is not None else None
        linked = session.get(OutageEvent, ticket.outage_id) if ticket.outage_id is not None else None
        return {
            "ticket": ticket_view(session, ticket),
            "customer": customer,
            "linked": outage_views.outage_lines(session, [linked], now)[0] if linked is not None else None,
            "candidates": outage_views.customer_outages(session, customer.id, now) if customer is not None else [],
        }

    return load


@router.get("/console/tickets/{ticket_no}", response_class=HTMLResponse)
async def ticket_page(request: Request, ticket_no: TicketNo) -> Response:
    who = await principal(request)
    if who is None:
        return to_login(request)
    return await loaded_page(request, who, "ticket.html", _ticket(ticket_no))


async def _ticket_change(request: Request, ticket_no: str, change: Change) -> Response:
    """Back to the ticket's page, or the page again with the error (a step the lifecycle does not allow: the
    Conflict)."""

    async def again(who: Principal, error: PowerDeskError) -> Response:
        return await loaded_page(request, who, "ticket.html", _ticket(ticket_no), error)

    return await form_action(request, "the ticket page", change, f"/console/tickets/{ticket_no.upper()}", again)


@router.post("/console/tickets/{ticket_no}/move")
async def move_ticket(request: Request, ticket_no: TicketNo) -> Response:
    """The ticket's next state, with a note; recorded with the time and the agent."""

    def change(session: Session, who: Principal, form: FormData) -> None:
        fields = form_fields(TicketMoveForm, form)
        move(session, ticket_no=ticket_no, to=fields.to, by=who.username, note=fields.note)

    return await _ticket_change(request, ticket_no, change)


@router.post("/console/tickets/{ticket_no}/outage")
async def link_ticket_outage(request: Request, ticket_no: TicketNo) -> Response:
    """Link the ticket to the outage event it reports."""

    def change(session: Session, who: Principal, form: FormData) -> None:
        link_outage(session, ticket_no=ticket_no, outage_id=form_fields(TicketOutageForm, form).outage_id)

    return await _ticket_change(request, ticket_no, change)
