"""A ticket's lifecycle: 受理 accepted → 派单 dispatched → 到场 on_site → 修复 repaired → 回访 visited, or 取消
cancelled; each step validated (forward only; visited and cancelled are final) and recorded with its time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import local_iso, utc_now
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Ticket, TicketEvent
from core.models_outages import OutageEvent

STEPS = ("accepted", "dispatched", "on_site", "repaired", "visited")
CANCELLED = "cancelled"
STATES = (*STEPS, CANCELLED)
FINAL = frozenset({"visited", CANCELLED})
OPEN_STATES = tuple(s for s in STATES if s not in FINAL)  # what "open" meant before the lifecycle
ALIASES = {"open": "accepted", "closed": "visited"}  # the codes tickets had before 0013_outages


def is_open() -> Any:
    """The SQL condition for a ticket still being worked on (not visited, not cancelled)."""
    return Ticket.status.in_(OPEN_STATES)


def allowed_next(state: str) -> tuple[str, ...]:
    """The states a ticket in `state` may move to: any later step (a callback has no site visit), or cancelled."""
    state = ALIASES.get(state, state)
    if state in FINAL or state not in STEPS:
        return ()
    return (*STEPS[STEPS.index(state) + 1 :], CANCELLED)


def parse_state(value: str, names: dict[str, str] | None = None) -> str:
    """A state code from a code (`dispatched`), a former code (`open`) or its Chinese name (`派单`, via `names`:
    code → name, data/labels.yml's ticket_status)."""
    text = value.strip()
    by_name = {v: k for k, v in (names or {}).items() if k in STATES}
    state = by_name.get(text) or ALIASES.get(text, text)
    if state not in STATES:
        raise InvalidInput(f"unknown ticket state {value[:30]!r}; use one of {', '.join(STATES)}")
    return state


@dataclass(frozen=True)
class TicketStep:
    from_status: str | None
    to_status: str
    at: str  # local ISO 8601
    by: str
    note: str | None


@dataclass(frozen=True)
class TicketView:
    ticket_no: str
    kind: str
    status: str
    description: str
    created_at: str  # local ISO 8601
    closed_at: str | None
    contact_by: str | None
    reply_by: str | None
    outage_id: int | None
    next: list[str]
    history: list[TicketStep]

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["history"] = [step.__dict__ for step in self.history]
        return out


def record_created(session: Session, ticket: Ticket, by: str = "system") -> None:
    """The first step of a new ticket (accepted, when it was created)."""
    session.add(
        TicketEvent(ticket_id=ticket.id, from_status=None, to_status=ticket.status, at=ticket.created_at, by=by)
    )


def get_ticket(session: Session, ticket_no: str, *, lock: bool = False) -> Ticket:
    query = select(Ticket).where(Ticket.ticket_no == ticket_no.strip().upper())
    ticket = session.scalar(query.with_for_update() if lock else query)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_no[:30]!r}; ticket numbers look like GZ20261207000042")
    return ticket


def move(
    session: Session,
    *,
    ticket_no: str,
    to: str,
    by: str,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Move a ticket to state `to`, recording the step; Conflict when the lifecycle does not allow it."""
    target = parse_state(to)
    ticket = get_ticket(session, ticket_no, lock=True)
    current = ALIASES.get(ticket.status, ticket.status)
    if target not in allowed_next(current):
        if current in FINAL:
            raise Conflict(f"ticket {ticket.ticket_no} is {current}, which is final; open a new ticket instead")
        raise Conflict(
            f"ticket {ticket.ticket_no} is {current} and cannot go to {target}; next: {', '.join(allowed_next(current))}"
        )
    at = now or utc_now()
    session.add(TicketEvent(ticket_id=ticket.id, from_status=current, to_status=target, at=at, by=by, note=note))
    ticket.status = target
    if target in FINAL:
        ticket.closed_at = at
    session.flush()
    return ticket


def link_outage(session: Session, *, ticket_no: str, outage_id: int) -> Ticket:
    """Attach a ticket to the outage event it reports (NotFound for an unknown event)."""
    if session.get(OutageEvent, outage_id) is None:
        raise NotFound(f"no outage event {outage_id}; list them with `powerdesk outage list`")
    ticket = get_ticket(session, ticket_no)
    ticket.outage_id = outage_id
    return ticket


def ticket_view(session: Session, ticket: Ticket) -> TicketView:
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))
    status = ALIASES.get(ticket.status, ticket.status)
    return TicketView(
        ticket_no=ticket.ticket_no,
        kind=ticket.kind,
        status=status,
        description=ticket.description,
        created_at=local_iso(ticket.created_at, utc=True) or "",
        closed_at=local_iso(ticket.closed_at, utc=True),
        contact_by=local_iso(ticket.contact_by),
        reply_by=local_iso(ticket.reply_by),
        outage_id=ticket.outage_id,
        next=list(allowed_next(status)),
        history=[TicketStep(e.from_status, e.to_status, local_iso(e.at, utc=True) or "", e.by, e.note) for e in events],
    )
