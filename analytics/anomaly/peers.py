"""Peers: the typical daily level of customers of the same area and category on the same day.

Customers of one area share the weather and the calendar, so dividing a customer's series by
its peers' level removes season, temperature and holidays: what is left is the customer's own
behaviour. A group with fewer than `min_peers` customers falls back to its category, then to
everybody. The reference is plain data (JSON-serialisable) so the incremental path can reuse it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

F32 = npt.NDArray[np.float32]
GLOBAL = "*"


def group_keys(areas: npt.ArrayLike | None, categories: npt.ArrayLike | None, n: int) -> list[tuple[str, ...]]:
    """Candidate peer groups per customer, most specific first: (area|category, category, *)."""
    a = np.asarray(areas, dtype=object) if areas is not None else np.full(n, "", dtype=object)
    c = np.asarray(categories, dtype=object) if categories is not None else np.full(n, "", dtype=object)
    out = []
    for ai, ci in zip(a, c, strict=True):
        keys: list[str] = []
        if ai and ci:
            keys.append(f"{ai}|{ci}")
        if ai:
            keys.append(f"{ai}|")
        if ci:
            keys.append(f"|{ci}")
        keys.append(GLOBAL)
        out.append(tuple(keys))
    return out


def customer_scale(x: F32) -> F32:
    """A customer's typical daily level: the median of its positive readings (NaN if none)."""
    from analytics.anomaly.series import sorted_quantiles

    return sorted_quantiles(np.where(x > 0, x, np.float32(np.nan)).astype(np.float32), (0.5,))[0]


@dataclass
class PeerReference:
    start: pd.Timestamp
    levels: dict[str, F32]  # group → (days,) normalised level (≈ 1 on average)

    def level(self, group: str, days: pd.DatetimeIndex) -> F32:
        """The group's level on `days`; days outside the reference repeat the nearest 28-day mean."""
        series = self.levels.get(group, self.levels[GLOBAL])
        pos = ((days - self.start) // pd.Timedelta(days=1)).to_numpy()
        out = np.empty(len(days), dtype=np.float32)
        inside = (pos >= 0) & (pos < len(series))
        out[inside] = series[pos[inside]]
        if (~inside).any():
            head, tail = np.nanmean(series[:28]), np.nanmean(series[-28:])
            out[~inside] = np.where(pos[~inside] < 0, head, tail)
        return np.where(np.isfinite(out), out, 1.0).astype(np.float32)

    def levels_for(self, keys: list[tuple[str, ...]], days: pd.DatetimeIndex) -> F32:
        """(customers, days) peer level for each customer's most specific known group."""
        chosen = [next(k for k in ks if k in self.levels) for ks in keys]
        cache = {g: self.level(g, days) for g in set(chosen)}
        return np.stack([cache[g] for g in chosen]) if chosen else np.zeros((0, len(days)), dtype=np.float32)

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.date().isoformat(),
            "levels": {
                g: [None if not np.isfinite(v) else round(float(v), 5) for v in s] for g, s in self.levels.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PeerReference:
        levels = {
            g: np.array([np.nan if v is None else v for v in s], dtype=np.float32) for g, s in data["levels"].items()
        }
        return cls(pd.Timestamp(data["start"]), levels)


def fit_peers(
    x: F32,
    days: pd.DatetimeIndex,
    keys: list[tuple[str, ...]],
    min_peers: int = 30,
    max_sample: int = 3000,
    seed: int = 0,
) -> PeerReference:
    """Median normalised level per group and day, from (a sample of) the group's customers."""
    rng = np.random.default_rng(seed)
    members: dict[str, list[int]] = {}
    for i, ks in enumerate(keys):
        for k in ks:
            members.setdefault(k, []).append(i)
    levels: dict[str, F32] = {}
    for group, idx in members.items():
        if len(idx) < min_peers and group != GLOBAL:
            continue
        rows = np.asarray(idx)
        if len(rows) > max_sample:
            rows = np.sort(rng.choice(rows, max_sample, replace=False))
        block = x[rows]
        scale = customer_scale(block)
        usable = np.isfinite(scale) & ((~np.isnan(block)).sum(axis=1) >= 30)
        if usable.sum() < min(min_peers, 3) and group != GLOBAL:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            level = np.nanmedian(block[usable] / scale[usable, None], axis=0) if usable.any() else np.ones(len(days))
            mean = np.nanmean(level)
        levels[group] = (level / mean if np.isfinite(mean) and mean > 0 else level).astype(np.float32)
    if GLOBAL not in levels:
        levels[GLOBAL] = np.ones(len(days), dtype=np.float32)
    return PeerReference(days[0], levels)
