"""Small SGCC-like daily data for fast tests: thieves differ from normal customers the way real ones do.

Real thieves in the SGCC sample (../shared/data/theft/README.md) miss more readings, have more long zero
runs, a more irregular and larger consumption — with a wide overlap, and no sudden sustained drop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.anomaly.contract import Consumption, from_matrix


def sgcc_like(n: int = 240, days: int = 365, theft_share: float = 0.35, seed: int = 0) -> tuple[Consumption, pd.Series]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < theft_share).astype(int)
    t = np.arange(days)
    season = 1 + 0.25 * np.cos(2 * np.pi * (t - 200) / 365)
    weekly = np.where(t % 7 >= 5, 1.1, 1.0)
    level = rng.lognormal(np.log(4) + 0.5 * y, 0.6)
    sigma = np.where(y == 1, rng.uniform(0.3, 0.8, n), rng.uniform(0.15, 0.5, n))
    x = level[:, None] * season * weekly * np.exp(sigma[:, None] * rng.standard_normal((n, days)))
    for i in range(n):
        gap_share = rng.uniform(0.05, 0.35) if y[i] else rng.uniform(0.0, 0.2)
        start = int(rng.integers(0, days // 3))
        if rng.random() < gap_share * 2:  # a late start: the meter read only from some day on
            x[i, :start] = np.nan
        holes = rng.random(days) < gap_share / 3
        x[i, holes] = np.nan
        if rng.random() < (0.45 if y[i] else 0.25):  # a run of exact zeros
            z0 = int(rng.integers(0, days - 30))
            x[i, z0 : z0 + int(rng.integers(7, 30))] = 0.0
    ids = [f"C{i:05d}" for i in range(n)]
    return from_matrix(ids, "2015-01-01", x.astype(np.float32)), pd.Series(y, index=ids, name="label")
