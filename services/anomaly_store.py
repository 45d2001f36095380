"""Reading the customer base's consumption for anomaly scoring, and storing scores and references."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from core.clock import local_today
from core.models import Customer, DailyReading, IntervalReading, Meter
from core.models_anomaly import AnomalyReference, AnomalyScore

F32 = npt.NDArray[np.float32]
MAX_INTRADAY_VALUES = 400_000_000


@dataclass
class Population:
    customer_ids: npt.NDArray[np.int64]
    account_nos: npt.NDArray[np.object_]
    areas: npt.NDArray[np.object_]
    categories: npt.NDArray[np.object_]
    start: dt.date
    kwh: F32  # (customers, days), NaN = no reading
    intervals: F32 | None  # (customers, days, 96) for 15-minute meters, NaN elsewhere


def load_population(session: Session, first: dt.date | None = None, last: dt.date | None = None) -> Population:
    """Daily kWh of every customer (daily registers and interval meters alike) between two dates."""
    customers = session.execute(
        select(Customer.id, Customer.account_no, Customer.area, Customer.customer_category).order_by(Customer.id)
    ).all()
    index = {row[0]: i for i, row in enumerate(customers)}
    daily_q = select(Meter.customer_id, DailyReading.day, DailyReading.kwh).join(
        Meter, Meter.id == DailyReading.meter_id
    )
    interval_q = select(Meter.customer_id, IntervalReading.day, IntervalReading.slots, IntervalReading.values).join(
        Meter, Meter.id == IntervalReading.meter_id
    )
    if first is not None:
        daily_q = daily_q.where(DailyReading.day >= first)
        interval_q = interval_q.where(IntervalReading.day >= first)
    if last is not None:
        daily_q = daily_q.where(DailyReading.day <= last)
        interval_q = interval_q.where(IntervalReading.day <= last)
    daily = session.execute(daily_q).all()
    interval = session.execute(interval_q).all()
    days = [r[1] for r in daily] + [r[1] for r in interval]
    start = min(days) if days else (first or local_today())
    end = max(days) if days else start
    n, d = len(customers), (end - start).days + 1
    kwh = np.full((n, d), np.nan, dtype=np.float32)
    for cid, day, value in daily:
        kwh[index[cid], (day - start).days] = value
    keep_intraday = bool(interval) and n * d * 96 <= MAX_INTRADAY_VALUES
    intervals = np.full((n, d, 96), np.nan, dtype=np.float32) if keep_intraday else None
    for cid, day, slots, blob in interval:
        values = np.frombuffer(blob, dtype="<f4")
        i, j = index[cid], (day - start).days
        kwh[i, j] = float(values.sum(dtype=np.float64))
        if intervals is not None:
            intervals[i, j] = values if slots == 96 else np.repeat(values / 4, 4)
    return Population(
        np.array([r[0] for r in customers], dtype=np.int64),
        np.array([r[1] for r in customers], dtype=object),
        np.array([r[2] or "" for r in customers], dtype=object),
        np.array([r[3] or "" for r in customers], dtype=object),
        start,
        kwh,
        intervals,
    )


def pack_window(values: npt.ArrayLike) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()


def unpack_window(blob: bytes) -> F32:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def save_scores(
    session: Session,
    customer_ids: npt.ArrayLike,
    records: list[dict[str, Any]],
    start: dt.date,
    windows: F32,
    negatives: npt.ArrayLike,
    source: str = "batch",
) -> None:
    """Replace the stored score and window of each customer (one row per customer)."""
    ids = [int(c) for c in np.asarray(customer_ids)]
    neg = np.asarray(negatives)
    for chunk in range(0, len(ids), 500):
        session.execute(delete(AnomalyScore).where(AnomalyScore.customer_id.in_(ids[chunk : chunk + 500])))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [
        {
            "customer_id": cid,
            "score": float(rec["score"]),
            "kind": rec["kind"],
            "reasons": rec["reasons"],
            "window_start": start,
            "days": int(windows.shape[1]),
            "window": pack_window(windows[i]),
            "negatives": int(neg[i]),
            "source": source,
            "updated_at": now,
        }
        for i, (cid, rec) in enumerate(zip(ids, records, strict=True))
    ]
    for chunk in range(0, len(rows), 1000):
        session.execute(insert(AnomalyScore), rows[chunk : chunk + 1000])


def state_of(session: Session, customer_id: int) -> AnomalyScore | None:
    return session.scalars(select(AnomalyScore).where(AnomalyScore.customer_id == customer_id)).first()


def save_reference(session: Session, payload: dict[str, Any], customers: int) -> int:
    ref = AnomalyReference(payload=payload, customers=customers)
    session.add(ref)
    session.flush()
    return ref.id


def latest_reference(session: Session) -> dict[str, Any] | None:
    ref = session.scalars(select(AnomalyReference).order_by(AnomalyReference.id.desc()).limit(1)).first()
    return ref.payload if ref is not None else None


def top_scores(session: Session, limit: int = 50) -> list[tuple[str, float, str, list[Any]]]:
    rows = session.execute(
        select(Customer.account_no, AnomalyScore.score, AnomalyScore.kind, AnomalyScore.reasons)
        .join(Customer, Customer.id == AnomalyScore.customer_id)
        .order_by(AnomalyScore.score.desc())
        .limit(limit)
    ).all()
    return [(r[0], float(r[1]), r[2], list(r[3] or [])) for r in rows]
