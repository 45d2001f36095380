"""Risk that the day's peak exceeds a capacity: probability, level, drivers, extreme-weather flags.

The peak's predictive distribution is the P50 peak times (1 + e) for the relative peak errors e of the
recent out-of-sample forecasts, smoothed with a Gaussian kernel (a normal with a 4% spread before any
error is known). Levels are thresholds on that probability, read from data/forecast/risk.yml.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.datafiles import read_yaml_mapping
from core.errors import DataError

DEFAULT_SPREAD = 0.04


@dataclass(frozen=True)
class RiskConfig:
    levels: list[dict[str, Any]]
    drivers: dict[str, str]
    day_types: dict[str, str]
    extreme: dict[str, float]
    reasons: dict[str, str]  # alert reasons' wording
    alert_kinds: dict[str, str]  # extreme_heat → 极端高温

    def day_ahead_reason(self, alerts: list[str]) -> str:
        reason = self.reasons["day_ahead"]
        if alerts:
            names = "、".join(self.alert_kinds.get(a, a) for a in alerts)
            reason += "；" + self.reasons["extreme"].format(alerts=names)
        return reason

    def measured_reason(self, seen: int, total: int, correction: float) -> str:
        return self.reasons["measured"].format(seen=seen, total=total, correction=f"{correction:+.1%}")

    def level(self, probability: float) -> tuple[str, str]:
        for row in self.levels:
            if probability >= float(row["min_probability"]):
                return str(row["level"]), str(row["zh"])
        last = self.levels[-1]
        return str(last["level"]), str(last["zh"])


def load_risk_config(data_dir: Path) -> RiskConfig:
    path = data_dir / "forecast" / "risk.yml"
    raw = read_yaml_mapping(path)
    try:
        levels = sorted(raw["levels"], key=lambda r: -float(r["min_probability"]))
        config = RiskConfig(
            levels,
            dict(raw["drivers"]),
            {str(k): v for k, v in raw["day_types"].items()},
            raw["extreme"],
            {str(k): str(v) for k, v in raw["reasons"].items()},
            {str(k): str(v) for k, v in raw["alert_kinds"].items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}; restore it from git") from exc
    if not levels or float(levels[-1]["min_probability"]) != 0.0:
        raise DataError(f"{path}: the lowest level must have min_probability 0")
    return config


@dataclass
class Driver:
    key: str
    zh: str
    value: float
    unit: str
    effect_pct: float | None = None  # the driver's effect on the forecast peak, in % (model-based where known)
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "zh": self.zh, "value": round(self.value, 2), "unit": self.unit}
        if self.effect_pct is not None:
            out["effect_pct"] = round(self.effect_pct, 2)
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class Risk:
    capacity: float
    peak_p10: float
    peak_p50: float
    peak_p90: float
    probability: float
    level: str
    level_zh: str
    drivers: list[Driver] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "peak": {"p10": round(self.peak_p10, 1), "p50": round(self.peak_p50, 1), "p90": round(self.peak_p90, 1)},
            "probability": round(self.probability, 4),
            "level": self.level,
            "level_zh": self.level_zh,
            "drivers": [d.as_json() for d in self.drivers],
            "alerts": self.alerts,
        }


def peak_distribution(peak_p50: float, errors: np.ndarray) -> tuple[np.ndarray, float]:
    """Samples of the relative peak error and the kernel bandwidth (relative)."""
    errors = errors[np.isfinite(errors)]
    if errors.size < 5:
        return np.zeros(1), DEFAULT_SPREAD
    spread = float(np.std(errors))
    bandwidth = max(1.06 * spread * errors.size ** (-0.2), 0.005)
    return errors, bandwidth


def exceedance(peak_p50: float, errors: np.ndarray, capacity: float, observed_max: float = 0.0) -> float:
    """P(peak > capacity); 1 when an observed interval already exceeded it."""
    if observed_max > capacity:
        return 1.0
    samples, bandwidth = peak_distribution(peak_p50, errors)
    centres = peak_p50 * (1 + samples)
    z = (capacity - centres) / max(peak_p50 * bandwidth, 1e-9)
    return float(np.mean([0.5 * math.erfc(v / math.sqrt(2)) for v in z]))


def peak_quantiles(peak_p50: float, errors: np.ndarray) -> tuple[float, float, float]:
    samples, bandwidth = peak_distribution(peak_p50, errors)
    rng = np.random.default_rng(0)
    draws = peak_p50 * (1 + rng.choice(samples, 4000) + rng.normal(0, bandwidth, 4000))
    p10, p50, p90 = np.quantile(draws, [0.1, 0.5, 0.9])
    return float(p10), float(p50), float(p90)


def assess(
    config: RiskConfig,
    peak_p50: float,
    errors: np.ndarray,
    capacity: float,
    drivers: list[Driver],
    observed_max: float = 0.0,
    alerts: list[str] | None = None,
) -> Risk:
    probability = exceedance(peak_p50, errors, capacity, observed_max)
    level, level_zh = config.level(probability)
    p10, p50, p90 = peak_quantiles(peak_p50, errors)
    return Risk(
        capacity,
        p10,
        max(p50, observed_max),
        max(p90, observed_max),
        probability,
        level,
        level_zh,
        drivers,
        alerts or [],
    )


def extreme_weather(config: RiskConfig, tmax: float, tmin: float, anomaly: float) -> list[str]:
    """Names of the extreme-weather conditions met (empty when the weather is unremarkable or unknown)."""
    out = []
    if np.isfinite(tmax) and tmax >= config.extreme["hot_tmax"]:
        out.append("extreme_heat")
    if np.isfinite(tmin) and tmin <= config.extreme["cold_tmin"]:
        out.append("extreme_cold")
    if np.isfinite(anomaly) and abs(anomaly) >= config.extreme["anomaly"]:
        out.append("temperature_swing")
    return out
