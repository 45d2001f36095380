from __future__ import annotations

import numpy as np

from analytics.forecast.features import build_features
from analytics.forecast.neural import MLPForecaster


def test_mlp_learns_the_sample_and_warm_starts(sample) -> None:  # type: ignore[no-untyped-def]
    load, weather = sample
    fs = build_features(load, weather, extra_days=0)
    model = MLPForecaster(fs, first_epochs=8, update_epochs=1)
    out = model.predict(100).p50
    mape = np.mean(np.abs(out - load.values[100]) / load.values[100])
    assert out.shape == (96,) and mape < 0.15
    model.predict(107)
    assert model.fits == 2
