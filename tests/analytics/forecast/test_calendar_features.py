from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.forecast.calendar_features import calendar_frame, event_factors, spring_festival_offsets
from analytics.forecast.contract import Event


def test_chinese_calendar_decides_day_types_with_adjusted_workdays() -> None:
    days = pd.date_range("2014-01-25", "2014-02-10")
    cal = calendar_frame(days)
    assert cal.loc["2014-01-26", "day_type"] == 0 and cal.loc["2014-01-26", "adjusted_workday"] == 1  # Sunday, 调休
    assert cal.loc["2014-01-31", "day_type"] == 2 and cal.loc["2014-01-31", "statutory"] == 1
    assert cal.loc["2014-02-05", "day_type"] == 2 and cal.loc["2014-02-05", "statutory"] == 0  # bridge day off
    assert cal.loc["2014-01-30", "days_to_holiday"] == 1 and cal.loc["2014-02-07", "days_since_holiday"] == 1
    assert cal.loc["2014-02-02", "holiday_pos"] == 3
    assert cal.loc["2014-01-31", "sf_offset"] == 0 and cal.loc["2014-01-25", "sf_offset"] == -6


def test_weekend_calendar_for_other_countries() -> None:
    cal = calendar_frame(pd.date_range("2014-09-29", "2014-10-05"), calendar="weekend")
    assert cal["day_type"].tolist() == [0, 0, 0, 0, 0, 1, 1]
    assert (cal["statutory"] == 0).all()


def test_spring_festival_offsets_are_clipped() -> None:
    offsets = spring_festival_offsets(pd.date_range("2014-06-01", periods=3))
    assert (abs(offsets) == 40).all()


def test_event_factors_multiply_the_forecast_day() -> None:
    days = pd.date_range("2014-08-11", periods=3)
    factors = event_factors(days, [Event(days[1].date(), "检修", -0.2), Event(days[1].date(), "展会", 0.05)])
    np.testing.assert_allclose(factors, [1.0, 0.85, 1.0])
