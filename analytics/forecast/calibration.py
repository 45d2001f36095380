"""Conformal calibration of the P10–P90 band on the most recent out-of-sample residuals.

With raw quantiles (LightGBM) it is conformalised quantile regression: the band [lo, hi] is widened (or
narrowed) by the 80% quantile of max(lo - y, y - hi) / p50 over the last `window_days` forecast days.
Without (baselines) the band is p50 × (1 + the 10% and 90% quantiles of the relative errors). The same
window gives the distribution of the relative error of the daily peak, which the risk level uses.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from analytics.forecast.models import RawForecast

DEFAULT_WIDTH = 0.08  # ± relative half-width before any residual is known


@dataclass
class Band:
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray


@dataclass
class Calibrator:
    window_days: int = 56
    coverage: float = 0.8
    _scores: deque[np.ndarray] = field(default_factory=deque)
    _relative: deque[np.ndarray] = field(default_factory=deque)
    _peaks: deque[float] = field(default_factory=deque)

    @property
    def days_seen(self) -> int:
        return len(self._relative)

    def band(self, raw: RawForecast) -> Band:
        p50 = np.maximum(raw.p50, 0.0)
        if raw.lo is not None and raw.hi is not None:
            lo, hi = np.minimum(raw.lo, p50), np.maximum(raw.hi, p50)
            if self._scores:
                scores = np.concatenate(self._scores)
                level = min(1.0, self.coverage * (1 + 1 / scores.size))
                q = float(np.quantile(scores, level))
            else:
                q = 0.0
            return Band(np.maximum(lo - q * p50, 0.0), p50, np.maximum(hi + q * p50, p50))
        if self._relative:
            rel = np.concatenate(self._relative)
            tail = (1 - self.coverage) / 2
            low, high = np.quantile(rel, [tail, 1 - tail])
        else:
            low, high = -DEFAULT_WIDTH, DEFAULT_WIDTH
        return Band(np.maximum(p50 * (1 + min(low, 0.0)), 0.0), p50, p50 * (1 + max(high, 0.0)))

    def update(self, raw: RawForecast, actual: np.ndarray) -> None:
        """Record a day whose actual load is now known (skip days with missing intervals)."""
        if np.isnan(actual).any():
            return
        p50 = np.maximum(raw.p50, 1e-9)
        self._relative.append(actual / p50 - 1)
        if raw.lo is not None and raw.hi is not None:
            lo, hi = np.minimum(raw.lo, raw.p50), np.maximum(raw.hi, raw.p50)
            self._scores.append(np.maximum(lo - actual, actual - hi) / p50)
        self._peaks.append(float(actual.max() / p50.max() - 1))
        while len(self._relative) > self.window_days:
            self._relative.popleft()
            self._peaks.popleft()
            if self._scores:
                self._scores.popleft()

    def peak_errors(self) -> np.ndarray:
        """Relative errors of the daily peak over the window (empty before any day was recorded)."""
        return np.array(self._peaks, dtype=float)
