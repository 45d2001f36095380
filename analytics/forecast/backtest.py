"""Rolling-origin backtest: one forecast per day D with load up to the end of D-1 and the weather of D.

The actual weather of D stands in for a weather forecast (the output says so). Each model's band is
calibrated on its own out-of-sample residuals of the preceding days; a warm-up of `warmup_days` before
the first scored day fills that window and is not scored.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.forecast.calendar_features import Calendar, event_factors
from analytics.forecast.calibration import Band, Calibrator
from analytics.forecast.contract import Event, LoadData, WeatherData
from analytics.forecast.features import FeatureSet, build_features
from analytics.forecast.metrics import scores
from analytics.forecast.models import Forecaster, LightGBMForecaster, LightGBMParams, RawForecast, baselines
from core.errors import InvalidInput

WEATHER_NOTE = "actual weather of each day D stands in for a day-ahead weather forecast (an optimistic assumption)"
REFERENCE = "lgbm_reference"  # plain LightGBM (calendar, weather, lags) trained once before the scored period
ONCE = "lgbm_once"  # the default model's features, trained once: shows what rolling retraining adds
DEFAULT_MODEL = "lgbm"


@dataclass
class ModelResult:
    name: str
    p10: list[np.ndarray] = field(default_factory=list)
    p50: list[np.ndarray] = field(default_factory=list)
    p90: list[np.ndarray] = field(default_factory=list)

    def add(self, band: Band) -> None:
        self.p10.append(band.p10)
        self.p50.append(band.p50)
        self.p90.append(band.p90)


@dataclass
class BacktestResult:
    days: list[dt.date]
    actual: np.ndarray
    models: dict[str, ModelResult]
    metrics: dict[str, dict[str, float]]
    seconds: float
    fits: int
    note: str = WEATHER_NOTE
    issues: list[str] = field(default_factory=list)

    @property
    def best(self) -> str:
        return min(self.metrics, key=lambda name: self.metrics[name]["mape"])

    def as_json(self) -> dict[str, object]:
        return {
            "models": {name: {k: round(v, 4) for k, v in m.items()} for name, m in self.metrics.items()},
            "best": self.best,
            "days": len(self.days),
            "from": str(self.days[0]),
            "to": str(self.days[-1]),
            "seconds": round(self.seconds, 2),
            "note": self.note,
            "data_issues": self.issues,
        }


def make_models(
    features: FeatureSet, values: np.ndarray, names: list[str] | None, retrain_every: int, params: LightGBMParams
) -> list[Forecaster]:
    available: dict[str, Forecaster] = {m.name: m for m in baselines(features, values)}
    available[REFERENCE] = LightGBMForecaster(features, REFERENCE, once=True, normalised=False, params=params)
    available[ONCE] = LightGBMForecaster(features, ONCE, once=True, params=params)
    available[DEFAULT_MODEL] = LightGBMForecaster(features, DEFAULT_MODEL, retrain_every=retrain_every, params=params)
    if names and "mlp" in names:  # the torch contender: only when asked for (it is slower and not better)
        from analytics.forecast.neural import MLPForecaster

        available["mlp"] = MLPForecaster(features, retrain_every=retrain_every)
    chosen = names or list(available)
    unknown = [n for n in chosen if n not in available]
    if unknown:
        raise InvalidInput(f"unknown model(s) {unknown}; choose from {list(available)}")
    return [available[n] for n in chosen]


def backtest(
    load: LoadData,
    weather: WeatherData | None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    models: list[str] | None = None,
    retrain_every: int = 7,
    warmup_days: int = 28,
    calendar: Calendar = "cn",
    events: list[Event] | None = None,
    params: LightGBMParams | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Score every model on the complete days in [start, end] (default: the last 365 days of the load)."""
    t0 = time.perf_counter()
    features = build_features(load, weather, extra_days=0, calendar=calendar)
    values = load.values
    last = load.days[-1].date()
    end = min(end or last, last)
    if start is None:  # a year, or as much as the history allows
        start = max((pd.Timestamp(end) - pd.Timedelta(days=364)).date(), load.days[0].date() + dt.timedelta(days=35))
    first_pos = int(np.searchsorted(load.days, pd.Timestamp(start)))
    end_pos = int(np.searchsorted(load.days, pd.Timestamp(end), side="right"))
    if first_pos < 35 or first_pos >= end_pos:
        raise InvalidInput(
            f"backtest window {start}…{end} needs at least 35 days of load before it; the load covers "
            f"{load.days[0].date()}…{last}. Choose a later --from."
        )
    warm_pos = max(first_pos - warmup_days, 30)
    chosen = make_models(features, values, models, retrain_every, params or LightGBMParams())
    factors = event_factors(features.days, events)
    calibrators = {m.name: Calibrator() for m in chosen}
    results = {m.name: ModelResult(m.name) for m in chosen}
    for model in chosen:  # the reference is trained once, on the history before the scored period
        if isinstance(model, LightGBMForecaster) and model.once:
            model.fit(first_pos)
    scored_days: list[dt.date] = []
    actual_rows: list[np.ndarray] = []
    total = end_pos - warm_pos
    for step, pos in enumerate(range(warm_pos, end_pos)):
        actual = values[pos]
        scored = pos >= first_pos and not np.isnan(actual).any()
        for model in chosen:
            raw = model.predict(pos)
            if model.name not in ("naive_d1", "naive_d7") and factors[pos] != 1.0:
                raw = _scale(raw, factors[pos])
            if scored:
                results[model.name].add(calibrators[model.name].band(raw))
            calibrators[model.name].update(raw, actual)
        if scored:
            scored_days.append(load.days[pos].date())
            actual_rows.append(actual)
        if progress:
            progress(step + 1, total)
    if not scored_days:
        raise InvalidInput(f"no complete day of load between {start} and {end} to score")
    actual_all = np.array(actual_rows)
    metrics = {
        name: scores(actual_all, np.array(r.p10), np.array(r.p50), np.array(r.p90)) for name, r in results.items()
    }
    fits = sum(int(getattr(m, "fits", 0)) for m in chosen)
    issues = list(load.issues) + (
        list(weather.issues) if weather else ["no weather file: temperature features missing"]
    )
    return BacktestResult(scored_days, actual_all, results, metrics, time.perf_counter() - t0, fits, issues=issues)


def _scale(raw: RawForecast, factor: float) -> RawForecast:
    return RawForecast(
        raw.p50 * factor,
        None if raw.lo is None else raw.lo * factor,
        None if raw.hi is None else raw.hi * factor,
    )
