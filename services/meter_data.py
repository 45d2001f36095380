"""Reading a customer's metered energy out of the database."""

from __future__ import annotations

import datetime as dt

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
