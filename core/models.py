"""SQLAlchemy 2 models: customers and their meters and readings, and the conversation log.

Interval readings are stored one row per meter and day, with the day's 96 (15-minute) or 24
(hourly) energies packed as little-endian float32 (see `core.readings`): 13 months of 15-minute
data for thousands of customers stays a few hundred thousand rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_no: Mapped[str] = mapped_column(String(10), unique=True, index=True)  # 户号
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)  # 身份证号 / 统一社会信用代码
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    address: Mapped[str] = mapped_column(String(200))
    area: Mapped[str] = mapped_column(String(50), index=True)
    # where it hangs on the grid (0013_outages), so an outage of a feeder or a 台区 finds its customers
    feeder: Mapped[str | None] = mapped_column(String(40), index=True)  # 10 kV 馈线
    transformer_area: Mapped[str | None] = mapped_column(String(60), index=True)  # 台区
    customer_category: Mapped[str] = mapped_column(String(30))  # residential / shared / commercial / industrial
    tariff_category: Mapped[str] = mapped_column(String(40))  # billing-io.md category
    capacity_kva: Mapped[float | None] = mapped_column(Float)
    contract_demand_kw: Mapped[float | None] = mapped_column(Float)
    pf_standard: Mapped[float | None] = mapped_column(Float)
    opened_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)

    meters: Mapped[list[Meter]] = relationship(back_populates="customer")


class Meter(Base):
    __tablename__ = "meters"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    meter_no: Mapped[str] = mapped_column(String(24), unique=True)
    multiplier: Mapped[float] = mapped_column(Float, default=1.0)  # 倍率
    resolution: Mapped[str] = mapped_column(String(10))  # "15min", "hourly" or "daily"
    installed_on: Mapped[dt.date] = mapped_column(Date)
    removed_on: Mapped[dt.date | None] = mapped_column(Date)

    customer: Mapped[Customer] = relationship(back_populates="meters")


class DailyReading(Base):
    """A register reading at the end of a day and the day's energy (kWh, after the multiplier)."""

    __tablename__ = "daily_readings"
    __table_args__ = (UniqueConstraint("meter_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    register: Mapped[float] = mapped_column(Float)
    kwh: Mapped[float] = mapped_column(Float)


class IntervalReading(Base):
    """One meter-day of interval energy: `values` packs 96 or 24 float32 kWh (see core.readings)."""

    __tablename__ = "interval_readings"
    __table_args__ = (UniqueConstraint("meter_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    slots: Mapped[int] = mapped_column(Integer)  # 96 or 24
    values: Mapped[bytes] = mapped_column(LargeBinary)
    kwh: Mapped[float] = mapped_column(Float)  # the day's total, for fast monthly queries
    reactive_kvarh: Mapped[float | None] = mapped_column(Float)
    max_demand_kw: Mapped[float | None] = mapped_column(Float)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_channel_user", "channel", "external_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))  # widget / wechat / api
    external_user_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(20), default="bot", index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    rating_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # console: asked on close

    messages: Mapped[list[Message]] = relationship(back_populates="conversation", order_by="Message.id")


class Message(Base):
    __tablename__ = "messages"
    # the replayer's pass: messages waiting for the bot (pending, or stored by an api process that died)
    __table_args__ = (Index("ix_messages_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    sender: Mapped[str] = mapped_column(String(10))  # customer / bot / agent / system
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    intent: Mapped[str | None] = mapped_column(String(50))
    confidence: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12), default="stored")  # stored/processed/delivered/failed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, index=True)
    # when the replayer last claimed it (pending/stored → replaying): a claim older than the grace period was its
    # api process's last (services.conversation_log)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class ChannelBinding(Base):
    """A channel user (widget visitor, WeChat openid) verified as the holder of an account."""

    __tablename__ = "channel_bindings"
    __table_args__ = (UniqueConstraint("channel", "external_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_user_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class BindAttempt(Base):
    """One check of an account number plus phone digits (services.binding_guard counts the failures per
    account, per channel user and per client address: a new visitor id does not start again)."""

    __tablename__ = "bind_attempts"
    __table_args__ = (
        Index("ix_bind_attempts_account", "account_no", "at"),
        Index("ix_bind_attempts_source", "source", "at"),
        Index("ix_bind_attempts_client", "client", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_no: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(160))  # channel:user
    client: Mapped[str | None] = mapped_column(String(64))  # the address the message came from, when known
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # outage / callback / correction / complaint / other
    # 受理 accepted → 派单 dispatched → 到场 on_site → 修复 repaired → 回访 visited, or 取消 cancelled (0013_outages,
    # which turned the former "open" into accepted; services.ticket_lifecycle moves it and records each step)
    status: Mapped[str] = mapped_column(String(20), default="accepted", index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # what was promised to the customer, in local time (0010): contact them by, give the outcome by
    contact_by: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reply_by: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # the outage event this report belongs to (0013_outages)
    outage_id: Mapped[int | None] = mapped_column(
        ForeignKey("outage_events.id", name="fk_tickets_outage_id", ondelete="SET NULL"), index=True
    )


class TicketEvent(Base):
    """One step of a ticket's lifecycle: from which state to which, when (UTC), by whom, with a note."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))  # none: the ticket was created
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    by: Mapped[str] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)


class Handoff(Base):
    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(
        String(30)
    )  # asked / misunderstanding / sentiment / low_confidence / complaint / bot_unavailable
    priority: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str] = mapped_column(Text, default="")
    transcript: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="waiting", index=True)  # waiting/claimed/closed
    agent: Mapped[str | None] = mapped_column(String(50))
    resolution: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # console (0006_console): the callback ticket when nobody could answer, and the agent's closing note
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", name="fk_handoffs_ticket_id"))
    note: Mapped[str | None] = mapped_column(Text)


class Rating(Base):
    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    human_involved: Mapped[bool] = mapped_column(Boolean, default=False)
    agent: Mapped[str | None] = mapped_column(String(50))  # console (0006_console): who answered, if anyone
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


# the other modules' tables register themselves on Base.metadata
from core import (  # noqa: E402,F401
    models_anomaly,
    models_billing,
    models_console,
    models_outages,
    models_recommend,
    models_reports,
    models_wechat,
)
