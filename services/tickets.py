"""Tickets: outage reports, callbacks, bill corrections, complaints — each with the times promised, if any."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from analytics.service_hours import working_days_after
from core.models import Ticket
from services.ticket_lifecycle import record_created

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
        status="accepted",
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
    record_created(session, ticket)
    return ticket


@dataclass(frozen=True)
class FiledComplaint:
    """A complaint ticket as its reply needs it: the number, the promised times as the customer reads them, and
    the payload (custom.ticket) with the same times for machines."""

    ticket_no: str
    said: dict[str, str]  # {"contact_by": "12月8日19:30", "reply_by": "12月14日"}
    payload: dict[str, Any]  # {"ticket": {"ticket_no", "kind", "contact_by", "reply_by"}} (local, ISO 8601)


def file_complaint(
    session: Session,
    *,
    text: str,
    accepted_local: dt.datetime,
    customer_id: int | None = None,
    conversation_id: int | None = None,
) -> FiledComplaint:
    """A complaint ticket carrying the service commitment's contact and reply times (the bot's "我要投诉" and the
    api's angry complaint both file it here)."""
    contact_by, reply_by = complaint_commitments(accepted_local)
    ticket = create_ticket(
        session,
        "complaint",
        description=text[:MAX_DESCRIPTION_CHARS],
        customer_id=customer_id,
        conversation_id=conversation_id,
        contact_by=contact_by,
        reply_by=reply_by,
    )
    said = {
        "contact_by": f"{contact_by.month}月{contact_by.day}日{contact_by:%H:%M}",
        "reply_by": f"{reply_by.month}月{reply_by.day}日",
    }
    times = {"contact_by": contact_by.isoformat(timespec="minutes"), "reply_by": reply_by.isoformat(timespec="minutes")}
    return FiledComplaint(
        ticket.ticket_no, said, {"ticket": {"ticket_no": ticket.ticket_no, "kind": "complaint", **times}}
    )
