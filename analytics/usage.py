"""Energy used in a month, from daily register readings or interval readings."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Residential TOU periods (tariffs.md §1): peak 08:00–22:00, valley 22:00–08:00.
RESIDENTIAL_PEAK_HOURS = range(8, 22)


@dataclass(frozen=True)
class MonthUsage:
    year: int
    month: int
    kwh: float
    days_with_data: int
    days_in_month: int
    peak_kwh: float | None = None
    valley_kwh: float | None = None

    @property
    def complete(self) -> bool:
        return self.days_with_data == self.days_in_month


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First and last day of a month."""
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def peak_mask(slots: int) -> npt.NDArray[np.bool_]:
    """Which of a day's 24 or 96 intervals fall in the residential peak period."""
    per_hour = slots // 24
    hours = np.arange(slots) // per_hour
    return np.isin(hours, list(RESIDENTIAL_PEAK_HOURS))


def usage_from_daily(year: int, month: int, daily_kwh: list[float]) -> MonthUsage:
    days = month_bounds(year, month)[1].day
    return MonthUsage(year, month, round(float(sum(daily_kwh)), 2), len(daily_kwh), days)


def usage_from_intervals(year: int, month: int, days: npt.NDArray[np.float32]) -> MonthUsage:
    """`days` is a (number of days, 96 or 24) array of interval kWh."""
    n_days = month_bounds(year, month)[1].day
    if days.size == 0:
        return MonthUsage(year, month, 0.0, 0, n_days, 0.0, 0.0)
    mask = peak_mask(days.shape[1])
    peak = float(days[:, mask].sum(dtype=np.float64))
    valley = float(days[:, ~mask].sum(dtype=np.float64))
    return MonthUsage(year, month, round(peak + valley, 2), days.shape[0], n_days, round(peak, 2), round(valley, 2))
