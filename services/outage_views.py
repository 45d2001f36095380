"""What the console shows about outage events: the list with the customers affected and the tickets linked (counted
in SQL for all the events at once), one event's affected customers a page at a time, its linked tickets, and the
events one customer should be told about.

Read-only; the changes go through services.outages and services.ticket_lifecycle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.clock import local_iso
from core.models import Customer, Ticket
from core.models_outages import OutageContact, OutageCustomer, OutageEvent
from services.outage_scope import SCOPE_COLUMNS
from services.outages import effective_status, list_outages, outages_for_customer
from services.ticket_lifecycle import ALIASES

PAGE_SIZE = 50
MAX_LINKED_TICKETS = 200


@dataclass(frozen=True)
class OutageLine:
    """One event as a row of the console: status as of now, times local ISO 8601, counts."""

    id: int
    kind: str  # planned / fault
    status: str  # announced / active / ended / closed
    start: str
    end: str  # a fault's estimated restoration
    reason: str
    scope: str
    scope_value: str | None
    affected: int
    tickets: int
    reported: int  # customers who wrote in about it and were told (outage_contacts), no ticket filed
    closed_at: str | None
    overdue: bool  # a fault still open past its estimated restoration: check with dispatch before promising a time


@dataclass(frozen=True)
class AffectedCustomer:
    account_no: str
    name: str
    address: str
    area: str
    feeder: str | None
    transformer_area: str | None


@dataclass(frozen=True)
class CustomerPage:
    total: int
    page: int  # 1-based, within 1 … pages
    pages: int
    size: int
    rows: list[AffectedCustomer]


@dataclass(frozen=True)
class LinkedTicket:
    ticket_no: str
    kind: str
    status: str
    description: str
    created_at: str  # local ISO 8601
    account_no: str | None


def affected_counts(session: Session, events: Sequence[OutageEvent]) -> dict[int, int]:
    """How many customers each event affects: one grouped count per scope column, whatever the number of events."""
    counts = {e.id: e.accounts for e in events if e.scope == "accounts"}
    for scope, column in SCOPE_COLUMNS.items():
        values = {e.scope_value for e in events if e.scope == scope and e.scope_value}
        if not values:
            continue
        rows = session.execute(
            select(column, func.count()).select_from(Customer).where(column.in_(values)).group_by(column)
        )
        per_value = {value: int(n) for value, n in rows}
        counts.update({e.id: per_value.get(e.scope_value, 0) for e in events if e.scope == scope})
    return counts


def _per_event(session: Session, column: Any, event_ids: Sequence[int]) -> dict[int, int]:
    """How many rows name each event in `column` (an event id column), in one grouped query."""
    if not event_ids:
        return {}
    rows = session.execute(select(column, func.count()).where(column.in_(event_ids)).group_by(column))
    found = {int(event_id): int(n) for event_id, n in rows}
    return {i: found.get(i, 0) for i in event_ids}


def ticket_counts(session: Session, event_ids: Sequence[int]) -> dict[int, int]:
    """How many tickets are linked to each event (tickets.outage_id)."""
    return _per_event(session, Ticket.outage_id, event_ids)


def report_counts(session: Session, event_ids: Sequence[int]) -> dict[int, int]:
    """How many customers wrote in about each event and were linked to it instead of filing a ticket."""
    return _per_event(session, OutageContact.event_id, event_ids)


def outage_lines(session: Session, events: Sequence[OutageEvent], now: dt.datetime) -> list[OutageLine]:
    """The events as rows with their counts (three or four queries in all); `now` is local time."""
    affected = affected_counts(session, events)
    tickets = ticket_counts(session, [e.id for e in events])
    reported = report_counts(session, [e.id for e in events])
    return [
        OutageLine(
            id=e.id,
            kind=e.kind,
            status=effective_status(e, now),
            start=local_iso(e.start) or "",
            end=local_iso(e.end) or "",
            reason=e.reason,
            scope=e.scope,
            scope_value=e.scope_value,
            affected=affected.get(e.id, 0),
            tickets=tickets.get(e.id, 0),
            reported=reported.get(e.id, 0),
            closed_at=local_iso(e.closed_at, utc=True),
            overdue=e.kind == "fault" and e.closed_at is None and now >= e.end,
        )
        for e in events
    ]


def current_outages(session: Session, now: dt.datetime) -> tuple[list[OutageLine], list[OutageLine]]:
    """The active events and the coming ones, each earliest first."""
    active = list_outages(session=session, which="active", now=now)
    coming = list_outages(session=session, which="coming", now=now)
    lines = outage_lines(session, [*active, *coming], now)
    return lines[: len(active)], lines[len(active) :]


def _affected_query(event: OutageEvent) -> Select[tuple[Customer]]:
    if event.scope == "accounts":
        listed = select(OutageCustomer.customer_id).where(OutageCustomer.event_id == event.id)
        return select(Customer).where(Customer.id.in_(listed))
    return select(Customer).where(SCOPE_COLUMNS[event.scope] == event.scope_value)


def affected_customers(session: Session, event: OutageEvent, page: int, size: int = PAGE_SIZE) -> CustomerPage:
    """One page of the customers an event affects, by account number; the total counted in SQL. A page past the
    last shows the last."""
    query = _affected_query(event)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    customers = session.scalars(query.order_by(Customer.account_no).offset((page - 1) * size).limit(size))
    rows = [AffectedCustomer(c.account_no, c.name, c.address, c.area, c.feeder, c.transformer_area) for c in customers]
    return CustomerPage(total, page, pages, size, rows)


def linked_tickets(session: Session, event_id: int, limit: int = MAX_LINKED_TICKETS) -> tuple[int, list[LinkedTicket]]:
    """How many tickets are linked to the event, and the newest `limit` of them."""
    total = int(session.scalar(select(func.count()).select_from(Ticket).where(Ticket.outage_id == event_id)) or 0)
    rows = session.execute(
        select(Ticket, Customer.account_no)
        .outerjoin(Customer, Customer.id == Ticket.customer_id)
        .where(Ticket.outage_id == event_id)
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    tickets = [
        LinkedTicket(
            t.ticket_no,
            t.kind,
            ALIASES.get(t.status, t.status),
            t.description[:120],
            local_iso(t.created_at, utc=True) or "",
            account_no,
        )
        for t, account_no in rows
    ]
    return total, tickets


def customer_outages(session: Session, customer_id: int, now: dt.datetime, days: int = 7) -> list[OutageLine]:
    """The events to tell this customer about: planned outages from now to `days` ahead (one in progress
    included) and any active fault affecting them."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return []
    return outage_lines(session, outages_for_customer(session, customer, now, days), now)
