from __future__ import annotations

import datetime as dt

import pytest

from analytics.service_hours import ServiceHours, parse_span, working_days_after

HOURS = ServiceHours.parse("08:00-20:00", "09:00-17:00")
TWO_HOURS = dt.timedelta(hours=2)


def test_spans_parse_and_refuse_nonsense() -> None:
    assert parse_span("00:00-24:00") == (dt.time(0), None) and parse_span("") is None
    for bad in ("20:00-08:00", "8-20", "08:00"):
        with pytest.raises(ValueError, match="service hours"):
            parse_span(bad)


def test_open_on_workdays_rest_days_and_adjusted_workdays() -> None:
    assert HOURS.is_open(dt.datetime(2026, 11, 24, 10, 0))  # Tuesday
    assert not HOURS.is_open(dt.datetime(2026, 11, 24, 20, 0))
    assert not HOURS.is_open(dt.datetime(2026, 11, 28, 8, 30))  # Saturday: rest-day hours
    assert HOURS.is_open(dt.datetime(2026, 11, 28, 9, 0))
    assert not HOURS.is_open(dt.datetime(2026, 10, 2, 8, 30))  # National Day holiday
    assert HOURS.is_open(dt.datetime(2026, 9, 20, 8, 30))  # Sunday made a working day (调休) before National Day


def test_callback_times() -> None:
    assert HOURS.callback_by(dt.datetime(2026, 11, 24, 10, 0), TWO_HOURS) == dt.datetime(2026, 11, 24, 12, 0)
    # one hour left today: the second hour is counted from tomorrow's opening
    assert HOURS.callback_by(dt.datetime(2026, 11, 24, 19, 0), TWO_HOURS) == dt.datetime(2026, 11, 25, 9, 0)
    assert HOURS.callback_by(dt.datetime(2026, 11, 24, 22, 0), TWO_HOURS) == dt.datetime(2026, 11, 25, 10, 0)
    assert HOURS.callback_by(dt.datetime(2026, 11, 27, 21, 0), TWO_HOURS) == dt.datetime(2026, 11, 28, 11, 0)
    assert ServiceHours.parse("", "").callback_by(dt.datetime(2026, 11, 24, 10, 0), TWO_HOURS) is None
    always = ServiceHours.parse("00:00-24:00", "00:00-24:00")
    assert always.is_open(dt.datetime(2026, 11, 24, 23, 59))


def test_working_days_skip_weekends_and_holidays_and_count_adjusted_workdays() -> None:
    assert working_days_after(dt.date(2026, 11, 24), 5) == dt.date(2026, 12, 1)  # Tue → the next Tue
    assert working_days_after(dt.date(2026, 11, 27), 1) == dt.date(2026, 11, 30)  # Fri → Mon
    # accepted on 29 Sep 2026: 30 Sep, then the National Day holiday (1–7 Oct), 调休 Saturday 10 Oct counts
    assert working_days_after(dt.date(2026, 9, 29), 5) == dt.date(2026, 10, 12)
    with pytest.raises(ValueError, match="at least 1"):
        working_days_after(dt.date(2026, 11, 24), 0)
