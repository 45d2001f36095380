from __future__ import annotations

import numpy as np

from analytics.forecast.contract import LoadData
from analytics.forecast.features import build_features


def test_features_of_a_day_never_see_that_day_s_load(sample) -> None:  # type: ignore[no-untyped-def]
    load, weather = sample
    base = build_features(load, weather, extra_days=1)
    changed = load.values.copy()
    changed[60] *= 1.5
    other = build_features(LoadData(load.days, changed, load.series_id), weather, extra_days=1)
    np.testing.assert_array_equal(base.x[:61], other.x[:61])  # day 60's own row is unchanged
    assert not np.array_equal(base.x[61], other.x[61])  # the next day sees it
    assert np.isnan(base.y[-1]).all() and np.isfinite(base.x[-1, :, base.names.index("lag1")]).all()


def test_target_is_load_over_the_recent_level(sample) -> None:  # type: ignore[no-untyped-def]
    load, weather = sample
    fs = build_features(load, weather, extra_days=0)
    level = load.values[50:57].mean()
    assert fs.level[57] == np.float64(level) or abs(fs.level[57] - level) < 1e-6
    np.testing.assert_allclose(fs.y[57] * fs.level[57], load.values[57])
    assert fs.x.shape == (len(load.days), 96, len(fs.names))


def test_missing_weather_gives_missing_features_not_an_error(sample) -> None:  # type: ignore[no-untyped-def]
    load, _ = sample
    fs = build_features(load, None)
    assert np.isnan(fs.x[:, :, fs.names.index("tmax")]).all()
