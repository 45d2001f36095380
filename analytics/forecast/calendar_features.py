"""Calendar features per day: day type from the Chinese calendar (调休 included), distance to holidays and to the
Spring Festival, and events. The calendar — not a day-type column of the input — is the source of truth.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import holidays
import numpy as np
import pandas as pd

from analytics.calendar import DayType, day_type
from analytics.forecast.contract import Event

Calendar = Literal["cn", "weekend"]
_REACH = 10  # days before / after a holiday that get their own distance feature
_SF_REACH = 40  # days around the Spring Festival (lunar new year) with their own offset


def day_types(days: pd.DatetimeIndex, calendar: Calendar = "cn") -> np.ndarray:
    """0 workday, 1 weekend, 2 holiday. With calendar="weekend" only Saturdays and Sundays rest (non-Chinese data)."""
    if calendar == "cn":
        cn = holidays.CN(years=sorted({d.year for d in days}))
        types = np.array([int(day_type(d.date(), cn)) for d in days])
    else:
        types = np.where(days.dayofweek >= 5, int(DayType.WEEKEND), int(DayType.WORKDAY))
    return types


def statutory_days(days: pd.DatetimeIndex) -> np.ndarray:
    """1 on the statutory festival days themselves (元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆), 0 on bridge days off
    created by 调休 and on "observed" days: in industrial regions load dips on the former far more."""
    cn = holidays.CN(years=sorted({d.year for d in days}))
    festival = {d for d, name in cn.items() if "Day off" not in name and "(observed)" not in name}
    return np.array([int(d.date() in festival) for d in days])


def spring_festival_offsets(days: pd.DatetimeIndex) -> np.ndarray:
    """Days from the nearest lunar new year (Chinese New Year's day), clipped to ±_SF_REACH."""
    years = sorted({d.year for d in days} | {days[0].year - 1, days[-1].year + 1})
    cn = holidays.CN(years=years)
    new_years = sorted(d for d, name in cn.items() if name == "Chinese New Year (Spring Festival)")
    firsts: dict[int, dt.date] = {}
    for day in new_years:
        firsts.setdefault(day.year, day)
    anchors = np.array([np.datetime64(d) for d in sorted(firsts.values())], dtype="datetime64[D]")
    if anchors.size == 0:
        return np.full(len(days), _SF_REACH)
    stamps = days.to_numpy().astype("datetime64[D]")
    offsets = (stamps[:, None] - anchors[None, :]).astype(int)
    nearest = offsets[np.arange(len(days)), np.abs(offsets).argmin(axis=1)]
    return np.clip(nearest, -_SF_REACH, _SF_REACH)


def calendar_frame(days: pd.DatetimeIndex, calendar: Calendar = "cn") -> pd.DataFrame:
    """One row per day: day type, its neighbours, 调休, distance to / from holidays, Spring Festival offset."""
    padded = pd.date_range(days[0] - pd.Timedelta(days=_REACH + 1), days[-1] + pd.Timedelta(days=_REACH + 1), freq="D")
    types = day_types(padded, calendar)
    holiday = types == int(DayType.HOLIDAY)
    idx = np.arange(len(padded))
    last_hol = np.maximum.accumulate(np.where(holiday, idx, -10_000))
    next_hol = np.minimum.accumulate(np.where(holiday, idx, 10_000)[::-1])[::-1]
    frame = pd.DataFrame(
        {
            "day_type": types,
            "prev_type": np.roll(types, 1),
            "next_type": np.roll(types, -1),
            "dow": padded.dayofweek,
            "doy": padded.dayofyear,
            "adjusted_workday": ((types == int(DayType.WORKDAY)) & (padded.dayofweek >= 5)).astype(int),
            "days_since_holiday": np.clip(idx - last_hol, 0, _REACH),
            "days_to_holiday": np.clip(next_hol - idx, 0, _REACH),
        },
        index=padded,
    )
    run = _holiday_run_position(holiday)
    frame["holiday_pos"] = run
    frame["statutory"] = statutory_days(padded) if calendar == "cn" else 0
    frame["sf_offset"] = spring_festival_offsets(padded) if calendar == "cn" else _SF_REACH
    return frame.reindex(days)


def event_factors(days: pd.DatetimeIndex, events: list[Event] | None) -> np.ndarray:
    """Multiplicative factor per day from the events file (1 + expected effect; events on one day add up)."""
    factors = np.ones(len(days))
    for event in events or []:
        factors[days == pd.Timestamp(event.day)] += event.effect
    return np.clip(factors, 0.05, None)


def _holiday_run_position(holiday: np.ndarray) -> np.ndarray:
    """1, 2, 3… within a run of holidays; 0 elsewhere."""
    out = np.zeros(holiday.size, dtype=int)
    count = 0
    for pos, flag in enumerate(holiday):
        count = count + 1 if flag else 0
        out[pos] = count
    return out


def is_rest(types: np.ndarray) -> np.ndarray:
    return types != int(DayType.WORKDAY)


def describe_day(day: dt.date, calendar: Calendar = "cn") -> int:
    return int(day_types(pd.DatetimeIndex([pd.Timestamp(day)]), calendar)[0])
