from __future__ import annotations

import numpy as np

from analytics.forecast.calibration import DEFAULT_WIDTH, Calibrator
from analytics.forecast.models import RawForecast


def _coverage(calibrator: Calibrator, raw_for, rng: np.random.Generator, days: int = 200) -> float:  # type: ignore[no-untyped-def]
    inside = []
    for _ in range(days):
        actual = 100 * (1 + rng.normal(0, 0.05, 48))
        raw = raw_for()
        band = calibrator.band(raw)
        inside.append(np.mean((actual >= band.p10) & (actual <= band.p90)))
        calibrator.update(raw, actual)
    return float(np.mean(inside[60:]))


def test_point_forecast_band_reaches_nominal_coverage() -> None:
    rng = np.random.default_rng(0)
    coverage = _coverage(Calibrator(), lambda: RawForecast(np.full(48, 100.0)), rng)
    assert 0.75 <= coverage <= 0.85


def test_too_narrow_quantiles_are_widened_conformally() -> None:
    rng = np.random.default_rng(1)
    raw = lambda: RawForecast(np.full(48, 100.0), np.full(48, 99.0), np.full(48, 101.0))  # noqa: E731
    coverage = _coverage(Calibrator(), raw, rng)
    assert 0.75 <= coverage <= 0.85


def test_default_width_before_any_residual_and_peak_errors() -> None:
    calibrator = Calibrator(window_days=3)
    band = calibrator.band(RawForecast(np.full(4, 100.0)))
    assert band.p10[0] == 100 * (1 - DEFAULT_WIDTH)
    for factor in (1.0, 1.1, 0.9, 1.2):
        calibrator.update(RawForecast(np.full(4, 100.0)), np.full(4, 100.0 * factor))
    np.testing.assert_allclose(calibrator.peak_errors(), [0.1, -0.1, 0.2])
    calibrator.update(RawForecast(np.full(4, 100.0)), np.array([1.0, np.nan, 1.0, 1.0]))
    assert calibrator.days_seen == 3  # days with missing intervals are skipped
