"""Features for day D, interval i, using only load up to the end of D-1 plus the weather and calendar of D.

Loads are divided by the recent level (mean of the last 7 days' daily means before D), so the trees learn
shapes and relative responses and the forecast follows growth the training years never saw.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.forecast.calendar_features import Calendar, calendar_frame, is_rest
from analytics.forecast.contract import WEATHER_COLUMNS, LoadData, WeatherData

LEVEL_DAYS = 7
DAY_FEATURES = (
    "day_type",
    "prev_type",
    "next_type",
    "dow",
    "doy",
    "adjusted_workday",
    "days_since_holiday",
    "days_to_holiday",
    "holiday_pos",
    "statutory",
    "sf_offset",
)
WEATHER_FEATURES = (*WEATHER_COLUMNS, "tmax_d1", "tmean_d1", "tmax_delta", "tmean_3d", "tmean_vs_7d")
LOAD_DAY_FEATURES = ("mean_d1", "max_d1", "min_d1", "mean_d7", "trend_7", "same_type_mean", "same_kind_mean")
INTERVAL_FEATURES = (
    "tod",
    "lag1",
    "lag2",
    "lag7",
    "lag14",
    "mean7",
    "same_type",
    "same_type_shape",
    "lag1_shape",
    "same_kind",
)


@dataclass
class FeatureSet:
    """`x[d, i, f]` features, `y[d, i]` target (load / level), `level[d]`; rows of `days` (may run past the load)."""

    days: pd.DatetimeIndex
    x: np.ndarray
    y: np.ndarray
    level: np.ndarray
    names: list[str]
    day_type: np.ndarray
    weather: pd.DataFrame

    def rows(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flattened (features, target) of the given day positions."""
        return self.x[positions].reshape(-1, self.x.shape[2]), self.y[positions].reshape(-1)


def _shift(a: np.ndarray, n: int) -> np.ndarray:
    out = np.full_like(a, np.nan, dtype=float)
    if n < len(a):
        out[n:] = a[: len(a) - n]
    return out


def build_features(
    load: LoadData, weather: WeatherData | None, extra_days: int = 1, calendar: Calendar = "cn"
) -> FeatureSet:
    """Features for every load day and `extra_days` after it (whose load is unknown)."""
    with warnings.catch_warnings():  # all-missing days give empty means on purpose: NaN features
        warnings.simplefilter("ignore", RuntimeWarning)
        return _build(load, weather, extra_days, calendar)


