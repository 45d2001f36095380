"""Forecasters: seasonal-naive baselines and LightGBM on the level-normalised features.

Every forecaster answers `predict(pos)`: the forecast for day `pos` of the feature set made with load up
to the end of day pos-1 (and the weather of day pos). Quantile models also return raw P10 / P90, which
`calibration` widens or narrows on recent residuals.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import lightgbm as lgb
import numpy as np

from analytics.forecast.features import DAY_FEATURES, INTERVAL_FEATURES, WEATHER_FEATURES, FeatureSet
from core.errors import InvalidInput

MIN_TRAIN_DAYS = 28
Job = tuple[str, dict[str, Any], tuple[np.ndarray, np.ndarray, np.ndarray], int]  # name, params, data, rounds
# the reference model's features: calendar, weather and plain load lags in load units (no level normalisation)
REFERENCE_FEATURES = (
    *DAY_FEATURES,
    *WEATHER_FEATURES,
    "tod",
    "mean_d1",
    "max_d1",
    "min_d1",
    "mean_d7",
    "lag1",
    "lag2",
    "lag7",
    "lag14",
    "mean7",
)
_LOAD_UNIT = {"mean_d1", "max_d1", "min_d1", "mean_d7", "lag1", "lag2", "lag7", "lag14", "mean7"}


@dataclass
class RawForecast:
    p50: np.ndarray
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None


class Forecaster(Protocol):
    name: str

    def predict(self, pos: int) -> RawForecast: ...


@dataclass
class SeasonalNaive:
    """The load of `lag` days before (falling back one more season when that day is missing)."""

    features: FeatureSet
    values: np.ndarray
    lag: int
    name: str

    def predict(self, pos: int) -> RawForecast:
        for back in range(self.lag, pos + 1, self.lag):
            row = self.values[pos - back]
            if not np.isnan(row).any():
                return RawForecast(row.copy())
        raise InvalidInput(f"no complete day {self.lag} days apart before {self.features.days[pos].date()}")


@dataclass
class LightGBMParams:
    n_estimators: int = 300
    learning_rate: float = 0.08
    num_leaves: int = 31
    min_child_samples: int = 40
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    quantile_estimators: int = 120
    quantile_refit_every: int = 4  # quantile boosters refit every n-th fit (the band is recalibrated daily anyway)
    rows_per_day: int = 48  # intervals sampled per training day (alternating offsets cover them all)
    max_bin: int = 63
    two_stage: bool = True  # average the direct model with daily-mean × intraday-shape models
    workers: int = 2  # boosters trained side by side
    raw_member: bool = True  # also average a member in load units (the reference's formulation, refit weekly)
    max_train_days: int = 1100
    half_life_days: float = 365.0  # recent days weigh more
    threads: int = 1  # OpenMP spinning on a shared 2-core machine makes 2 threads slower than 1
    seed: int = 7


@dataclass
class LightGBMForecaster:
    """Global model over (day, interval) rows predicting load / level; P10 / P90 from quantile boosters.

    `retrain_every` days it refits on everything before the origin (rolling); `once=True` fits a single time
    on the history before the first origin. `normalised=False` is the plain variant — load in load units and
    only calendar, weather and lag features — used as the backtest's reference model.
    """

    features: FeatureSet
    name: str = "lgbm"
    retrain_every: int = 7
    once: bool = False
    quantiles: bool = True
    normalised: bool = True
    params: LightGBMParams = field(default_factory=LightGBMParams)
    fitted_at: int = -1
    fits: int = 0
    _models: dict[str, lgb.Booster] = field(default_factory=dict)

    def needs_fit(self, pos: int) -> bool:
        if not self._models:
            return True
        return not self.once and pos - self.fitted_at >= self.retrain_every

    def fit(self, pos: int) -> None:
        """Fit on the complete days before `pos`."""
        fs = self.features
        start = max(0, pos - self.params.max_train_days)
        days = np.arange(start, pos)
        usable = days[~np.isnan(fs.y[days]).any(axis=1) & np.isfinite(fs.level[days])]
        if usable.size < MIN_TRAIN_DAYS:
            raise InvalidInput(
                f"only {usable.size} complete days before {fs.days[pos].date()}; at least {MIN_TRAIN_DAYS} are needed to train"
            )
        p = self.params
        k = fs.x.shape[1]
        stride = max(1, k // p.rows_per_day)
        picks = [(d, np.arange(d % stride, k, stride)) for d in usable]
        x = np.concatenate([self._design(d, cols) for d, cols in picks])
        y = np.concatenate([fs.y[d, cols] * (1.0 if self.normalised else fs.level[d]) for d, cols in picks])
        age = np.concatenate([np.full(cols.size, pos - d) for d, cols in picks])
        weight = 0.5 ** (age / p.half_life_days)
        base = {
            "learning_rate": p.learning_rate,
            "num_leaves": p.num_leaves,
            "min_data_in_leaf": p.min_child_samples,
            "bagging_fraction": p.subsample,
            "bagging_freq": 1,
            "feature_fraction": p.colsample_bytree,
            "num_threads": p.threads,
            "seed": p.seed,
            "verbose": -1,
            "deterministic": True,
            "force_row_wise": True,
        }
        names = self._names()
        jobs: list[Job] = [("p50", {**base, "objective": "l2"}, (x, y, weight), p.n_estimators)]
        if self.normalised and p.two_stage:
            jobs += self._two_stage_jobs(usable, pos, base, x, y, weight, picks)
        if self.normalised and p.raw_member:
            raw_x = np.concatenate([self._design(d, cols, raw=True) for d, cols in picks])
            raw_y = np.concatenate([fs.y[d, cols] * fs.level[d] for d, cols in picks])
            jobs.append(("raw", {**base, "objective": "l2"}, (raw_x, raw_y, weight), p.n_estimators))
        if self.quantiles and (self.fits % p.quantile_refit_every == 0 or "lo" not in self._models):
            for key, alpha in (("lo", 0.1), ("hi", 0.9)):
                params = {**base, "objective": "quantile", "alpha": alpha, "learning_rate": 0.1}
                jobs.append((key, params, (x, y, weight), p.quantile_estimators))

        def train(job: Job) -> lgb.Booster:
            _, params, (jx, jy, jw), rounds = job
            data = lgb.Dataset(jx, jy, weight=jw, params={"max_bin": p.max_bin})
            if jx.shape[1] == len(names):
                data.feature_name = names
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return lgb.train(params, data, rounds)

        # LightGBM releases the GIL: the boosters train side by side, one thread each
        with ThreadPoolExecutor(max_workers=max(1, p.workers)) as pool:
            for job, booster in zip(jobs, pool.map(train, jobs), strict=True):
                self._models[job[0]] = booster
        self.fitted_at = pos
        self.fits += 1

    def _day_columns(self) -> np.ndarray:
        return np.array([i for i, n in enumerate(self.features.names) if n not in INTERVAL_FEATURES])

    def _two_stage_jobs(
        self,
        usable: np.ndarray,
        pos: int,
        base: dict[str, Any],
        x: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray,
        picks: list[tuple[int, np.ndarray]],
    ) -> list[Job]:
        """A daily-mean model (one row per day) and an intraday-shape model; their product is averaged with p50."""
        fs, p = self.features, self.params
        daily = np.nanmean(fs.y[usable], axis=1)
        day_x = fs.x[usable, 0][:, self._day_columns()].astype(np.float64)
        day_w = 0.5 ** ((pos - usable) / p.half_life_days)
        day_params = {**base, "min_data_in_leaf": 5, "num_leaves": 15, "learning_rate": 0.05, "objective": "l2"}
        means = {int(d): m for d, m in zip(usable, daily, strict=True)}
        shape_y = y / np.concatenate([np.full(cols.size, means[int(d)]) for d, cols in picks])
        return [
            ("shape", {**base, "objective": "l2"}, (x, shape_y, weight), p.n_estimators),
            ("daily", day_params, (day_x, daily, day_w), 400),
        ]

    def predict(self, pos: int) -> RawForecast:
        if self.needs_fit(pos):
            self.fit(pos)
        fs = self.features
        level = fs.level[pos]
        if not np.isfinite(level):
            raise InvalidInput(f"no load in the week before {fs.days[pos].date()}; cannot anchor the forecast")
        x = self._design(pos, np.arange(fs.x.shape[1]))
        scale = level if self.normalised else 1.0
        two_stage = None
        if "daily" in self._models:
            day_x = self.features.x[pos, :1][:, self._day_columns()]
            daily = np.asarray(self._models["daily"].predict(day_x, num_threads=self.params.threads))
            shape = np.asarray(self._models["shape"].predict(x, num_threads=self.params.threads))
            two_stage = daily[0] * shape * level
        out = {
            key: np.asarray(model.predict(x, num_threads=self.params.threads)) * scale
            for key, model in self._models.items()
            if key in ("p50", "lo", "hi")
        }
        members = [out["p50"]]
        if two_stage is not None:
            members.append(two_stage)
        if "raw" in self._models:
            members.append(
                np.asarray(self._models["raw"].predict(self._design(pos, np.arange(fs.x.shape[1]), raw=True)))
            )
        out["p50"] = np.mean(members, axis=0)
        return RawForecast(out["p50"], out.get("lo"), out.get("hi"))

    def _names(self) -> list[str]:
        return list(self.features.names) if self.normalised else list(REFERENCE_FEATURES)

    def _design(self, day: int, cols: np.ndarray, raw: bool = False) -> np.ndarray:
        fs = self.features
        if self.normalised and not raw:
            return fs.x[day, cols]
        index = np.array([fs.names.index(n) for n in REFERENCE_FEATURES])
        x = fs.x[day][np.ix_(cols, index)].astype(np.float64)
        for j, name in enumerate(REFERENCE_FEATURES):
            if name in _LOAD_UNIT:
                x[:, j] *= fs.level[day]
        return x


def baselines(features: FeatureSet, values: np.ndarray) -> list[Forecaster]:
    return [SeasonalNaive(features, values, 1, "naive_d1"), SeasonalNaive(features, values, 7, "naive_d7")]
