"""Today's forecast in real time: measured intervals re-anchor the rest of the day and re-assess the risk.

A `LiveDay` holds the day-ahead band of one day, the intervals measured so far and the current risk; every
`post` re-anchors (milliseconds) and lets the `AlertBook` raise an alert when the risk level changes.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analytics.forecast.calibration import Band
from analytics.forecast.engine import DayForecast, ForecastEngine
from analytics.forecast.intraday import Alert, AlertBook, reanchor
from analytics.forecast.risk import Risk, RiskConfig, assess
from core.errors import InvalidInput

MAX_POST = 2000  # intervals per post


@dataclass
class Update:
    accepted: int
    rejected: list[str]
    correction: float
    seconds: float
    alert: Alert | None

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "correction": round(self.correction, 4),
            "seconds": round(self.seconds, 4),
            "alert": self.alert.as_json() if self.alert else None,
        }


@dataclass
class LiveDay:
    engine: ForecastEngine
    capacity: float
    config: RiskConfig
    alerts: AlertBook
    base: DayForecast
    risk: Risk
    actual: np.ndarray
    band: Band
    correction: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def day(self) -> dt.date:
        return self.base.day

    @classmethod
    def start(
        cls,
        engine: ForecastEngine,
        capacity: float,
        config: RiskConfig,
        alerts: AlertBook,
        now: dt.datetime | None = None,
    ) -> LiveDay:
        base, risk = engine.risk(capacity, config)
        k = base.band.p50.size
        live = cls(engine, capacity, config, alerts, base, risk, np.full(k, np.nan), base.band)
        reason = config.day_ahead_reason(list(risk.alerts))
        alerts.observe(live.day, risk.level, risk.probability, reason, now or dt.datetime.now())
        return live

    def post(self, stamps: list[dt.datetime], values: list[float], now: dt.datetime | None = None) -> Update:
        """Record measured intervals of the day; re-anchor the rest, re-assess the risk, maybe raise an alert."""
        t0 = time.perf_counter()
        if len(stamps) != len(values):
            raise InvalidInput("give as many loads as timestamps")
        if not stamps:
            raise InvalidInput("no interval given; send [{timestamp, load}, …] for today's measured intervals")
        if len(stamps) > MAX_POST:
            raise InvalidInput(f"{len(stamps)} intervals in one post; at most {MAX_POST}")
        k = self.actual.size
        step = 1440 // k
        ceiling = float(self.base.band.p90.max()) * 10
        rejected: list[str] = []
        accepted = 0
        for stamp, value in zip(stamps, values, strict=True):
            minutes = stamp.hour * 60 + stamp.minute
            if stamp.date() != self.day:
                rejected.append(f"{stamp.isoformat()}: not on the forecast day {self.day}")
            elif minutes % step or stamp.second:
                rejected.append(f"{stamp.isoformat()}: not on the {step}-minute grid")
            elif not np.isfinite(value) or value <= 0 or value > ceiling:
                rejected.append(f"{stamp.isoformat()}: load {value} is not a positive number below {ceiling:.0f}")
            else:
                self.actual[minutes // step] = value
                accepted += 1
        if not accepted:
            raise InvalidInput("no interval accepted: " + "; ".join(rejected[:5]))
        self.band, self.correction = reanchor(self.base.band, self.actual)
        seen = np.isfinite(self.actual)
        remaining = 1 - seen.mean()
        errors = self.base.peak_errors * np.sqrt(remaining)  # less of the day left, less room for the peak to move
        observed_max = float(np.nanmax(self.actual))
        future_peak = float(self.band.p50[~seen].max()) if (~seen).any() else observed_max
        self.risk = assess(
            self.config,
            max(future_peak, observed_max),
            errors,
            self.capacity,
            self.risk.drivers,
            observed_max,
            self.risk.alerts,
        )
        reason = self.config.measured_reason(int(seen.sum()), k, self.correction)
        alert = self.alerts.observe(self.day, self.risk.level, self.risk.probability, reason, now or dt.datetime.now())
        return Update(accepted, rejected[:20], self.correction, time.perf_counter() - t0, alert)

    def snapshot(self) -> dict[str, Any]:
        """Forecast vs actual with the band, for the console."""
        rows = []
        for pos, time_of_day in enumerate(self.base.times):
            actual = self.actual[pos]
            rows.append(
                {
                    "time": time_of_day,
                    "p10": round(float(self.band.p10[pos]), 1),
                    "p50": round(float(self.band.p50[pos]), 1),
                    "p90": round(float(self.band.p90[pos]), 1),
                    "day_ahead_p50": round(float(self.base.band.p50[pos]), 1),
                    "actual": None if not np.isfinite(actual) else round(float(actual), 1),
                }
            )
        return {
            "date": str(self.day),
            "capacity": self.capacity,
            "correction": round(self.correction, 4),
            "intervals": rows,
            "risk": self.risk.as_json(),
            "alerts": [a.as_json() for a in self.alerts.alerts[-20:]],
        }
