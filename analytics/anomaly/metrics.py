"""Ranking metrics for theft detection: AUC, MAP@k (as in the SGCC literature), precision@k."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score


def auc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    y, s = np.asarray(labels), np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, s))


def _ranked(labels: npt.ArrayLike, scores: npt.ArrayLike) -> npt.NDArray[np.int64]:
    y, s = np.asarray(labels), np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    order = np.argsort(-s, kind="stable")
    return y[order].astype(np.int64)


def map_at_k(labels: npt.ArrayLike, scores: npt.ArrayLike, k: int = 100) -> float:
    """Mean of precision@i over the positions i ≤ k that hold a theft (0 if none in the top k)."""
    ranked = _ranked(labels, scores)[:k]
    hits = np.flatnonzero(ranked == 1)
    if not len(hits):
        return 0.0
    return float(np.mean((np.arange(len(hits)) + 1) / (hits + 1)))


def precision_at_k(labels: npt.ArrayLike, scores: npt.ArrayLike, k: int) -> float:
    ranked = _ranked(labels, scores)[:k]
    return float(ranked.mean()) if len(ranked) else float("nan")


def report(labels: npt.ArrayLike, scores: npt.ArrayLike, ks: tuple[int, ...] = (100, 200, 500)) -> dict[str, float]:
    out = {"auc": round(auc(labels, scores), 4), "map_at_100": round(map_at_k(labels, scores, 100), 4)}
    for k in ks:
        out[f"precision_at_{k}"] = round(precision_at_k(labels, scores, k), 4)
    out["customers"] = int(len(np.asarray(labels)))
    out["positives"] = int(np.asarray(labels).sum())
    return out
