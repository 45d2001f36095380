from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from analytics.forecast.engine import ForecastEngine
from analytics.forecast.models import LightGBMParams
from analytics.forecast.risk import load_risk_config
from core.errors import InvalidInput
from core.settings import REPO_ROOT

FAST = LightGBMParams(n_estimators=80, quantile_estimators=40)
CONFIG = load_risk_config(REPO_ROOT / "data")


@pytest.fixture(scope="module")
def engine(request: pytest.FixtureRequest) -> ForecastEngine:
    load, weather = request.getfixturevalue("sample")
    engine = ForecastEngine(load, weather, params=FAST)
    engine.prepare()
    return engine


def test_forecasts_the_day_after_the_load_with_its_weather(engine: ForecastEngine) -> None:
    forecast = engine.forecast()
    assert forecast.day == dt.date(2014, 9, 1) and len(forecast.times) == 96 and forecast.times[1] == "00:15"
    band = forecast.band
    assert (band.p10 <= band.p50).all() and (band.p50 <= band.p90).all()
    assert forecast.weather["tmax"] == pytest.approx(32.5, abs=5) and not forecast.issues
    assert engine.calibrator.days_seen == 28


def test_hotter_scenario_raises_the_peak_and_the_risk(engine: ForecastEngine) -> None:
    base, risk = engine.risk(11000, CONFIG)
    hot, hot_risk = engine.risk(11000, CONFIG, weather_delta=5)
    assert hot.band.p50.max() > base.band.p50.max()
    assert hot_risk.probability >= risk.probability
    keys = [d.key for d in hot_risk.drivers]
    assert keys[:3] == ["temperature_anomaly", "holiday", "trend"] and keys[-1] == "weather_scenario"
    assert all(d.zh for d in hot_risk.drivers)


def test_historic_day_uses_only_the_load_before_it(sample) -> None:  # type: ignore[no-untyped-def]
    load, weather = sample
    engine = ForecastEngine(load, weather, params=FAST)
    assert engine.prepare(dt.date(2014, 8, 5)) == dt.date(2014, 8, 5)
    assert engine.features is not None and np.isnan(engine.features.y[engine.pos]).all()
    with pytest.raises(InvalidInput, match="too early"):
        engine.prepare(dt.date(2014, 5, 20))
    with pytest.raises(InvalidInput, match="at most 7"):
        engine.prepare(dt.date(2014, 10, 1))
    with pytest.raises(InvalidInput, match="capacity"):
        engine.risk(-1, CONFIG)
