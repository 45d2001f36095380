"""Development customers derived from one region's real 15-minute load (area1 of the 2016 电工杯 data).

The region's series (one row per day, 96 values) is cut into 365-day windows starting at
different offsets (multiples of 7 days, so weekdays line up): each offset is one "area", and
its customers share its days, hence its weather and holidays. A customer is the regional
shape, normalised, times a level drawn from a log-normal (median 8 kWh/day residential,
60 kWh/day commercial), its own smooth intra-day profile (random bumps, shifted by up to an
hour), day-to-day AR(1) noise (σ≈0.25) and 15-minute noise (σ≈0.3), plus a few missing days.
Every customer's window is re-dated to start on the first day of the series.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import DataError

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class DevCustomers:
    ids: npt.NDArray[np.object_]
    areas: npt.NDArray[np.object_]
    categories: npt.NDArray[np.object_]
    days: pd.DatetimeIndex
    intervals: F32  # (customers, days, 96) kWh
    area_offsets: dict[str, int]


def load_region(path: Path) -> tuple[pd.DatetimeIndex, npt.NDArray[np.float64]]:
    """The region's days and (days, 96) load from area1_load.csv (YMD,T0000..T2345)."""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if "YMD" not in frame.columns or frame.shape[1] != 97:
        raise DataError(f"{path}: expected YMD and 96 columns T0000..T2345")
    days = pd.DatetimeIndex(pd.to_datetime(frame["YMD"].astype(str), format="%Y%m%d"))
    values = frame.drop(columns="YMD").to_numpy(dtype=np.float64)
    values = pd.DataFrame(values).ffill(axis=1).bfill(axis=1).to_numpy()
    return days, values


def daily_region(path: Path) -> tuple[pd.DatetimeIndex, npt.NDArray[np.float64]]:
    days, values = load_region(path)
    return days, values.sum(axis=1)


def make_customers(
    region_days: pd.DatetimeIndex,
    region: npt.NDArray[np.float64],
    n: int,
    rng: np.random.Generator,
    days: int = 365,
    areas: int = 6,
    missing_share: float = 0.01,
) -> DevCustomers:
    total = len(region_days)
    if total < days + 7:
        raise DataError(f"the region series has {total} days; {days} + 7 are needed")
    step = max(7, ((total - days) // max(areas - 1, 1)) // 7 * 7)
    offsets = {f"区{k + 1}": min(k * step, (total - days) // 7 * 7) for k in range(areas)}
    names = list(offsets)
    area_of = np.array([names[i % areas] for i in rng.permutation(n)], dtype=object)
    category = np.where(rng.random(n) < 0.85, "residential", "commercial").astype(object)
    shape = region / region.mean()
    slots = shape.shape[1]
    level = np.where(category == "residential", rng.lognormal(np.log(8), 0.6, n), rng.lognormal(np.log(60), 0.7, n))
    hours = np.arange(slots) / slots
    out = np.empty((n, days, slots), dtype=np.float32)
    for i in range(n):
        o = offsets[area_of[i]]
        base = shape[o : o + days]
        bumps = sum(rng.uniform(-0.4, 0.6) * np.exp(-0.5 * ((hours - rng.uniform()) / 0.06) ** 2) for _ in range(3))
        prof = np.roll(np.exp(bumps), int(rng.integers(-4, 5)))
        ar = np.zeros(days)
        eps = rng.normal(0, 0.2, days)
        for j in range(1, days):
            ar[j] = 0.6 * ar[j - 1] + eps[j]
        daily = np.exp(ar - 0.05)
        v = base * prof[None, :] * daily[:, None] * rng.lognormal(-0.045, 0.3, (days, slots))
        out[i] = (v * level[i] / slots).astype(np.float32)
    miss = rng.random((n, days)) < missing_share
    out[miss] = np.nan
    start = region_days[0]
    ids = np.array([f"C{i:06d}" for i in range(n)], dtype=object)
    return DevCustomers(ids, area_of, category, pd.date_range(start, periods=days, freq="D"), out, offsets)


def to_long(ids: npt.ArrayLike, days: pd.DatetimeIndex, daily: F32) -> pd.DataFrame:
    """A (customers, days) matrix as the long CSV contract (missing days are left out)."""
    ids = np.asarray(ids, dtype=object)
    n, d = daily.shape
    frame = pd.DataFrame(
        {
            "customer_id": np.repeat(ids, d),
            "date": np.tile(days.strftime("%Y-%m-%d").to_numpy(), n),
            "kwh": np.round(daily.reshape(-1), 3),
        }
    )
    return frame[frame["kwh"].notna()].reset_index(drop=True)


def make_daily_customers(
    region_days: pd.DatetimeIndex,
    region_daily: npt.NDArray[np.float64],
    n: int,
    rng: np.random.Generator,
    days: int | None = None,
    missing_share: float = 0.02,
    gappy_share: float = 0.25,
) -> tuple[npt.NDArray[np.object_], pd.DatetimeIndex, F32]:
    """Daily-only customers over the whole region series (SGCC-like): level, AR noise, weather
    sensitivity and gaps differ per customer; a quarter of them have long missing stretches."""
    days = days or len(region_days)
    base = region_daily[:days] / region_daily[:days].mean()
    level = rng.lognormal(np.log(8), 0.8, n)
    sens = rng.uniform(0.3, 1.5, n)  # how strongly the customer follows the regional (weather) swing
    eps = rng.normal(0, 1, (n, days)) * rng.uniform(0.1, 0.4, n)[:, None]
    ar = np.zeros((n, days))
    for j in range(1, days):
        ar[:, j] = 0.6 * ar[:, j - 1] + eps[:, j]
    x = level[:, None] * base[None, :] ** sens[:, None] * np.exp(ar)
    x[rng.random((n, days)) < missing_share] = np.nan
    for i in np.flatnonzero(rng.random(n) < gappy_share):
        for _ in range(int(rng.integers(1, 4))):
            a = int(rng.integers(0, days))
            x[i, a : a + int(rng.integers(20, 200))] = np.nan
    ids = np.array([f"D{i:06d}" for i in range(n)], dtype=object)
    return ids, pd.date_range(region_days[0], periods=days, freq="D"), x.astype(np.float32)
