"""Checks on the full area1 files in ../shared (skipped where they are absent)."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.forecast.calendar_features import day_types
from analytics.forecast.readers import read_load, read_weather
from tests.analytics.forecast.conftest import SHARED

pytestmark = pytest.mark.skipif(not (SHARED / "area1_load.csv").exists(), reason="../shared/data/load is not here")


def test_area1_files_are_read_and_the_bad_temperatures_flagged() -> None:
    load = read_load(SHARED / "area1_load.csv")
    assert load.step_minutes == 15 and len(load.days) == 1106 and load.complete().all()
    weather = read_weather(SHARED / "area1_weather.csv", load.days)
    flagged = weather.flagged
    assert set(flagged["value"]) == {54.9} and set(flagged["date"].dt.strftime("%Y-%m-%d")) == {
        "2012-03-21",
        "2012-03-27",
    }


def test_area1_day_type_column_means_minus_one_workday_zero_weekend_one_holiday() -> None:
    raw = pd.read_csv(SHARED / "area1_weather.csv")
    days = pd.DatetimeIndex(pd.to_datetime(raw.iloc[:, 0].astype(str), format="%Y%m%d"))
    calendar = day_types(days)
    column = raw["date type"].map({-1: 0, 0: 1, 1: 2}).to_numpy()
    assert (calendar == column).mean() > 0.99
