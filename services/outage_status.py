"""What the conversation needs of outages and tickets: the events affecting a customer or an address typed in the
repair form, linking a customer who reports a known outage to it (instead of a new repair ticket), and the
tickets a channel user may ask about."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utc_now
from core.models import Conversation, Customer, Ticket
from core.models_outages import OutageContact, OutageEvent
from services.outage_scope import covers
from services.outages import list_outages, outages_for_customer
from services.ticket_lifecycle import is_open

# a place as typed in a repair report: the last characters of a road's name, its suffix and the house number
# ("西湖区文三路88号3幢" → "文三路88号"), looked for in customers' addresses
_PLACE = re.compile(r"([\u4e00-\u9fff]{0,2}(?:大道|街道|路|街|巷|弄|镇|村))(\d{1,5})号")
MAX_EVENTS_CHECKED = 50  # active events an address is compared with (a storm has one or a few)
MAX_TICKETS_SHOWN = 3


@dataclass(frozen=True)
class CustomerOutages:
    """The events affecting one customer now: active faults, a planned outage in progress, and planned ones coming
    within the horizon."""

    faults: list[OutageEvent]
    planned_now: list[OutageEvent]
    planned_coming: list[OutageEvent]

    @property
    def without_power(self) -> list[OutageEvent]:
        """What explains "停电了" now: the active faults first, then a planned outage in progress."""
        return [*self.faults, *self.planned_now]


def customer_outages(session: Session, customer: Customer, now: dt.datetime, days: int = 7) -> CustomerOutages:
    """`now` is local time (events are stored in local wall-clock time)."""
    events = outages_for_customer(session, customer, now, days=days)
    return CustomerOutages(
        faults=[e for e in events if e.kind == "fault"],
        planned_now=[e for e in events if e.kind == "planned" and e.start <= now],
        planned_coming=[e for e in events if e.kind == "planned" and e.start > now],
    )


def place_key(address: str) -> str | None:
    """The road and house number of an address ("文三路88号"), or None when it names no numbered place."""
    match = _PLACE.search(address.replace(" ", ""))
    return f"{match.group(1)}{match.group(2)}号" if match else None


def outage_at_address(session: Session, address: str, now: dt.datetime) -> OutageEvent | None:
    """An event without power now (an active fault first, then a planned outage in progress) affecting a customer
    at the typed address's road and house number; None when the address names no numbered place or none is."""
    key = place_key(address)
    if key is None:
        return None
    active = list_outages(session=session, which="active", now=now)
    if not active:
        return None  # the common case costs one indexed query
    active = sorted(active, key=lambda e: e.kind != "fault")[:MAX_EVENTS_CHECKED]  # faults first, stable by start
    for event in active:
        hit = session.scalar(
            select(Customer.id).where(Customer.address.contains(key, autoescape=True), covers(event)).limit(1)
        )
        if hit is not None:
            return event
    return None


def record_contact(
    session: Session,
    *,
    event_id: int,
    channel: str,
    user_id: str,
    customer_id: int | None,
    conversation_id: int | None,
    matched_by: str,
) -> bool:
    """Link a channel user who reported `event_id`'s outage to it; True the first time, False when they had already
    written about it (the report is counted). Safe when the same user's reports arrive together."""
    now = utc_now()
    bumped = session.execute(
        update(OutageContact)
        .where(OutageContact.event_id == event_id, OutageContact.channel == channel, OutageContact.user_id == user_id)
        .values(reports=OutageContact.reports + 1, last_at=now)
    )
    if bumped.rowcount:  # type: ignore[attr-defined]
        return False
    contact = OutageContact(
        event_id=event_id,
        channel=channel,
        user_id=user_id[:128],
        customer_id=customer_id,
        conversation_id=conversation_id,
        matched_by=matched_by,
        reports=1,
        first_at=now,
        last_at=now,
    )
    try:
        with session.begin_nested():
            session.add(contact)
    except IntegrityError:  # the same user's other message got there first
        return False
    return True


def _users_tickets(channel: str, user_id: str, customer_id: int | None) -> Any:
    mine = Ticket.conversation_id.in_(
        select(Conversation.id).where(Conversation.channel == channel, Conversation.external_user_id == user_id)
    )
    return or_(mine, Ticket.customer_id == customer_id) if customer_id is not None else mine


def user_tickets(
    session: Session, *, channel: str, user_id: str, customer_id: int | None, limit: int = MAX_TICKETS_SHOWN
) -> list[Ticket]:
    """The tickets this channel user filed or that belong to their bound customer: the ones still being worked on
    first, the newest first."""
    query = (
        select(Ticket)
        .where(_users_tickets(channel, user_id, customer_id))
        .order_by(case((is_open(), 0), else_=1), Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def user_ticket(
    session: Session, ticket_no: str, *, channel: str, user_id: str, customer_id: int | None
) -> Ticket | None:
    """The ticket numbered `ticket_no` when it is this user's or their customer's; None otherwise (a ticket number
    alone shows nobody else's ticket)."""
    query = select(Ticket).where(
        Ticket.ticket_no == ticket_no.strip().upper(),
        _users_tickets(channel, user_id, customer_id),
    )
    return session.scalar(query)
