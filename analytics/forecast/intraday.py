"""Re-anchor today's remaining forecast on the intervals measured so far, and track risk-level changes.

The correction is the recency-weighted mean log ratio actual / P50 of the last observed intervals; it is
applied to the rest of the day with a decay (half-life `half_life_hours`), so the next hours follow the
measurements and the evening falls back towards the day-ahead shape. Measured intervals replace the band.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from analytics.forecast.calibration import Band
from core.errors import InvalidInput

LOOKBACK = 8  # intervals of the latest measurements that set the correction
HALF_LIFE_HOURS = 3.0


def reanchor(band: Band, actual: np.ndarray, half_life_hours: float = HALF_LIFE_HOURS) -> tuple[Band, float]:
    """The band with measured intervals fixed and the remaining ones corrected; and the correction (log ratio)."""
    k = band.p50.size
    if actual.shape != (k,):
        raise InvalidInput(f"expected {k} intervals for the day, got {actual.shape[0] if actual.ndim else 0}")
    seen = np.flatnonzero(np.isfinite(actual))
    if seen.size == 0:
        return band, 0.0
    recent = seen[-LOOKBACK:]
    weights = 0.7 ** (recent[-1] - recent)
    logs = np.log(np.maximum(actual[recent], 1e-9) / np.maximum(band.p50[recent], 1e-9))
    correction = float(np.sum(weights * logs) / np.sum(weights))
    steps = np.arange(k) - recent[-1]
    per_hour = k / 24
    factor = np.exp(correction * 0.5 ** (np.clip(steps, 0, None) / (half_life_hours * per_hour)))
    out = Band(band.p10 * factor, band.p50 * factor, band.p90 * factor)
    known = np.isfinite(actual)
    for series in (out.p10, out.p50, out.p90):
        series[known] = actual[known]
    return out, correction


@dataclass
class Alert:
    at: dt.datetime
    day: dt.date
    previous: str | None
    level: str
    probability: float
    reason: str

    def as_json(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(timespec="seconds"),
            "date": str(self.day),
            "previous": self.previous,
            "level": self.level,
            "probability": round(self.probability, 4),
            "reason": self.reason,
        }


@dataclass
class AlertBook:
    """Raises an alert whenever the risk level of a day changes (and on extreme weather); keeps the last `keep`."""

    keep: int = 200
    alerts: list[Alert] = field(default_factory=list)
    _levels: dict[dt.date, str] = field(default_factory=dict)

    def observe(self, day: dt.date, level: str, probability: float, reason: str, now: dt.datetime) -> Alert | None:
        previous = self._levels.get(day)
        self._levels[day] = level
        if previous == level:
            return None
        alert = Alert(now, day, previous, level, probability, reason)
        self.alerts.append(alert)
        del self.alerts[: -self.keep]
        return alert
