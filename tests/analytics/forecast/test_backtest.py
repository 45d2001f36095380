from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from analytics.forecast.backtest import backtest
from analytics.forecast.contract import LoadData
from analytics.forecast.metrics import scores
from analytics.forecast.models import LightGBMParams
from core.errors import InvalidInput

FAST = LightGBMParams(n_estimators=80, quantile_estimators=40)


def test_backtest_on_the_sample_beats_the_baselines(sample) -> None:  # type: ignore[no-untyped-def]
    load, weather = sample
    seen: list[int] = []
    result = backtest(
        load,
        weather,
        dt.date(2014, 8, 1),
        dt.date(2014, 8, 31),
        params=FAST,
        progress=lambda done, total: seen.append(done),
    )
    assert len(result.days) == 31 and result.actual.shape == (31, 96)
    assert set(result.metrics) == {"naive_d1", "naive_d7", "lgbm_reference", "lgbm_once", "lgbm"}
    naive = min(result.metrics["naive_d1"]["mape"], result.metrics["naive_d7"]["mape"])
    assert result.metrics["lgbm"]["mape"] < naive
    assert 0.5 < result.metrics["lgbm"]["coverage"] <= 1.0
    out = result.as_json()
    assert out["best"] in out["models"] and set(out["models"]["lgbm"]) >= {
        "mape",
        "smape",
        "rmse",
        "pinball",
        "coverage",
    }  # type: ignore[operator]
    assert "actual weather" in str(out["note"])
    assert seen[-1] == 31 + 28  # scored days plus the warm-up


def test_days_with_missing_load_are_not_scored(sample) -> None:  # type: ignore[no-untyped-def]
    load, weather = sample
    values = load.values.copy()
    values[load.index_of(dt.date(2014, 8, 10))] = np.nan
    holed = LoadData(load.days, values, load.series_id)
    result = backtest(holed, weather, dt.date(2014, 8, 5), dt.date(2014, 8, 14), models=["naive_d1", "naive_d7"])
    assert dt.date(2014, 8, 10) not in result.days and len(result.days) == 9


def test_window_without_enough_history_is_refused(sample) -> None:  # type: ignore[no-untyped-def]
    load, weather = sample
    with pytest.raises(InvalidInput, match="at least 35 days"):
        backtest(load, weather, dt.date(2014, 5, 10), dt.date(2014, 5, 20))
    with pytest.raises(InvalidInput, match="unknown model"):
        backtest(load, weather, models=["prophet"])


def test_metrics_on_known_values() -> None:
    actual = np.array([[100.0, 200.0]])
    m = scores(actual, np.array([[90.0, 210.0]]), np.array([[110.0, 180.0]]), actual * 1.1)
    assert m["mape"] == pytest.approx(10.0) and m["rmse"] == pytest.approx(np.sqrt((100 + 400) / 2))
    assert m["coverage"] == 0.5 and m["peak_mape"] == pytest.approx(10.0)
