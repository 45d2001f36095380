"""Forecast one day ahead with a calibrated band, its risk and drivers, and weather scenarios.

`ForecastEngine.prepare(day)` fits the default model on the load before `day` and calibrates its band on
the out-of-sample residuals of a model fitted `calibration_days` earlier (two fits: a few seconds);
after that `forecast()` and `risk()` take milliseconds.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.forecast.calendar_features import Calendar, event_factors
from analytics.forecast.calibration import Band, Calibrator
from analytics.forecast.contract import Event, LoadData, WeatherData
from analytics.forecast.features import FeatureSet, build_features
from analytics.forecast.models import LightGBMForecaster, LightGBMParams, RawForecast
from analytics.forecast.risk import Driver, Risk, RiskConfig, assess, extreme_weather
from core.errors import InvalidInput

TEMPERATURES = ("tmax", "tmin", "tmean")
_NEUTRAL_DAY = {
    "day_type": 0,
    "prev_type": 0,
    "next_type": 0,
    "adjusted_workday": 0,
    "holiday_pos": 0,
    "days_since_holiday": 10,
    "days_to_holiday": 10,
}


@dataclass
class DayForecast:
    day: dt.date
    times: list[str]
    band: Band
    peak_errors: np.ndarray
    weather: dict[str, float]
    weather_delta: float = 0.0
    model: str = "lgbm"
    issues: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "date": str(self.day),
            "model": self.model,
            "weather_delta": self.weather_delta,
            "weather": {k: (None if not np.isfinite(v) else round(v, 1)) for k, v in self.weather.items()},
            "intervals": [
                {"time": t, "p10": round(float(a), 1), "p50": round(float(b), 1), "p90": round(float(c), 1)}
                for t, a, b, c in zip(self.times, self.band.p10, self.band.p50, self.band.p90, strict=True)
            ],
        }


@dataclass
class ForecastEngine:
    load: LoadData
    weather: WeatherData | None
    calendar: Calendar = "cn"
    events: list[Event] | None = None
    params: LightGBMParams = field(default_factory=LightGBMParams)
    calibration_days: int = 28
    features: FeatureSet | None = None
    pos: int = -1
    model: LightGBMForecaster | None = None
    calibrator: Calibrator = field(default_factory=Calibrator)
    fit_seconds: float = 0.0

    def prepare(self, day: dt.date | None = None) -> dt.date:
        """Fit for `day` (default: the day after the last load day) using only load before it."""
        t0 = time.perf_counter()
        last = self.load.days[-1].date()
        day = day or last + dt.timedelta(days=1)
        if day <= self.load.days[0].date() + dt.timedelta(days=35):
            raise InvalidInput(f"{day} is too early: at least 35 days of load before the forecast day are needed")
        if day > last + dt.timedelta(days=7):
            raise InvalidInput(
                f"the load ends on {last}; forecasting {day} would be {(day - last).days} days ahead (at most 7)"
            )
        keep = self.load.days < pd.Timestamp(day)
        history = LoadData(self.load.days[keep], self.load.values[keep], self.load.series_id, self.load.issues)
        extra = (day - history.days[-1].date()).days
        self.features = build_features(history, self.weather, extra_days=extra, calendar=self.calendar)
        self.pos = len(self.features.days) - 1
        calibration = LightGBMForecaster(self.features, "calibration", once=True, params=self.params)
        start = max(self.pos - self.calibration_days, 36)
        self.model = LightGBMForecaster(self.features, "lgbm", once=True, params=self.params)
        with ThreadPoolExecutor(max_workers=2) as pool:  # the two fits only read the features: side by side
            fits = [pool.submit(calibration.fit, start), pool.submit(self.model.fit, self.pos)]
            for future in fits:
                future.result()
        self.calibrator = Calibrator()
        for pos in range(start, min(self.pos, len(history.days))):
            self.calibrator.update(calibration.predict(pos), history.values[pos])
        self.fit_seconds = time.perf_counter() - t0
        return day

    @property
    def day(self) -> dt.date:
        if self.features is None:
            raise InvalidInput("call prepare() first")
        return self.features.days[self.pos].date()

    def _raw(self, x: np.ndarray) -> RawForecast:
        assert self.model is not None and self.features is not None
        saved = self.features.x[self.pos].copy()
        try:
            self.features.x[self.pos] = x
            raw = self.model.predict(self.pos)
        finally:
            self.features.x[self.pos] = saved
        factor = event_factors(self.features.days[self.pos : self.pos + 1], self.events)[0]
        if factor != 1.0:
            raw = RawForecast(
                raw.p50 * factor,
                None if raw.lo is None else raw.lo * factor,
                None if raw.hi is None else raw.hi * factor,
            )
        return raw

    def _shifted(self, deltas: dict[str, float] | float) -> np.ndarray:
        """Features of the forecast day with its temperatures shifted (°C), per column or all alike."""
        assert self.features is not None
        fs = self.features
        d = deltas if isinstance(deltas, dict) else dict.fromkeys(TEMPERATURES, float(deltas))
        x = fs.x[self.pos].copy()
        col = {n: i for i, n in enumerate(fs.names)}
        for name in TEMPERATURES:
            x[:, col[name]] += d.get(name, 0.0)
        x[:, col["tmax_delta"]] += d.get("tmax", 0.0)
        x[:, col["tmean_3d"]] += d.get("tmean", 0.0) / 3
        x[:, col["tmean_vs_7d"]] += d.get("tmean", 0.0)
        return x

    def forecast(self, weather_delta: float = 0.0) -> DayForecast:
        if self.features is None:
            self.prepare()
        assert self.features is not None
        raw = self._raw(self._shifted(weather_delta))
        band = self.calibrator.band(raw)
        wx = self.features.weather.iloc[self.pos]
        weather = {k: float(wx.get(k, np.nan)) + (weather_delta if k in TEMPERATURES else 0.0) for k in TEMPERATURES}
        issues = (
            [] if np.isfinite(weather["tmax"]) else [f"no weather for {self.day}: forecast without it (less accurate)"]
        )
        return DayForecast(
            self.day,
            _times(self.features.x.shape[1]),
            band,
            self.calibrator.peak_errors(),
            weather,
            weather_delta,
            issues=issues,
        )

    def drivers(self, base: DayForecast, weather_delta: float = 0.0) -> tuple[list[Driver], float]:
        """Temperature anomaly, day type / holiday and trend, each with its effect on the peak; and the anomaly."""
        assert self.features is not None
        fs, pos = self.features, self.pos
        col = {n: i for i, n in enumerate(fs.names)}
        peak = float(base.band.p50.max())
        recent = fs.weather.iloc[max(0, pos - 14) : pos]
        normal = {k: float(recent[k].mean()) for k in TEMPERATURES} if len(recent) else {}
        drivers: list[Driver] = []
        anomaly = base.weather["tmax"] - normal.get("tmax", np.nan)
        if np.isfinite(anomaly):
            back = {
                k: normal[k] - base.weather[k] + weather_delta
                for k in TEMPERATURES
                if np.isfinite(normal.get(k, np.nan))
            }
            at_normal = float(self._raw(self._shifted(back)).p50.max())
            drivers.append(
                Driver(
                    "temperature_anomaly",
                    "",
                    anomaly,
                    "°C",
                    (peak / at_normal - 1) * 100,
                    f"tmax {base.weather['tmax']:.1f} °C vs {normal['tmax']:.1f} °C",
                )
            )
        x = self._shifted(weather_delta)
        for name, value in _NEUTRAL_DAY.items():
            x[:, col[name]] = value
        as_workday = float(self._raw(x).p50.max())
        day_type = int(fs.x[pos, 0, col["day_type"]])
        adjusted = bool(fs.x[pos, 0, col["adjusted_workday"]])
        drivers.append(
            Driver(
                "holiday",
                "",
                day_type,
                "day_type",
                (peak / as_workday - 1) * 100,
                "adjusted_workday" if adjusted else str(day_type),
            )
        )
        level = fs.level
        if pos >= 28 and np.isfinite(level[pos - 28]) and level[pos - 28] > 0:
            trend = (level[pos] / level[pos - 28] - 1) * 100
            drivers.append(Driver("trend", "", trend, "%", trend))
        return drivers, float(anomaly)

    def risk(self, capacity: float, config: RiskConfig, weather_delta: float = 0.0) -> tuple[DayForecast, Risk]:
        if capacity <= 0 or not np.isfinite(capacity):
            raise InvalidInput(f"--capacity must be a positive number in the load's unit; got {capacity}")
        base = self.forecast(weather_delta)
        drivers, anomaly = self.drivers(base, weather_delta)
        if weather_delta:
            plain = float(self.forecast(0.0).band.p50.max())
            drivers.append(
                Driver("weather_scenario", "", weather_delta, "°C", (float(base.band.p50.max()) / plain - 1) * 100)
            )
        for driver in drivers:
            driver.zh = config.drivers.get(driver.key, driver.key)
            if driver.key == "holiday":
                driver.detail = config.day_types.get(driver.detail, driver.detail)
        alerts = extreme_weather(config, base.weather["tmax"], base.weather["tmin"], anomaly)
        return base, assess(config, float(base.band.p50.max()), base.peak_errors, capacity, drivers, alerts=alerts)


def _times(per_day: int) -> list[str]:
    step = 1440 // per_day
    return [f"{(i * step) // 60:02d}:{(i * step) % 60:02d}" for i in range(per_day)]
