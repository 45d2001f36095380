"""Loading customers' records and metered load for the recommendation code (the I/O edge of analytics.recommend)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analytics.recommend.loads import CustomerLoad
from core.models import Customer, DailyReading, IntervalReading, Meter
from core.readings import unpack_many


def data_range(session: Session) -> tuple[dt.date, dt.date] | None:
    """First and last day with any reading."""
    lows, highs = [], []
    for table in (DailyReading, IntervalReading):
        low, high = session.execute(select(func.min(table.day), func.max(table.day))).one()
        if low is not None:
            lows.append(low)
            highs.append(high)
    return (min(lows), max(highs)) if lows else None


def customer_ids(session: Session, category: str | None = None) -> list[int]:
    query = select(Customer.id).order_by(Customer.id)
    if category:
        query = query.where((Customer.tariff_category == category) | (Customer.customer_category == category))
    return list(session.scalars(query))


def load_customers(session: Session, ids: list[int], first: dt.date, last: dt.date) -> list[CustomerLoad]:
    """Records and readings of these customers between two dates (inclusive), one `CustomerLoad` each.

    A customer with several meters is read from its first meter that has data (the demo has one per customer).
    """
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    meters = list(session.scalars(select(Meter).where(Meter.customer_id.in_(ids)).order_by(Meter.id)))
    meter_ids = [m.id for m in meters]
    daily: dict[int, list[tuple[dt.date, float, float]]] = defaultdict(list)
    for meter_id, day, register, kwh in session.execute(
        select(DailyReading.meter_id, DailyReading.day, DailyReading.register, DailyReading.kwh)
        .where(DailyReading.meter_id.in_(meter_ids), DailyReading.day >= first, DailyReading.day <= last)
        .order_by(DailyReading.meter_id, DailyReading.day)
    ):  # fmt: skip
        daily[meter_id].append((day, register, kwh))
    interval: dict[int, list[tuple[dt.date, bytes, int, float | None, float | None]]] = defaultdict(list)
    for row in session.execute(
        select(IntervalReading.meter_id, IntervalReading.day, IntervalReading.values, IntervalReading.slots,
               IntervalReading.reactive_kvarh, IntervalReading.max_demand_kw)
        .where(IntervalReading.meter_id.in_(meter_ids), IntervalReading.day >= first, IntervalReading.day <= last)
        .order_by(IntervalReading.meter_id, IntervalReading.day)
    ):  # fmt: skip
        interval[row[0]].append(tuple(row[1:]))  # type: ignore[arg-type]
    out: dict[int, CustomerLoad] = {}
    for meter in meters:
        c = customers[meter.customer_id]
        if c.id in out:
            continue
        base = dict(
            customer_id=c.id, account_no=c.account_no, customer_category=c.customer_category,
            tariff_category=c.tariff_category, capacity_kva=c.capacity_kva, contract_demand_kw=c.contract_demand_kw,
            pf_standard=c.pf_standard, multiplier=meter.multiplier,
        )  # fmt: skip
        if interval.get(meter.id):
            items = [x for x in interval[meter.id] if x[2] == 96]
            values = unpack_many([x[1] for x in items], 96)
            reactive = None if items[0][3] is None else np.array([x[3] or 0.0 for x in items])
            demand = None if items[0][4] is None else np.array([x[4] or 0.0 for x in items])
            out[c.id] = CustomerLoad(
                **base, days=[x[0] for x in items], daily_kwh=values.sum(axis=1, dtype=np.float64),  # type: ignore[arg-type]
                intervals=values, reactive=reactive, max_demand=demand,
            )  # fmt: skip
        elif daily.get(meter.id):
            rows = daily[meter.id]
            out[c.id] = CustomerLoad(
                **base, days=[r[0] for r in rows], daily_kwh=np.array([r[2] for r in rows]),  # type: ignore[arg-type]
                registers=np.array([r[1] for r in rows]),
            )  # fmt: skip
    return [out[i] for i in ids if i in out]
