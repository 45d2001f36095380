"""Incremental scoring: merge new daily readings into a customer's stored window and rescore it alone.

The population side (peers' daily levels, the features' medians and spreads) comes from the
latest batch score, so one customer's update costs one customer's features (about a
millisecond), not a population pass. Days after the batch's last day use the peers' latest
level until the next batch run refreshes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.anomaly.contract import Consumption
from analytics.anomaly.detector import Reference
from analytics.anomaly.peers import PeerReference
from analytics.anomaly.scoring import feature_table, score_table

F32 = npt.NDArray[np.float32]
MAX_KWH_PER_DAY = 1e7  # above any single meter's daily energy: a typo or a hostile value


@dataclass
class Window:
    start: dt.date
    values: F32  # daily kWh from `start`, NaN = no reading
    negatives: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=len(self.values) - 1)


def merge(window: Window | None, readings: list[tuple[dt.date, float]], max_days: int, today: dt.date) -> Window:
    """The window with the readings applied (a later reading for a day replaces the earlier one)."""
    problems: list[str] = []
    good: list[tuple[dt.date, float]] = []
    negatives = window.negatives if window is not None else 0
    for day, kwh in readings:
        if day > today + dt.timedelta(days=1):
            problems.append(f"{day}: date in the future, ignored")
        elif kwh is None or not np.isfinite(kwh) or abs(kwh) > MAX_KWH_PER_DAY:
            problems.append(f"{day}: kwh {kwh!r} is not a plausible number, ignored")
        elif kwh < 0:
            negatives += 1
            problems.append(f"{day}: negative kwh {kwh} (register rollback?), counted, not stored")
        else:
            good.append((day, float(kwh)))
    if window is None and not good:
        return Window(today, np.full(1, np.nan, dtype=np.float32), negatives, problems)
    dates = [d for d, _ in good] + ([window.start, window.end] if window is not None else [])
    start, end = min(dates), max(dates)
    start = max(start, end - dt.timedelta(days=max_days - 1))
    values = np.full((end - start).days + 1, np.nan, dtype=np.float32)
    if window is not None:
        offset = (window.start - start).days
        lo, hi = max(0, -offset), min(len(window.values), len(values) - offset)
        if hi > lo:
            values[offset + lo : offset + hi] = window.values[lo:hi]
    for day, kwh in good:
        if day < start:
            problems.append(f"{day}: older than the {max_days}-day window, ignored")
            continue
        values[(day - start).days] = kwh
    return Window(start, values, negatives, problems)


def rescore(
    customer: str,
    window: Window,
    keys: tuple[str, ...],
    peers: PeerReference,
    reference: Reference,
    texts: dict[str, str],
) -> dict[str, Any]:
    """Score one customer's window against the stored population: customer_id, score, kind, reasons, risk…"""
    days = pd.date_range(pd.Timestamp(window.start), periods=len(window.values), freq="D")
    cons = Consumption(
        np.array([customer], dtype=object), days, window.values[None, :].copy(), np.array([window.negatives], np.int32)
    )
    frame = feature_table(cons, peers, [keys])
    table, _ = score_table(cons, frame, reference, texts)
    row = table.iloc[0]
    return {
        "customer_id": customer,
        "score": round(float(row["score"]), 4),
        "kind": str(row["kind"]),
        "reasons": row["reasons"],
        "risk": round(float(row["risk"]), 4),
        "risk_reasons": row["risk_reasons"],
    }
