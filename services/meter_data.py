"""Reading a customer's metered energy out of the database."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import DailyReading, IntervalReading, Meter
from core.readings import unpack_many


def meters_of(session: Session, customer_id: int) -> list[Meter]:
    return list(session.scalars(select(Meter).where(Meter.customer_id == customer_id).order_by(Meter.id)))


def daily_kwh(session: Session, customer_id: int, first: dt.date, last: dt.date) -> list[float]:
    rows = session.execute(
        select(DailyReading.kwh)
        .join(Meter, Meter.id == DailyReading.meter_id)
        .where(Meter.customer_id == customer_id, DailyReading.day >= first, DailyReading.day <= last)
        .order_by(DailyReading.day)
    )
    return [float(r[0]) for r in rows]


def interval_days(session: Session, customer_id: int, first: dt.date, last: dt.date) -> npt.NDArray[np.float32]:
    """(days, slots) interval kWh of a customer between two dates (inclusive)."""
    rows = session.execute(
        select(IntervalReading.slots, IntervalReading.values)
        .join(Meter, Meter.id == IntervalReading.meter_id)
        .where(Meter.customer_id == customer_id, IntervalReading.day >= first, IntervalReading.day <= last)
        .order_by(IntervalReading.day)
    ).all()
    if not rows:
        return np.zeros((0, 96), dtype=np.float32)
    slots = rows[0][0]
    return unpack_many([r[1] for r in rows if r[0] == slots], slots)


IntervalDay = tuple[dt.date, bytes, int, float | None, float | None]  # day, values, slots, kvarh, max demand


def interval_rows_by_meter(
    session: Session, meter_ids: list[int], first: dt.date, last: dt.date
) -> dict[int, list[IntervalDay]]:
    """The stored interval days of many meters between two dates (inclusive), in day order per meter."""
    out: dict[int, list[IntervalDay]] = defaultdict(list)
    for row in session.execute(
        select(
            IntervalReading.meter_id,
            IntervalReading.day,
            IntervalReading.values,
            IntervalReading.slots,
            IntervalReading.reactive_kvarh,
            IntervalReading.max_demand_kw,
        )
        .where(IntervalReading.meter_id.in_(meter_ids), IntervalReading.day >= first, IntervalReading.day <= last)
        .order_by(IntervalReading.meter_id, IntervalReading.day)
    ):
        out[row[0]].append((row[1], row[2], row[3], row[4], row[5]))
    return out
