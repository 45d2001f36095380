"""Synthetic consumption with realistic shape: daily and weekly cycles, temperature, holidays.

All arrays are (customers, days) for daily energy or (customers, days, 96) for 15-minute
energy, in kWh. The regional hourly shape, the temperature response and the rest-day and
holiday ratios come from calibration.yml (derived from real regional load).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analytics.calendar import DayType
from demo.config import DemoConfig

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
SEASON_OF_MONTH = {
    12: "winter",
    1: "winter",
    2: "winter",
    3: "spring",
    4: "spring",
    5: "spring",
    6: "summer",
    7: "summer",
    8: "summer",
    9: "autumn",
    10: "autumn",
    11: "autumn",
}


@dataclass(frozen=True)
class DayContext:
    days: list[dt.date]
    day_types: npt.NDArray[np.int8]
    temperature: F64  # daily mean °C

    @property
    def rest(self) -> npt.NDArray[np.bool_]:
        return self.day_types != DayType.WORKDAY

    @property
    def holiday(self) -> npt.NDArray[np.bool_]:
        return self.day_types == DayType.HOLIDAY


def synthetic_temperature(config: DemoConfig, rng: np.random.Generator) -> F64:
    """Daily mean temperature: the calibrated monthly climate plus AR(1) weather anomalies."""
    means = config.calibration["climate_monthly_mean_c"]
    stds = config.calibration["climate_monthly_std_c"]
    days = config.days
    # interpolate the monthly climate to each day (mid-month anchors) for a smooth seasonal cycle
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    anchors = np.array([15 + 30.4 * i for i in range(12)])
    clim = np.interp(doy, np.concatenate([anchors - 365, anchors, anchors + 365]), means * 3)
    sd = np.array([stds[d.month - 1] for d in days])
    anomaly = np.zeros(len(days))
    shocks = rng.normal(0, 1, len(days))
    for i in range(1, len(days)):
        anomaly[i] = 0.75 * anomaly[i - 1] + np.sqrt(1 - 0.75**2) * shocks[i]
    return clim + anomaly * sd


def temperature_factor(temp: F64, sensitivity: F64, config: DemoConfig) -> F64:
    """(customers, days) multiplier from cooling and heating degrees, scaled per customer."""
    t = config.calibration["temperature"]
    cool = np.maximum(0.0, temp - t["cooling_base_c"]) * t["cooling_slope_per_c"]
    heat = np.maximum(0.0, t["heating_base_c"] - temp) * max(t["heating_slope_per_c"], 0.02)
    return 1.0 + sensitivity[:, None] * (cool + heat)[None, :]


def _hourly_to_quarter(hourly: F64, rng: np.random.Generator, noise: float) -> F64:
    """(…, 24) relative shape → (…, 96), with a little 15-minute noise."""
    quarter = np.repeat(hourly, 4, axis=-1)
    return quarter * rng.lognormal(0.0, noise, size=quarter.shape)


def regional_shape(config: DemoConfig, ctx: DayContext) -> F64:
    """(days, 24) calibrated regional hourly shape for each day's season and day type."""
    shapes = config.calibration["hourly_shape"]
    return np.array(
        [
            shapes[SEASON_OF_MONTH[d.month]]["restday" if r else "workday"]
            for d, r in zip(ctx.days, ctx.rest, strict=True)
        ]
    )


def daily_series(
    base: F64,
    ctx: DayContext,
    sensitivity: F64,
    rest_factor: F64,
    holiday_factor: F64,
    growth: F64,
    noise: float,
    config: DemoConfig,
    rng: np.random.Generator,
) -> F64:
    """(customers, days) daily kWh with temperature, rest-day, holiday, trend and AR noise."""
    n, d = len(base), len(ctx.days)
    level = base[:, None] * temperature_factor(ctx.temperature, sensitivity, config)
    level *= np.where(ctx.rest[None, :], rest_factor[:, None], 1.0)
    level *= np.where(ctx.holiday[None, :], holiday_factor[:, None], 1.0)
    level *= 1.0 + growth[:, None] * np.arange(d)[None, :] / 365.0
    eps = rng.normal(0, noise, size=(n, d))
    ar = np.zeros_like(eps)
    for i in range(1, d):
        ar[:, i] = 0.5 * ar[:, i - 1] + eps[:, i]
    return np.maximum(level * np.exp(ar - noise**2), 0.0)


def spread_over_day(daily: F64, shapes: F64, rng: np.random.Generator, noise: float = 0.08) -> F32:
    """Distribute (customers, days) kWh over (customers, days, 96) with per-day shapes (…, 24)."""
    quarter = _hourly_to_quarter(shapes, rng, noise)
    quarter /= quarter.sum(axis=-1, keepdims=True)
    return (daily[..., None] * quarter).astype(np.float32)


def month_days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]
