"""Regional alerts: an area's consumption departing from what season, calendar and weather explain.

Per area, the log of the mean daily kWh per reporting customer (so that missing meters do not
look like a drop) is regressed on yearly harmonics, the Chinese calendar's day type (调休
included, via analytics.calendar), cooling and heating degrees when a daily temperature is
given, and a trend, fitted on the days before the recent window with one pass of outlier
trimming. Recent days whose residual is beyond `z` robust standard deviations, `min_run` days
in a row, make one alert episode per area and direction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.calendar import DayType, day_types

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RegionalAlert:
    area: str
    direction: str  # "low" or "high"
    start: dt.date
    end: dt.date
    z: float  # the largest |residual| in robust standard deviations
    observed: float  # mean kWh per customer-day over the episode
    expected: float

    @property
    def dedup_key(self) -> str:
        return f"area:{self.area}:{self.direction}:{self.start.isoformat()}"


def area_means(kwh: npt.NDArray[np.float32], areas: npt.ArrayLike, days: pd.DatetimeIndex) -> pd.DataFrame:
    """(days, areas) mean daily kWh per reporting customer."""
    areas = np.asarray(areas, dtype=object)
    out = {}
    for area in sorted(set(areas.tolist()) - {""}):
        block = kwh[areas == area]
        cnt = (~np.isnan(block)).sum(axis=0)
        with np.errstate(all="ignore"):
            out[area] = np.where(cnt >= 3, np.nansum(block, axis=0) / np.maximum(cnt, 1), np.nan)
    return pd.DataFrame(out, index=days)


def design(days: pd.DatetimeIndex, temperature: pd.Series | None) -> F64:
    doy = days.dayofyear.to_numpy() / 365.25
    kinds = np.array(day_types([d.date() for d in days]))
    cols = [np.ones(len(days)), np.arange(len(days)) / 365.0]
    for k in (1, 2):
        cols += [np.sin(2 * np.pi * k * doy), np.cos(2 * np.pi * k * doy)]
    cols += [(kinds == DayType.WEEKEND).astype(float), (kinds == DayType.HOLIDAY).astype(float)]
    if temperature is not None:
        t = temperature.reindex(days).interpolate(limit_direction="both").to_numpy(dtype=float)
        cols += [np.maximum(t - 24.0, 0.0), np.maximum(16.0 - t, 0.0)]
    return np.column_stack(cols)


def _fit(x: F64, y: F64, ridge: float = 1e-3) -> F64:
    ok = np.isfinite(y)
    a, b = x[ok], y[ok]
    beta = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ b)
    resid = b - a @ beta
    sigma = 1.4826 * np.median(np.abs(resid - np.median(resid))) + 1e-9
    keep = np.abs(resid) < 3 * sigma
    a, b = a[keep], b[keep]
    return np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ b)


def detect(
    means: pd.DataFrame,
    temperature: pd.Series | None = None,
    recent: int = 14,
    z: float = 3.5,
    min_run: int = 2,
    min_train: int = 90,
) -> list[RegionalAlert]:
    days = pd.DatetimeIndex(means.index)
    if len(days) < min_train + recent:
        return []
    x = design(days, temperature)
    alerts: list[RegionalAlert] = []
    for area in means.columns:
        y = np.log(np.maximum(means[area].to_numpy(dtype=float), 1e-6))
        y[~np.isfinite(means[area].to_numpy(dtype=float))] = np.nan
        train = slice(0, len(days) - recent)
        if np.isfinite(y[train]).sum() < min_train:
            continue
        beta = _fit(x[train], y[train])
        fitted = x @ beta
        resid = y - fitted
        r_train = resid[train][np.isfinite(resid[train])]
        sigma = 1.4826 * np.median(np.abs(r_train - np.median(r_train))) + 1e-9
        zs = resid / sigma
        tail = zs[-recent:]
        for direction, flag in (("low", tail < -z), ("high", tail > z)):
            j = 0
            while j < recent:
                if not flag[j]:
                    j += 1
                    continue
                k = j
                while k < recent and flag[k]:
                    k += 1
                if k - j >= min_run:
                    idx = np.arange(len(days) - recent + j, len(days) - recent + k)
                    alerts.append(
                        RegionalAlert(
                            area=str(area),
                            direction=direction,
                            start=days[idx[0]].date(),
                            end=days[idx[-1]].date(),
                            z=round(float(np.max(np.abs(zs[idx]))), 2),
                            observed=round(float(np.nanmean(np.exp(y[idx]))), 3),
                            expected=round(float(np.mean(np.exp(fitted[idx]))), 3),
                        )
                    )
                j = k
    return alerts
