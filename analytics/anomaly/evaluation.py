"""Evaluating the label-free scores against labels, and summarising repeated runs over fold seeds.

`label_free_cv` scores each held-out fold with the population statistics (peers, the reference the
robust z-scores and the risk use) fitted on the other customers only — the labels choose nothing but
the stratified split — so the number says how the score ranks customers it has never seen, like the
owners' disjoint sample. Repeating it over fold seeds gives the spread.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from analytics.anomaly.contract import Consumption
from analytics.anomaly.detector import Reference, combine, evidence
from analytics.anomaly.metrics import auc, map_at_k
from analytics.anomaly.peers import fit_peers, group_keys
from analytics.anomaly.risk import risk_components, risk_score
from analytics.anomaly.scoring import Meta, feature_table
from analytics.anomaly.supervised import align

SCORES = ("risk", "pattern")  # the label-free risk (risk.py) and the pattern detector's score


def label_free_oof(
    cons: Consumption,
    rows: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    meta: Meta | None = None,
    folds: int = 5,
    seed: int = 0,
    threads: int = 1,
) -> dict[str, npt.NDArray[np.float64]]:
    """Out-of-fold `risk` and `pattern` scores of the labelled rows (population fitted without the fold)."""
    meta = meta or Meta.unknown(cons.n)
    keys = group_keys(meta.areas, meta.categories, cons.n)
    everyone = np.arange(cons.n)
    out = {name: np.zeros(len(rows)) for name in SCORES}
    for _, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, y):
        fit_rows = np.setdiff1d(everyone, rows[te])
        peers = fit_peers(cons.kwh[fit_rows], cons.days, [keys[i] for i in fit_rows])
        frame = feature_table(cons.subset(rows[te]), peers, [keys[i] for i in rows[te]], threads=threads)
        train_frame = feature_table(cons.subset(fit_rows), peers, [keys[i] for i in fit_rows], threads=threads)
        ref = Reference.fit(train_frame)
        out["pattern"][te] = combine(evidence(frame, ref))
        out["risk"][te] = risk_score(risk_components(frame, ref.stats))
    return out


def spread(values: list[float]) -> dict[str, float]:
    """Mean, standard deviation (n − 1), minimum and maximum of repeated measurements."""
    v = np.asarray(values, dtype=np.float64)
    sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return {
        "mean": round(float(v.mean()), 4),
        "sd": round(sd, 4),
        "min": round(float(v.min()), 4),
        "max": round(float(v.max()), 4),
    }


def ranking_metrics(y: npt.ArrayLike, scores: npt.ArrayLike, ks: tuple[int, ...] = (100, 50)) -> dict[str, float]:
    out = {"auc": auc(y, scores)}
    for k in ks:
        out[f"map_at_{k}"] = map_at_k(y, scores, k)
    return out


def over_seeds(per_seed: list[dict[str, float]]) -> dict[str, Any]:
    """{"auc": {"mean", "sd", …}, "map_at_100": {…}, …, "per_seed": [...]} from one dict of metrics per seed."""
    keys = list(per_seed[0]) if per_seed else []
    summary: dict[str, Any] = {k: spread([m[k] for m in per_seed]) for k in keys}
    summary["seeds"] = len(per_seed)
    summary["per_seed"] = [{k: round(v, 4) for k, v in m.items()} for m in per_seed]
    return summary


def label_free_seeds(
    cons: Consumption,
    labels: pd.Series,
    meta: Meta | None = None,
    folds: int = 5,
    seeds: int = 5,
    threads: int = 1,
) -> dict[str, dict[str, Any]]:
    """`label_free_oof` for fold seeds 0 … seeds−1: per score, the metrics' mean and spread."""
    rows, y, _ = align(cons, labels)
    runs = [label_free_oof(cons, rows, y, meta, folds, s, threads) for s in range(seeds)]
    return {name: over_seeds([ranking_metrics(y, r[name]) for r in runs]) for name in SCORES}
