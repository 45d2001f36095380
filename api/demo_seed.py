"""Writing the demo customer base into the database (the I/O edge of analytics.demo)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from analytics.demo.config import DemoConfig
from analytics.demo.generate import CustomerReadings, build_demo, iter_readings
from core.db import transaction
from core.errors import InvalidInput
from core.models import (
    ChannelBinding,
    Conversation,
    Customer,
    DailyReading,
    Handoff,
    IntervalReading,
    Message,
    Meter,
    Rating,
    Ticket,
)


@dataclass(frozen=True)
class SeedSummary:
    customers: int
    daily_rows: int
    interval_rows: int
    seconds: float


def clear_all(session: Session) -> None:
    for table in (Rating, Handoff, Message, Ticket, ChannelBinding, Conversation,
                  IntervalReading, DailyReading, Meter, Customer):  # fmt: skip
        session.execute(delete(table))


def seed_demo(
    sessions: sessionmaker[Session],
    config: DemoConfig,
    reset: bool = False,
    progress: Callable[[int], None] | None = None,
    batch: int = 200,
) -> SeedSummary:
    started = dt.datetime.now()
    with transaction(sessions) as session:
        existing = session.scalar(select(func.count()).select_from(Customer)) or 0
        if existing and not reset:
            raise InvalidInput(
                f"the database already has {existing} customers; run `powerdesk demo seed --reset` to replace them"
            )
        if reset:
            clear_all(session)
    base = build_demo(config)
    days = config.days
    daily_rows = interval_rows = 0
    pending: list[CustomerReadings] = []

    def flush() -> None:
        nonlocal daily_rows, interval_rows
        with transaction(sessions) as session:
            d, i = _write_batch(session, pending, days)
        daily_rows += d
        interval_rows += i
        if progress:
            progress(len(pending))
        pending.clear()

    for readings in iter_readings(base, batch=batch):
        pending.append(readings)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    seconds = (dt.datetime.now() - started).total_seconds()
    return SeedSummary(len(base.customers), daily_rows, interval_rows, seconds)


def _write_batch(session: Session, batch: list[CustomerReadings], days: list[dt.date]) -> tuple[int, int]:
    customer_ids = {}
    for r in batch:
        c = r.customer
        row = Customer(
            account_no=c.account_no, name=c.name, id_number=c.id_number, phone=c.phone, address=c.address,
            area=c.area, customer_category=c.customer_category, tariff_category=c.tariff_category,
            capacity_kva=c.capacity_kva, contract_demand_kw=c.contract_demand_kw, pf_standard=c.pf_standard,
            opened_on=c.opened_on,
        )  # fmt: skip
        session.add(row)
        customer_ids[c.account_no] = row
    session.flush()
    meters = {}
    for r in batch:
        c = r.customer
        meter = Meter(
            customer_id=customer_ids[c.account_no].id, meter_no=c.meter_no, multiplier=c.multiplier,
            resolution=c.resolution, installed_on=c.opened_on,
        )  # fmt: skip
        session.add(meter)
        meters[c.account_no] = meter
    session.flush()
    daily: list[dict] = []
    intervals: list[dict] = []
    for r in batch:
        meter_id = meters[r.customer.account_no].id
        if r.energy.ndim == 1:
            registers = r.customer.register_start + np.cumsum(r.energy.astype(np.float64)) / r.customer.multiplier
            daily += [
                {"meter_id": meter_id, "day": day, "register": round(float(reg), 2), "kwh": float(kwh)}
                for day, reg, kwh in zip(days, registers, r.energy, strict=True)
            ]
        else:
            totals = r.energy.sum(axis=1, dtype=np.float64)
            peaks = r.energy.max(axis=1) * 4.0
            for j, day in enumerate(days):
                intervals.append(
                    {
                        "meter_id": meter_id, "day": day, "slots": 96, "values": r.energy[j].astype("<f4").tobytes(),
                        "kwh": round(float(totals[j]), 3),
                        "reactive_kvarh": None if r.reactive is None else round(float(r.reactive[j]), 3),
                        "max_demand_kw": round(float(peaks[j]), 3),
                    }
                )  # fmt: skip
    if daily:
        session.execute(insert(DailyReading), daily)
    if intervals:
        session.execute(insert(IntervalReading), intervals)
    return len(daily), len(intervals)
