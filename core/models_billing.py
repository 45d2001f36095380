"""Bills, audit runs and their findings, and the demo seed's own records: the faults it injected on purpose
and how far its synthetic history reaches."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, _now


class Bill(Base):
    """A monthly bill as issued: its inputs (registers, period energy, demand) and its priced lines."""

    __tablename__ = "bills"
    __table_args__ = (Index("ix_bills_customer_period", "customer_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    period_start: Mapped[dt.date] = mapped_column(Date, index=True)
    period_end: Mapped[dt.date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(40))
    schedule_id: Mapped[str] = mapped_column(String(60))
    start_register: Mapped[float | None] = mapped_column(Float)
    end_register: Mapped[float | None] = mapped_column(Float)
    multiplier: Mapped[float] = mapped_column(Float, default=1.0)
    energy: Mapped[dict[str, Any]] = mapped_column(JSON)  # period → kWh, as billed
    year_to_date_kwh: Mapped[float] = mapped_column(Float, default=0.0)
    reactive_kvarh: Mapped[float | None] = mapped_column(Float)
    max_demand_kw: Mapped[float | None] = mapped_column(Float)
    lines: Mapped[list[Any]] = mapped_column(JSON)
    total: Mapped[float] = mapped_column(Float)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class AuditRun(Base):
    __tablename__ = "audit_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # bill / record
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    checked: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditFinding(Base):
    """One problem found by a bill or customer-record audit (reason codes: tariffs.md §5, records audit)."""

    __tablename__ = "audit_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("audit_runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(40), index=True)
    field: Mapped[str | None] = mapped_column(String(40))
    stored: Mapped[float | None] = mapped_column(Float)
    recomputed: Mapped[float | None] = mapped_column(Float)
    difference: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="open")  # open / corrected / dismissed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class DemoFault(Base):
    """A fault the demo seed injected on purpose, so the audits can be checked against it."""

    __tablename__ = "demo_faults"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # bill / record
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")


class DemoState(Base):
    """What the demo seed generated (one row): its seed, size and the days its history covers.

    Only a database with this row is a demo database: `powerdesk run` extends its history to
    yesterday when it has fallen behind, and never touches a database without it."""

    __tablename__ = "demo_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    customers: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))  # demo.config.fingerprint of what generated it
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)  # the last day with readings
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)