def _build(
    load: LoadData,
    weather: WeatherData | None,
    extra_days: int = 1,
    calendar: Calendar = "cn",
) -> FeatureSet:
    days = pd.date_range(load.days[0], load.days[-1] + pd.Timedelta(days=extra_days), freq="D")
    k = load.per_day
    values = np.full((len(days), k), np.nan)
    values[: len(load.days)] = load.values
    complete = ~np.isnan(values).any(axis=1)
    daily_mean = np.where(complete, np.nanmean(np.where(complete[:, None], values, np.nan), axis=1), np.nan)
    prior = pd.Series(daily_mean).shift(1).rolling(LEVEL_DAYS, min_periods=1).mean().ffill().to_numpy()
    level = prior
    own_level = pd.Series(daily_mean).to_numpy()

    cal = calendar_frame(days, calendar)
    types = cal["day_type"].to_numpy()
    rest = is_rest(types)

    wx = weather.on(days) if weather is not None else pd.DataFrame(index=days)
    wx = wx.reindex(columns=list(WEATHER_COLUMNS))
    tmax, tmean = wx["tmax"].to_numpy(dtype=float), wx["tmean"].to_numpy(dtype=float)
    weather_block = np.column_stack(
        [
            wx.to_numpy(dtype=float),
            _shift(tmax, 1),
            _shift(tmean, 1),
            tmax - _shift(tmax, 1),
            pd.Series(tmean).rolling(3, min_periods=1).mean().to_numpy(),
            tmean - pd.Series(tmean).shift(1).rolling(7, min_periods=1).mean().to_numpy(),
        ]
    )

    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = values / level[:, None]
        shape = values / own_level[:, None]
        lag = {n: _shift(values, n) / level[:, None] for n in (1, 2, 7, 14)}
        rolled = np.stack([_shift(values, n) for n in range(1, 8)])
        mean7 = np.nanmean(rolled, axis=0) / level[:, None] if rolled.size else np.full_like(values, np.nan)
        same_pos = _last_same_class(rest, complete)
        safe = np.clip(same_pos, 0, None)
        same = np.where((same_pos >= 0)[:, None], values[safe] / level[:, None], np.nan)
        same_shape = np.where((same_pos >= 0)[:, None], shape[safe], np.nan)
        same_mean = np.where(same_pos >= 0, own_level[safe] / level, np.nan)
        # the latest day of the same kind (holiday day 1 / 2 / 3+, 调休 workday, weekend, workday) relative to
        # the level before it: how deep the last such day dipped, however long ago it was
        kind_pos = _last_same_kind(_kinds(cal), complete)
        kind_safe = np.clip(kind_pos, 0, None)
        found = kind_pos >= 0
        kind = np.where(found[:, None], values[kind_safe] / level[kind_safe][:, None], np.nan)
        kind_mean = np.where(found, own_level[kind_safe] / level[kind_safe], np.nan)
        lag1_shape = _shift(shape, 1)
        load_day = np.column_stack(
            [
                _shift(daily_mean, 1) / level,
                _shift(np.nanmax(np.where(complete[:, None], values, np.nan), axis=1), 1) / level,
                _shift(np.nanmin(np.where(complete[:, None], values, np.nan), axis=1), 1) / level,
                _shift(daily_mean, 7) / level,
                level / _shift(level, 7),
                same_mean,
                kind_mean,
            ]
        )
    n = len(days)
    tod = np.broadcast_to(np.arange(k) / k, (n, k))
    per_interval = np.stack([tod, lag[1], lag[2], lag[7], lag[14], mean7, same, same_shape, lag1_shape, kind], axis=2)
    per_day = np.column_stack([cal[list(DAY_FEATURES)].to_numpy(dtype=float), weather_block, load_day])
    x = np.concatenate([np.broadcast_to(per_day[:, None, :], (n, k, per_day.shape[1])), per_interval], axis=2)
    names = [*DAY_FEATURES, *WEATHER_FEATURES, *LOAD_DAY_FEATURES, *INTERVAL_FEATURES]
    return FeatureSet(days, x.astype(np.float32), ratio, level, names, types, wx)


def _kinds(cal: pd.DataFrame) -> np.ndarray:
    """0 workday, 1 weekend, 2 调休 workday, 3 / 4 first / later statutory festival day, 5 other day off."""
    types = cal["day_type"].to_numpy()
    kinds = np.where(types == 1, 1, 0)
    kinds = np.where(cal["adjusted_workday"].to_numpy() == 1, 2, kinds)
    statutory = cal["statutory"].to_numpy() == 1
    first = statutory & ~np.roll(statutory, 1)
    return np.where(types == 2, np.where(statutory, np.where(first, 3, 4), 5), kinds)


def _last_same_kind(kinds: np.ndarray, complete: np.ndarray) -> np.ndarray:
    out = np.full(kinds.size, -1)
    last: dict[int, int] = {}
    for pos in range(kinds.size):
        out[pos] = last.get(int(kinds[pos]), -1)
        if complete[pos]:
            last[int(kinds[pos])] = pos
    return out


def _last_same_class(rest: np.ndarray, complete: np.ndarray) -> np.ndarray:
    """For each day, the position of the latest earlier complete day of the same class (rest / work), or -1."""
    out = np.full(rest.size, -1)
    last = {True: -1, False: -1}
    for pos in range(rest.size):
        out[pos] = last[bool(rest[pos])]
        if complete[pos]:
            last[bool(rest[pos])] = pos
    return out
