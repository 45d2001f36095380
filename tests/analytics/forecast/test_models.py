from __future__ import annotations

import numpy as np
import pytest

from analytics.forecast.features import build_features
from analytics.forecast.models import LightGBMForecaster, LightGBMParams, SeasonalNaive
from core.errors import InvalidInput

FAST = LightGBMParams(n_estimators=60, quantile_estimators=30)


def test_seasonal_naive_repeats_the_season_and_skips_missing_days(sample) -> None:  # type: ignore[no-untyped-def]
    load, weather = sample
    values = load.values.copy()
    fs = build_features(load, weather, extra_days=0)
    np.testing.assert_array_equal(SeasonalNaive(fs, values, 1, "d1").predict(40).p50, values[39])
    values[33] = np.nan
    np.testing.assert_array_equal(SeasonalNaive(fs, values, 7, "d7").predict(40).p50, values[26])


def test_lightgbm_forecast_is_close_and_ordered(sample) -> None:  # type: ignore[no-untyped-def]
    load, weather = sample
    fs = build_features(load, weather, extra_days=0)
    model = LightGBMForecaster(fs, params=FAST)
    raw = model.predict(100)
    mape = np.mean(np.abs(raw.p50 - load.values[100]) / load.values[100])
    assert mape < 0.08
    assert raw.lo is not None and raw.hi is not None and np.mean(raw.lo < raw.hi) > 0.95
    model.predict(101)
    assert model.fits == 1  # weekly refits: the next day reuses the model
    model.predict(107)
    assert model.fits == 2


def test_reference_variant_uses_plain_features(sample) -> None:  # type: ignore[no-untyped-def]
    load, weather = sample
    fs = build_features(load, weather, extra_days=0)
    ref = LightGBMForecaster(fs, "ref", once=True, normalised=False, quantiles=False, params=FAST)
    out = ref.predict(100).p50
    assert out.shape == (96,) and 0.5 < out.mean() / load.values[100].mean() < 1.5
    assert "lag1_shape" not in ref._names() and "lag1" in ref._names()


def test_too_little_history_is_refused(sample) -> None:  # type: ignore[no-untyped-def]
    load, weather = sample
    fs = build_features(load, weather, extra_days=0)
    with pytest.raises(InvalidInput, match="at least 28"):
        LightGBMForecaster(fs, params=FAST).fit(20)
