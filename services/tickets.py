"""Tickets: outage reports, callbacks, bill corrections."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.orm import Session

from core.models import Ticket

PREFIXES = {"outage": "GZ", "callback": "HF", "correction": "JZ", "other": "QT"}


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
) -> Ticket:
    """Store a ticket and give it a readable number, e.g. GZ20261123000042."""
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
    )
    session.add(ticket)
    session.flush()
    ticket.ticket_no = f"{PREFIXES[kind]}{now:%Y%m%d}{ticket.id:06d}"
    return ticket
