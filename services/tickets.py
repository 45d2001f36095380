"""Tickets: outage reports, callbacks, bill corrections, complaints — each with the times promised, if any."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.orm import Session

from analytics.service_hours import working_days_after
from core.models import Ticket

PREFIXES = {"outage": "GZ", "callback": "HF", "correction": "JZ", "complaint": "TS", "other": "QT"}
# 国家电网公司供电服务“十项承诺”: a complaint is followed up by contacting the customer within 24 hours and
# answered within 5 working days of its acceptance
COMPLAINT_CONTACT_WITHIN = dt.timedelta(hours=24)
COMPLAINT_REPLY_WORKING_DAYS = 5
MAX_DESCRIPTION_CHARS = 500


def complaint_commitments(accepted_local: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """When the customer must be contacted by, and answered by (the end of the 5th working day after
    acceptance), both local time."""
    reply_day = working_days_after(accepted_local.date(), COMPLAINT_REPLY_WORKING_DAYS)
    return accepted_local + COMPLAINT_CONTACT_WITHIN, dt.datetime.combine(reply_day, dt.time(23, 59))


def create_ticket(
    session: Session,
    kind: str,
    *,
    description: str,
    customer_id: int | None = None,
    conversation_id: int | None = None,
    address: str | None = None,
    phone: str | None = None,
    now: dt.datetime | None = None,
    contact_by: dt.datetime | None = None,
    reply_by: dt.datetime | None = None,
) -> Ticket:
    """Store a ticket and give it a readable number, e.g. GZ20261123000042; `contact_by` and `reply_by` are
    the local times promised to the customer."""
    if kind not in PREFIXES:
        raise ValueError(f"unknown ticket kind {kind!r}; use one of {sorted(PREFIXES)}")
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ticket = Ticket(
        ticket_no=uuid.uuid4().hex[:20],
        kind=kind,
        customer_id=customer_id,
        conversation_id=conversation_id,
        address=address,
        phone=phone,
        description=description,
        created_at=now,
        contact_by=contact_by,
        reply_by=reply_by,
    )
    session.add(ticket)
    session.flush()
    ticket.ticket_no = f"{PREFIXES[kind]}{now:%Y%m%d}{ticket.id:06d}"
    return ticket


def create_complaint(
    session: Session,
    *,
    description: str,
    accepted_local: dt.datetime,
    customer_id: int | None = None,
    conversation_id: int | None = None,
) -> Ticket:
    """A complaint ticket carrying the service commitment's contact and reply times."""
    contact_by, reply_by = complaint_commitments(accepted_local)
    return create_ticket(
        session,
        "complaint",
        description=description,
        customer_id=customer_id,
        conversation_id=conversation_id,
        contact_by=contact_by,
        reply_by=reply_by,
    )


def promised_text(ticket: Ticket) -> dict[str, str]:
    """The ticket's promised times as a customer reads them: {"contact_by": "12月8日19:30", "reply_by": "12月14日"}."""
    out = {}
    if ticket.contact_by is not None:
        out["contact_by"] = f"{ticket.contact_by.month}月{ticket.contact_by.day}日{ticket.contact_by:%H:%M}"
    if ticket.reply_by is not None:
        out["reply_by"] = f"{ticket.reply_by.month}月{ticket.reply_by.day}日"
    return out


def promised_iso(ticket: Ticket) -> dict[str, str]:
    """The same times for machines (local time, ISO 8601 to the minute)."""
    times = {"contact_by": ticket.contact_by, "reply_by": ticket.reply_by}
    return {k: v.isoformat(timespec="minutes") for k, v in times.items() if v is not None}
