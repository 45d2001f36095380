"""The unsupervised detector: robust z-scores of directional evidence, a risk score, reasons and a kind.

Each reason gathers one or more features with the direction that is suspicious (a drop, more
zeros, a flatter curve…). A feature's z-score is taken against the population's median and a
robust spread (`Reference`, fitted on the customers being scored or on a stored population),
so "unusual" means unusual for customers like these. The score combines the strongest reason
with a share of the others: 1 − exp(−s / 6), in [0, 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.anomaly.risk import RISK, fit_risk_stats
from core.datafiles import read_yaml_mapping
from core.errors import DataError

F32 = npt.NDArray[np.float32]

# reason → [(feature, direction)]: +1 larger is suspicious, -1 smaller is, 0 either way
REASONS: dict[str, list[tuple[str, int]]] = {
    "drop_own_history": [("drop_t", -1), ("drop_logratio", 1)],
    "drop_vs_peers": [("pdrop_t", -1), ("pdrop_logratio", 1)],
    "zeros": [("zero_shift_t", 1), ("zero_run_max", 1)],
    "flat_line": [("flat_run_max", 1), ("pvol_shift_t", -1)],
    "erratic": [("pvol_shift_t", 1)],
    "load_factor": [("lf_shift_t", 0)],
    "night_pattern": [("night_shift_t", 0)],
    "shape_change": [("shape_shift_t", -1)],
    "partial_day_cut": [("cut_shift_t", 1)],
    "flat_within_day": [("wcv_shift_t", -1)],
    "reading_gaps": [("miss_shift_t", 1), ("miss_run_max", 1)],
    "spikes": [("spike_frac", 1), ("max_q90", 1)],
}
FLOORS = {
    "drop_logratio": 0.05,
    "pdrop_logratio": 0.05,
    "max_q90": 0.5,
    "zero_run_max": 0.01,
    "flat_run_max": 0.01,
    "miss_run_max": 0.01,
    "spike_frac": 0.003,
}
INTRADAY_REASONS = {"load_factor", "night_pattern", "shape_change", "partial_day_cut", "flat_within_day"}
FAULT_REASONS = {"flat_line", "reading_gaps", "spikes", "rollback"}
SUSPICIOUS = 0.45
REPORT_Z = 3.0


def _directed(frame: pd.DataFrame, feature: str, direction: int) -> npt.NDArray[np.float64]:
    v = frame[feature].to_numpy(dtype=np.float64)
    return np.abs(v) if direction == 0 else v * direction


@dataclass
class Reference:
    """Median and robust spread of each directed feature in a population."""

    stats: dict[str, tuple[float, float]]

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> Reference:
        stats: dict[str, tuple[float, float]] = {}
        for items in REASONS.values():
            for feature, direction in items:
                if feature not in frame:
                    continue
                v = _directed(frame, feature, direction)
                v = v[np.isfinite(v)]
                if not len(v):
                    continue
                q50 = float(np.median(v))
                mad = np.median(np.abs(v - q50))
                floor = FLOORS.get(feature, 0.5)
                stats[f"{feature}:{direction}"] = (float(q50), float(max(1.4826 * mad, floor)))
        stats.update(fit_risk_stats(frame))
        return cls(stats)

    def to_json(self) -> dict[str, Any]:
        return {k: [round(a, 6), round(b, 6)] for k, (a, b) in self.stats.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reference:
        return cls({k: (float(v[0]), float(v[1])) for k, v in data.items()})


def evidence(frame: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    """(customers, reasons) evidence ≥ 0: the largest robust z of the reason's features, capped at 30."""
    out = {}
    for reason, items in REASONS.items():
        zs = []
        for feature, direction in items:
            key = f"{feature}:{direction}"
            if feature in frame and key in ref.stats:
                med, scale = ref.stats[key]
                zs.append((_directed(frame, feature, direction) - med) / scale)
        if zs:
            out[reason] = np.clip(np.nan_to_num(np.max(np.vstack(zs), axis=0), nan=0.0), 0, 30)
    neg = frame["neg_count"].to_numpy(dtype=np.float64) if "neg_count" in frame else np.zeros(len(frame))
    out["rollback"] = np.where(neg > 0, 10.0 + np.minimum(neg, 20), 0.0)
    return pd.DataFrame(out, index=frame.index)


def combine(ev: pd.DataFrame) -> npt.NDArray[np.float64]:
    e = ev.to_numpy(dtype=np.float64)
    if e.shape[1] == 0:
        return np.zeros(len(ev))
    top = e.max(axis=1)
    s = top + 0.3 * (e.sum(axis=1) - top)
    return 1.0 - np.exp(-s / 6.0)


