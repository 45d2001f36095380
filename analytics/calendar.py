"""The Chinese calendar with adjusted working days (调休): workday, weekend or public holiday."""

from __future__ import annotations

import datetime as dt
from enum import IntEnum

import holidays


class DayType(IntEnum):
    WORKDAY = 0
    WEEKEND = 1
    HOLIDAY = 2


def day_type(day: dt.date, _cn: holidays.HolidayBase | None = None) -> DayType:
    """chinesecalendar where it knows the year (2004–2026), else holidays.CN."""
    try:
        import chinese_calendar

        if chinese_calendar.is_workday(day):
            return DayType.WORKDAY
        return DayType.HOLIDAY if chinese_calendar.get_holiday_detail(day)[1] else DayType.WEEKEND
    except NotImplementedError:
        cn = _cn if _cn is not None else holidays.CN(years=day.year)
        if day in cn:
            return DayType.HOLIDAY
        return DayType.WEEKEND if day.weekday() >= 5 else DayType.WORKDAY


def day_types(days: list[dt.date]) -> list[DayType]:
    cn = holidays.CN(years=sorted({d.year for d in days}))
    return [day_type(d, cn) for d in days]
