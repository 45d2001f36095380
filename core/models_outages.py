"""Outage events (issue 18): planned outages (计划停电) and faults (故障停电), whom they affect, and every change.

`start` and `end` are local wall-clock times (Asia/Shanghai, naive), as the dispatch system gives them and as
customers are told them (for a fault, `end` is the estimated restoration); `created_at`, `updated_at`,
`closed_at` and the history's `at` are UTC, like every other record time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, _now


class OutageEvent(Base):
    __tablename__ = "outage_events"
    __table_args__ = (Index("ix_outage_events_scope", "scope", "scope_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # planned / fault
    status: Mapped[str] = mapped_column(String(10), index=True)  # announced / active / closed (as stored)
    start: Mapped[dt.datetime] = mapped_column(DateTime, index=True)  # local
    end: Mapped[dt.datetime] = mapped_column(DateTime)  # local; a fault's estimated restoration
    reason: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(20))  # area / feeder / transformer_area / accounts
    scope_value: Mapped[str | None] = mapped_column(String(60))  # the area, feeder or 台区; none for accounts
    accounts: Mapped[int] = mapped_column(Integer, default=0)  # customers linked (scope "accounts")
    source: Mapped[str] = mapped_column(String(20), default="api")  # api / cli / demo
    version: Mapped[int] = mapped_column(Integer, default=1)  # +1 on every change; updates lock the row with it
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class OutageCustomer(Base):
    """A customer named in an event's explicit list of account numbers."""

    __tablename__ = "outage_customers"

    event_id: Mapped[int] = mapped_column(ForeignKey("outage_events.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class OutageUpdate(Base):
    """One change of an event (created, each PATCH, closed): what changed, from what to what."""

    __tablename__ = "outage_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outage_events.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)  # the event's version after this change
    action: Mapped[str] = mapped_column(String(10))  # created / updated / closed
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field: [before, after] (ISO for times)
    by: Mapped[str] = mapped_column(String(50))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class OutageContact(Base):
    """A customer who wrote to us about an event ("停电了" during a known fault): linked to it instead of opening a
    repair ticket, counted per event, and told when power is back. One row per event and channel user; a second
    report only counts."""

    __tablename__ = "outage_contacts"
    __table_args__ = (UniqueConstraint("event_id", "channel", "user_id", name="uq_outage_contacts_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outage_events.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    matched_by: Mapped[str] = mapped_column(String(10))  # account (a bound customer) / address (the one typed)
    reports: Mapped[int] = mapped_column(Integer, default=1)
    first_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class OutageNotice(Base):
    """One bound customer told about one event, once per kind: `announced` (a planned outage), `changed` (its times
    changed after the customer was told; once per change: `revision` is the event's version), `called_off` (it
    was called off after the customer was told) or `restored` (a fault closed). The outbox the delivery worker
    sends from (services.outage_notices); the unique key makes queuing idempotent."""

    __tablename__ = "outage_notices"
    __table_args__ = (
        UniqueConstraint("outage_id", "customer_id", "kind", "revision", name="uq_outage_notices_once"),
        Index("ix_outage_notices_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outage_id: Mapped[int] = mapped_column(ForeignKey("outage_events.id", ondelete="CASCADE"))
    # none: a user not bound who reported a fault by the address they typed (an `outage_contacts` row); the
    # recipient is then their WeChat openid or widget visitor id
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # announced / changed / called_off / restored
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # the event's version (changed)
    channel: Mapped[str] = mapped_column(String(10))  # wechat / widget
    # how it went out: message (WeChat customer-service message), template (WeChat template message, when the
    # customer has been silent for 48 hours), widget; none until sent
    via: Mapped[str | None] = mapped_column(String(10))
    recipient: Mapped[str | None] = mapped_column(String(128))  # the WeChat openid; the visitor without a customer
    # pending → sending (claimed by a worker) → sent / failed; cancelled: the planned outage was called off first
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # WeChat API calls, retries included
    text: Mapped[str | None] = mapped_column(Text)  # what was sent
    last_error: Mapped[str | None] = mapped_column(Text)
    claim: Mapped[str | None] = mapped_column(String(32))  # the claiming worker's token
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)  # not sent before (a retry waits)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