def kinds(frame: pd.DataFrame, ev: pd.DataFrame, score: npt.NDArray[np.float64]) -> npt.NDArray[np.object_]:
    """Suspected kind per customer from its strongest reasons and the shape of its change."""
    n = len(frame)
    out = np.full(n, "normal", dtype=object)
    top = ev.idxmax(axis=1).to_numpy() if ev.shape[1] else np.full(n, "", dtype=object)

    def col(name: str, default: float = np.nan) -> npt.NDArray[np.float64]:
        return frame[name].to_numpy(dtype=np.float64) if name in frame else np.full(n, default)

    ratio = np.fmin(col("pdrop_ratio", 1.0), col("drop_ratio", 1.0))
    zero_tail, zero_frac, shift_t = col("zero_trailing_days", 0), col("zero_frac", 0), col("shift_t", 0)
    intraday = ev[[c for c in ev.columns if c in INTRADAY_REASONS]].max(axis=1).to_numpy() if n else np.zeros(0)
    if not len(intraday):
        intraday = np.zeros(n)
    strongest = ev.max(axis=1).to_numpy() if ev.shape[1] else np.zeros(n)
    for i in np.flatnonzero((score >= SUSPICIOUS) & (strongest >= REPORT_Z)):
        t = top[i]
        if zero_tail[i] >= 14:
            out[i] = "meter_fault"  # exact zeros up to the last day: a stopped meter (or a full bypass)
        elif t == "flat_line" and ratio[i] < 0.7:
            out[i] = "theft"  # a constant well below the usual level: replaced readings, not a stuck register
        elif t in FAULT_REASONS:
            out[i] = "meter_fault"
        elif (
            t in ("drop_own_history", "drop_vs_peers")
            and ratio[i] < 0.3
            and zero_frac[i] < 0.05
            and (np.nan_to_num(intraday[i]) < REPORT_Z)
        ):
            out[i] = "vacancy"
        elif (
            t in ("drop_own_history", "drop_vs_peers")
            and (ratio[i] >= 0.75 or shift_t[i] > 0)
            and (np.nan_to_num(intraday[i]) < REPORT_Z)
        ):
            out[i] = "legitimate_change"
        else:
            out[i] = "theft"
    return out


def load_texts(data_dir: Path) -> dict[str, str]:
    path = data_dir / "anomaly" / "reasons.yml"
    texts = read_yaml_mapping(path)
    missing = [r for r in [*REASONS, "rollback", "insufficient_history", *RISK] if r not in texts]
    if missing:
        raise DataError(f"{path} lacks texts for {missing}")
    return {str(k): str(v) for k, v in texts.items()}


VALUE_FEATURES = {
    "drop_own_history": ("drop_ratio", "{:.0%}", 1.0, 0.0),
    "drop_vs_peers": ("pdrop_ratio", "{:.0%}", 1.0, 0.0),
    "zeros": ("zero_run_max", "{:.0f}", -1.0, 0.0),
    "flat_line": ("flat_run_max", "{:.0f}", -1.0, 1.0),
    "reading_gaps": ("miss_run_max", "{:.0f}", -1.0, 0.0),
    "rollback": ("neg_count", "{:.0f}", 1.0, 0.0),
}


def _value(reason: str, cols: dict[str, npt.NDArray[np.float64]], i: int, d: int) -> str:
    """The number shown in a reason's text: a ratio, or a count of days (fractions × days, +offset)."""
    if reason not in VALUE_FEATURES or reason_feature(reason) not in cols:
        return ""
    name, fmt, scale, offset = VALUE_FEATURES[reason]
    v = float(cols[name][i])
    v = v * d + offset if scale < 0 else v
    return fmt.format(v) if np.isfinite(v) else "?"


def reason_feature(reason: str) -> str:
    return VALUE_FEATURES[reason][0]


def reasons_for(
    frame: pd.DataFrame, ev: pd.DataFrame, texts: dict[str, str], days: int, limit: int = 4
) -> list[list[dict[str, Any]]]:
    """Per customer, the reasons with evidence ≥ 3 (strongest first): {"code", "text", "evidence"}."""
    e = ev.to_numpy(dtype=np.float64)
    names = list(ev.columns)
    cols = {f: frame[f].to_numpy(dtype=np.float64) for f, *_ in VALUE_FEATURES.values() if f in frame}
    obs = frame["obs_frac"].to_numpy() * days if "obs_frac" in frame else np.full(len(frame), days)
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(frame))]
    short = [{"code": "insufficient_history", "text": texts["insufficient_history"], "evidence": 0.0}]
    for i in np.flatnonzero(obs < 2):
        out[i] = list(short)
    for i in np.flatnonzero((e.max(axis=1) >= REPORT_Z) & (obs >= 2)) if e.shape[1] else []:
        items = []
        for j in np.argsort(-e[i])[:limit]:
            if e[i, j] < REPORT_Z:
                break
            code = names[j]
            text = texts[code].format(value=_value(code, cols, int(i), days))
            items.append({"code": code, "text": text, "evidence": round(float(e[i, j]), 2)})
        out[i] = items
    return out
