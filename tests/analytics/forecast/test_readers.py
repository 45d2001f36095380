from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.forecast import readers
from analytics.forecast.readers import read_actuals, read_events, read_load, read_weather
from core.errors import InvalidInput
from tests.analytics.forecast.conftest import FIXTURES, SAMPLE_LOAD, SAMPLE_WEATHER, synthetic_long, write


def test_wide_daily_15_minute_sample_is_detected() -> None:
    load = read_load(SAMPLE_LOAD)
    assert load.per_day == 96 and load.step_minutes == 15
    assert str(load.days[0].date()) == "2014-05-01" and len(load.days) == 123
    assert load.complete().all()
    assert load.issues[0].startswith("wide daily format, 96 intervals")


@pytest.mark.parametrize("step", [15, 30, 60])
def test_long_format_resolution_is_detected(tmp_path: Path, step: int) -> None:
    frame = synthetic_long(days=35, step=step)
    load = read_load(write(tmp_path, "long.csv", frame))
    assert load.step_minutes == step
    assert load.values.shape == (35, 1440 // step)
    np.testing.assert_allclose(load.values[0, 0], frame["load"].iloc[0])


def test_wide_hourly_with_year_month_day_and_thousands_separators(tmp_path: Path) -> None:
    """GEFCom2012's layout: zone_id,year,month,day,h1..h24 with quoted "16,853" values."""
    rows = ["zone_id,year,month,day," + ",".join(f"h{i}" for i in range(1, 25))]
    for zone in (1, 2):
        for day in pd.date_range("2006-01-01", periods=40):
            rows.append(f"{zone},{day.year},{day.month},{day.day}," + ",".join(f'"1{zone},{h:03d}"' for h in range(24)))
    path = tmp_path / "gef.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="holds 2 series.*--series"):
        read_load(path)
    load = read_load(path, series="2")
    assert load.step_minutes == 60 and load.values[0, 5] == 12005.0


def test_unknown_layout_names_what_was_expected(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", pd.DataFrame({"a": [1, 2], "b": [3, 4]}))
    with pytest.raises(InvalidInput, match="Expected long format"):
        read_load(path)


@pytest.mark.parametrize(
    "content, message",
    [(b"", "empty"), (b"\xff\xfe\x00garbage\x00\x81", "not a readable UTF-8 CSV"), (b"timestamp,load\n", "no rows")],
)
def test_hostile_files_are_refused_clearly(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message):
        read_load(path)


def test_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 100)
    with pytest.raises(InvalidInput, match="split it"):
        read_load(write(tmp_path, "big.csv", synthetic_long(days=2)))


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        read_load(tmp_path / "nope.csv")


def test_bad_values_are_flagged_and_repaired(tmp_path: Path) -> None:
    frame = synthetic_long(days=35, step=60).astype({"load": object})
    frame.loc[100, "load"] = -5.0  # negative
    frame.loc[200, "load"] = 1e7  # absurd
    frame.loc[300, "load"] = frame.loc[300, "load"] * 3  # spike
    frame.loc[400, "load"] = "n/a"  # not a number
    frame = pd.concat([frame, frame.iloc[[50]].assign(load=frame.loc[50, "load"] + 10)])  # duplicated timestamp
    frame = frame.drop(index=range(500, 503))  # a 3-hour gap (interpolated)
    frame = frame.drop(index=range(600, 610))  # a 10-hour gap (day dropped)
    load = read_load(write(tmp_path, "bad.csv", frame))
    problems = " | ".join(load.flagged["problem"].astype(str))
    for expected in ("zero or negative", "absurd", "spike", "not a number", "duplicated timestamp"):
        assert expected in problems
    flat = load.values.reshape(-1)
    assert np.isfinite(flat[[100, 200, 300, 400, 501]]).all()  # repaired by interpolation
    assert 0 < flat[100] < 2000 and flat[200] < 2000
    assert np.isnan(load.values[600 // 24]).all() and (~load.complete()).sum() == 1
    assert any("interpolated" in i for i in load.issues) and any("not used for training" in i for i in load.issues)


def test_timestamps_off_the_grid_are_refused(tmp_path: Path) -> None:
    frame = synthetic_long(days=30, step=60)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"]) + pd.to_timedelta(np.arange(len(frame)) % 7, unit="min")
    with pytest.raises(InvalidInput, match="not on the 60-minute grid"):
        read_load(write(tmp_path, "jitter.csv", frame))


def test_too_little_data_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="at least 28"):
        read_load(write(tmp_path, "short.csv", synthetic_long(days=10)))


def test_timezone_offsets_are_read_as_local_time(tmp_path: Path) -> None:
    frame = synthetic_long(days=30, step=60)
    frame["timestamp"] = frame["timestamp"] + "+08:00"
    load = read_load(write(tmp_path, "tz.csv", frame))
    assert load.values.shape == (30, 24) and load.complete().all()


def test_area1_weather_sample_flags_nothing_and_ignores_the_day_type_column() -> None:
    load = read_load(SAMPLE_LOAD)
    weather = read_weather(SAMPLE_WEATHER, load.days)
    assert list(weather.frame.columns) == ["tmax", "tmin", "tmean", "humidity", "rain"]
    assert weather.frame.loc["2014-09-01"].notna().all()  # the forecast day's weather
    assert weather.on(load.days).notna().all().all()


def test_impossible_and_missing_weather_is_flagged_and_interpolated(tmp_path: Path) -> None:
    days = pd.date_range("2014-07-01", periods=20)
    frame = pd.DataFrame(
        {"date": days.strftime("%Y%m%d"), "最高温度": 30.0, "最低温度": 22.0, "湿度": 70, "降雨量": 0.0}
    )
    frame.loc[5, "最高温度"] = 54.9  # the kind of value area1's weather file has
    frame = frame.drop(index=[10, 11])  # two missing days
    weather = read_weather(write(tmp_path, "w.csv", frame), pd.DatetimeIndex(days))
    assert weather.flagged.iloc[0]["problem"] == "temperature impossible here"
    assert weather.frame.loc["2014-07-06", "tmax"] == 30.0
    assert weather.frame.loc["2014-07-11", "tmax"] == 30.0 and weather.frame.loc["2014-07-11", "tmean"] == 26.0


def test_hourly_fahrenheit_stations_become_daily_celsius(tmp_path: Path) -> None:
    header = "station_id,year,month,day," + ",".join(f"h{i}" for i in range(1, 25))
    rows = [header] + [
        f"{s},2006,1,{d}," + ",".join(str(50 + h) for h in range(24)) for s in (1, 2) for d in range(1, 11)
    ]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(rows), encoding="utf-8")
    weather = read_weather(path)
    assert weather.frame["tmax"].iloc[0] == pytest.approx((73 - 32) * 5 / 9)
    assert any("°F" in i for i in weather.issues)


def test_timestamped_weather_is_aggregated_per_day(tmp_path: Path) -> None:
    stamps = pd.date_range("2014-07-01", periods=48, freq="h")
    frame = pd.DataFrame({"timestamp": stamps, "temperature": np.r_[np.arange(24), np.arange(24) + 1], "rain": 1.0})
    weather = read_weather(write(tmp_path, "w.csv", frame))
    assert weather.frame["tmax"].tolist() == [23.0, 24.0] and weather.frame["rain"].tolist() == [24.0, 24.0]


def test_weather_without_known_columns_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no weather column"):
        read_weather(write(tmp_path, "w.csv", pd.DataFrame({"date": ["2014-01-01"], "wind": [3]})))


def test_events_file(tmp_path: Path) -> None:
    events = read_events(FIXTURES / "events.csv")
    assert [(str(e.day), e.effect) for e in events] == [("2014-08-12", -0.2), ("2014-08-20", 0.05)]
    bad = write(
        tmp_path, "e.csv", pd.DataFrame({"date": ["2014-01-01", "x"], "name": ["a", "b"], "effect": ["-300%", "0"]})
    )
    with pytest.raises(InvalidInput, match=r"lines \[2, 3\]"):
        read_events(bad)


def test_actuals_file(tmp_path: Path) -> None:
    stamps, values = read_actuals(
        write(tmp_path, "a.csv", pd.DataFrame({"timestamp": ["2014-09-01 00:00"], "load": [5.0]}))
    )
    assert stamps[0].hour == 0 and values == [5.0]
    with pytest.raises(InvalidInput, match="timestamp not understood"):
        read_actuals(write(tmp_path, "b.csv", pd.DataFrame({"timestamp": ["soon"], "load": [5.0]})))


def test_column_names_with_units_and_spacing_are_matched(tmp_path: Path) -> None:
    days = pd.date_range("2014-07-01", periods=5)
    frame = pd.DataFrame(
        {"日期": days.strftime("%Y-%m-%d"), "最高温度(℃)": 30.0, "Lowest Temperature [°C]": 22.0, "Rain_fall (mm)": 1.0}
    )
    weather = read_weather(write(tmp_path, "w.csv", frame))
    assert set(weather.frame.columns) >= {"tmax", "tmin", "tmean", "rain"} and weather.frame["tmean"].iloc[0] == 26.0
    long = synthetic_long(days=30).rename(columns={"timestamp": "Date Time", "load": "负荷(MW)"})
    assert read_load(write(tmp_path, "l.csv", long)).values.shape == (30, 24)
