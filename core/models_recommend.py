"""Segments (runs, segments, each customer's segment), campaigns with their members, and customer notices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, _now


class SegmentRun(Base):
    __tablename__ = "segment_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    customers: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class Segment(Base):
    """A named segment of one run, with its centre and typical profiles."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("run_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("segment_runs.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(60))
    group: Mapped[str] = mapped_column(String(30))
    size: Mapped[int] = mapped_column(Integer)
    centroid: Mapped[dict[str, Any]] = mapped_column(JSON)
    z: Mapped[dict[str, Any]] = mapped_column(JSON)
    typical_day: Mapped[list[Any] | None] = mapped_column(JSON)
    typical_year: Mapped[list[Any]] = mapped_column(JSON, default=list)
    chart: Mapped[str | None] = mapped_column(String(300))


class CustomerSegment(Base):
    __tablename__ = "customer_segments"
    __table_args__ = (UniqueConstraint("run_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("segment_runs.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), index=True)
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Campaign(Base):
    """A pre-peak campaign: the high-risk day and its window, who was selected, and the measured effect."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    risk_level: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[str] = mapped_column(String(5))  # "19:00"
    window_end: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(12), default="created")  # created / sent / evaluated
    seed: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    evaluated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class CampaignMember(Base):
    __tablename__ = "campaign_members"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id"),
        Index("ix_campaign_members_group", "campaign_id", "arm"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    arm: Mapped[str] = mapped_column(String(10))  # treatment / control
    score: Mapped[float] = mapped_column(Float)  # peak-window kWh a day that could move (selection)
    baseline_kwh: Mapped[float] = mapped_column(Float)  # mean window kWh on the baseline days
    expected_saving: Mapped[float | None] = mapped_column(Float)  # yuan a year if the shift became a habit
    channel: Mapped[str | None] = mapped_column(String(20))
    delivery: Mapped[str | None] = mapped_column(String(20))  # sent / failed / no_channel
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class CustomerNotice(Base):
    """A message for a customer on a channel (widget notices now; other channels record theirs here too)."""

    __tablename__ = "customer_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
