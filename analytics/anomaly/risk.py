"""The label-free theft risk: how far a customer's consumption profile sits in the suspicious tail of its population.

The detector's `score` looks for patterns (a sudden sustained drop, zeros from a day on, a flat line, a
rollback) that injected attacks and meter faults produce. Real theft in the SGCC data rarely looks like
that (`../shared/data/theft/README.md`), so the inspection ranking without labels uses four profile
components, each with a fixed direction and the same weight (nothing here is fitted on labels):

- `gaps`: share of days without a reading (more missing readings among thieves: published for SGCC, and
  20% vs 12% in the development sample);
- `zero_runs`: the longest run of exact zeros (a stopped or bypassed meter; 7+ days in 46% of thieves vs
  29% of normal customers there);
- `variability`: spread of log daily consumption (irregular, non-periodic consumption, Zheng et al. 2018);
- `stake`: the level of consumption (the energy at stake: an inspection of a large consumer recovers more,
  and stealing pays more there).

Each component is a robust z against the population (median and scaled MAD, stored in the detector's
`Reference` so the incremental path reuses them), mapped through the normal CDF to (0, 1); the risk is
their mean. For a customer with risk ≥ `REASON_RISK`, a component ≥ `REASON_SHARE` gives a reason text
(data/anomaly/reasons.yml).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr

# component → (feature, direction: +1 larger is suspicious, -1 smaller is, floor of the robust spread)
RISK: dict[str, tuple[str, int, float]] = {
    "risk_gaps": ("obs_frac", -1, 0.01),
    "risk_zero_runs": ("zero_run_max", 1, 0.003),
    "risk_variability": ("log_std", 1, 0.05),
    "risk_stake": ("log_mean", 1, 0.1),
}
REASON_SHARE = 0.9  # a component in the top tenth of its population gives a reason …
REASON_RISK = 0.7  # … to a customer whose risk is at least this


def fit_risk_stats(frame: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Median and robust spread of each directed risk feature (keys `feature:direction`)."""
    stats: dict[str, tuple[float, float]] = {}
    for feature, direction, floor in RISK.values():
        if feature not in frame:
            continue
        v = direction * frame[feature].to_numpy(dtype=np.float64)
        v = v[np.isfinite(v)]
        if len(v):
            med = float(np.median(v))
            stats[f"{feature}:{direction}"] = (med, float(max(1.4826 * np.median(np.abs(v - med)), floor)))
    return stats


def risk_components(frame: pd.DataFrame, stats: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """(customers, components) in (0, 1): the normal CDF of each directed robust z; NaN when unknown."""
    out = {}
    for name, (feature, direction, _) in RISK.items():
        key = f"{feature}:{direction}"
        if feature in frame and key in stats:
            med, scale = stats[key]
            z = (direction * frame[feature].to_numpy(dtype=np.float64) - med) / scale
            out[name] = ndtr(z)
    return pd.DataFrame(out, index=frame.index)


def risk_score(components: pd.DataFrame) -> npt.NDArray[np.float64]:
    """The mean of the known components (0.5, the population's middle, when none is known)."""
    if components.shape[1] == 0:
        return np.full(len(components), 0.5)
    c = components.to_numpy(dtype=np.float64)
    known = np.isfinite(c)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(known, c, 0).sum(axis=1) / known.sum(axis=1)
    return np.where(known.any(axis=1), mean, 0.5)


RISK_VALUES = {  # the number shown in a component's text: (feature, how, format)
    "risk_gaps": ("obs_frac", "days_missing", "{:.0f}"),
    "risk_zero_runs": ("zero_run_max", "days", "{:.0f}"),
    "risk_variability": ("log_std", "", "{:.2f}"),
    "risk_stake": ("mean", "", "{:.1f}"),
}


def _values(code: str, frame: pd.DataFrame, rows: npt.NDArray[np.int64], days: int) -> list[str]:
    feature, how, fmt = RISK_VALUES[code]
    if feature not in frame:
        return ["?"] * len(rows)
    v = frame[feature].to_numpy(dtype=np.float64)[rows]
    v = (1 - v) * days if how == "days_missing" else (v * days if how == "days" else v)
    return [fmt.format(x) if np.isfinite(x) else "?" for x in v]


def risk_reasons(
    frame: pd.DataFrame, components: pd.DataFrame, risk: npt.NDArray[np.float64], texts: dict[str, str], days: int
) -> list[list[dict[str, Any]]]:
    """For customers with risk ≥ `REASON_RISK`: the components in the top tenth, strongest first.

    Each is {"code", "text", "share"}; lower risks get none (as pattern reasons need evidence ≥ 3).
    """
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(frame))]
    if components.shape[1] == 0:
        return out
    c = np.nan_to_num(components.to_numpy(dtype=np.float64), nan=0.0)
    rows = np.flatnonzero((c.max(axis=1) >= REASON_SHARE) & (risk >= REASON_RISK))
    names = list(components.columns)
    sub = c[rows]
    order = np.argsort(-sub, axis=1)
    values = {code: _values(code, frame, rows, days) for code in names}
    for k, i in enumerate(rows):
        items = []
        for j in order[k]:
            if sub[k, j] < REASON_SHARE:
                break
            code = names[j]
            text = texts[code].format(value=values[code][k])
            items.append({"code": code, "text": text, "share": round(float(sub[k, j]), 3)})
        out[i] = items
    return out
