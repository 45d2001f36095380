from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analytics.forecast.risk import assess, exceedance, extreme_weather, load_risk_config
from core.errors import DataError
from core.settings import REPO_ROOT

CONFIG = load_risk_config(REPO_ROOT / "data")


def test_levels_follow_the_documented_thresholds() -> None:
    assert [CONFIG.level(p)[0] for p in (0.0, 0.049, 0.05, 0.19, 0.2, 0.49, 0.5, 1.0)] == [
        "blue",
        "blue",
        "yellow",
        "yellow",
        "orange",
        "orange",
        "red",
        "red",
    ]
    assert CONFIG.level(0.6)[1].startswith("红色")


def test_probability_falls_with_capacity_and_is_certain_once_exceeded() -> None:
    errors = np.random.default_rng(0).normal(0, 0.03, 56)
    probabilities = [exceedance(1000.0, errors, c) for c in (900, 980, 1000, 1020, 1100)]
    assert probabilities == sorted(probabilities, reverse=True)
    assert probabilities[0] > 0.99 and probabilities[-1] < 0.01 and 0.3 < probabilities[2] < 0.7
    assert exceedance(1000.0, errors, 1100, observed_max=1150) == 1.0


def test_without_recent_errors_a_default_spread_is_used() -> None:
    assert 0.1 < exceedance(1000.0, np.array([]), 1030) < 0.3


def test_assess_reports_peak_quantiles_in_order() -> None:
    risk = assess(CONFIG, 1000.0, np.random.default_rng(1).normal(0, 0.03, 56), 1050, [])
    assert risk.peak_p10 < risk.peak_p50 < risk.peak_p90
    out = risk.as_json()
    assert out["level"] in ("blue", "yellow") and set(out) >= {"probability", "level", "level_zh", "drivers", "peak"}


def test_extreme_weather_flags() -> None:
    assert extreme_weather(CONFIG, 36.0, 25.0, 1.0) == ["extreme_heat"]
    assert extreme_weather(CONFIG, 2.0, -8.0, -7.0) == ["extreme_cold", "temperature_swing"]
    assert extreme_weather(CONFIG, float("nan"), float("nan"), float("nan")) == []


def test_broken_risk_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "forecast").mkdir()
    (tmp_path / "forecast" / "risk.yml").write_text(
        "levels: [{level: red, min_probability: 0.5, zh: x}]\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match="risk.yml"):
        load_risk_config(tmp_path)
