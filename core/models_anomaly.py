"""Tables of the consumption-anomaly work: scores with their incremental state, references, alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, _now


class AnomalyScore(Base):
    """A customer's latest risk score and the daily window it was computed from (for incremental updates).

    `window` packs `days` little-endian float32 daily kWh from `window_start` (NaN = no reading).
    """

    __tablename__ = "anomaly_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), unique=True)
    score: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(24))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    window_start: Mapped[dt.date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)
    window: Mapped[bytes] = mapped_column(LargeBinary)
    negatives: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(10), default="batch")  # batch / ingest
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)


class AnomalyReference(Base):
    """The population a score is relative to: peers' daily levels and the features' medians and spreads."""

    __tablename__ = "anomaly_references"

    id: Mapped[int] = mapped_column(primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, index=True)


class AnomalyAlert(Base):
    """A customer or regional alert. `dedup_key` makes a repeated detection update the same alert."""

    __tablename__ = "anomaly_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    scope: Mapped[str] = mapped_column(String(10), index=True)  # customer / area
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    area: Mapped[str | None] = mapped_column(String(50), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    score: Mapped[float] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text, default="")
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open / acknowledged
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    acknowledged_by: Mapped[str | None] = mapped_column(String(50))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class InspectionFinding(Base):
    """What an inspector found at a customer (theft / fault / normal): the supervised model's labels.

    The latest finding per customer is its label (`services/inspections.py`): theft = 1, fault and
    normal = 0 (a faulty meter is not theft). `alert_id` links the finding to the alert it settles.
    """

    __tablename__ = "inspection_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    finding: Mapped[str] = mapped_column(String(10))  # theft / fault / normal
    inspector: Mapped[str] = mapped_column(String(50))
    note: Mapped[str] = mapped_column(Text, default="")
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("anomaly_alerts.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, index=True)
