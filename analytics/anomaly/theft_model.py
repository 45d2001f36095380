"""The supervised theft model learnt from inspection results: trees, boosting, the label-free risk, calibration.

Two learners with fixed, conventional settings: extremely randomised trees (`ModelParams`), which rank
best with a few hundred labelled customers (an inspection campaign, the SGCC development sample), and
LightGBM (`BOOSTING`, early-stopped), which wins with thousands. Their average and the label-free risk
(`risk.py`, the prior that needs no labels) are blended with shares chosen among a handful of
candidates on inner held-out folds of the training data — never on the data being predicted — and the
chosen blend is calibrated (Platt) on the same held-out predictions, so the output is a probability of
theft among customers like the labelled ones.

Each customer gets reasons: the groups of features (missing readings, zero runs, variability, level,
drop against its own history, departure from its peers, the pattern detector) where it sits furthest on
the thieves' side of the normal training customers, weighted by the learners' importance; texts in
data/anomaly/reasons.yml (`theft_*`).
"""

from __future__ import annotations

import fnmatch
import warnings
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split

from analytics.anomaly.metrics import auc
from core.errors import InvalidInput

Matrix = npt.NDArray[np.float32]

GROUPS: dict[str, tuple[str, ...]] = {  # reason group → feature name patterns (first match wins)
    "gaps": ("obs_frac", "miss_*", "m*_miss", "w*_miss", "risk_gaps"),
    "zero_runs": ("zero_*", "near_zero_frac", "risk_zero_runs", "ev_zeros"),
    "drop_vs_peers": ("pdrop_*", "pshift_t", "pratio_*", "m*_peer", "season_*_peer", "peer_*", "p_std", "pvol_*"),
    "variability": (
        *("log_std", "std", "cv", "mad", "iqr_*", "roughness", "*_diff*", "month_change", "q9?_q50", "q05_q50"),
        *("log_skew", "log_kurt", "skew_proxy", "vol_shift_t", "ac1", "log_ac1", "risk_variability"),
    ),
    "drop_own_history": ("drop_*", "shift_*", "ratio_last*", "slope_rel", "half_change", "month_drop_max", "*_rel"),
    "stake": ("mean", "median", "log_mean", "log_median", "q90", "q10", "max", "m*_log", "risk_stake", "risk"),
    "pattern": ("ev_*", "unsupervised_score", "spike_frac", "neg_count", "flat_*", "max_q90", "max_med"),
    "shape": ("*",),  # weekly and seasonal shape and their stability
}
VALUE_OF = {  # group → (feature shown, how: days | days_missing | ratio | kwh)
    "gaps": ("obs_frac", "days_missing"),
    "zero_runs": ("zero_run_max", "days"),
    "drop_own_history": ("drop_ratio", "ratio"),
    "drop_vs_peers": ("pdrop_ratio", "ratio"),
    "stake": ("mean", "kwh"),
    "variability": ("log_std", "number"),
    "pattern": ("unsupervised_score", "number"),
    "shape": ("week_stability", "number"),
}


def group_of(feature: str) -> str:
    return next(g for g, pats in GROUPS.items() if any(fnmatch.fnmatchcase(feature, p) for p in pats))


BOOSTING: dict[str, Any] = {  # LightGBM, early-stopped on a slice of the rows it is given
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 31,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.4,
    "reg_lambda": 1.0,
    "n_estimators": 1500,
    "verbose": -1,
    "force_col_wise": True,
}


@dataclass(frozen=True)
class ModelParams:
    """Fixed, conventional settings; the blend is chosen among a few candidates on inner held-out folds."""

    trees: int = 300
    min_leaf: int = 3
    max_features: float = 0.3
    calibration_folds: int = 4
    boosting_shares: tuple[float, ...] = (0.0, 0.5, 1.0)  # LightGBM's share of the learners' average
    risk_weights: tuple[float, ...] = (0.5, 0.25, 0.0)  # the label-free risk's share of the blend


@dataclass
class TheftModel:
    """A fitted model: learners, the chosen blend, calibration, the columns it expects, what reasons need."""

    columns: list[str]
    forest: ExtraTreesClassifier | None
    boosting: lgb.LGBMClassifier | None
    boosting_share: float
    risk_weight: float
    calibration: LogisticRegression
    normal_quantiles: dict[str, list[float]]  # feature → [q10, q50, q90] of the normal training customers
    direction: dict[str, int]  # feature → +1 when thieves sit above normal customers, −1 below
    importance: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)  # customers, positives, inner AUC, source…

    def raw(self, x: pd.DataFrame) -> npt.NDArray[np.float64]:
        m = _matrix(x, self.columns)
        trees = np.asarray(self.forest.predict_proba(m))[:, 1] if self.forest is not None else 0.0
        boost = np.asarray(self.boosting.predict_proba(m))[:, 1] if self.boosting is not None else 0.0
        learnt = (1 - self.boosting_share) * trees + self.boosting_share * boost
        return _blend(np.broadcast_to(learnt, (len(x),)).astype(np.float64), x, self.risk_weight)

    def predict_proba(self, x: pd.DataFrame) -> npt.NDArray[np.float64]:
        return np.asarray(self.calibration.predict_proba(self.raw(x)[:, None]))[:, 1]


def _matrix(x: pd.DataFrame, columns: list[str]) -> npt.NDArray[np.float32]:
    m = x.reindex(columns=columns).to_numpy(dtype=np.float32)
    return np.nan_to_num(m, nan=-1e6, posinf=1e6, neginf=-1e6)  # trees split missing values off to one side


def _blend(learnt: npt.NDArray[np.float64], x: pd.DataFrame, weight: float) -> npt.NDArray[np.float64]:
    if "risk" not in x or weight == 0:
        return learnt
    risk = np.nan_to_num(x["risk"].to_numpy(dtype=np.float64), nan=0.5)
    return (1 - weight) * learnt + weight * risk


def _forest(params: ModelParams, m: Matrix, y: npt.NDArray[np.int64], seed: int, threads: int) -> ExtraTreesClassifier:
    forest = ExtraTreesClassifier(
        n_estimators=params.trees,
        min_samples_leaf=params.min_leaf,
        max_features=params.max_features,
        n_jobs=threads,
        random_state=seed,
    )
    return forest.fit(m, y)


def _boosting(m: Matrix, y: npt.NDArray[np.int64], seed: int, threads: int) -> lgb.LGBMClassifier:
    strat = y if np.bincount(y).min() >= 2 else None
    mt, mv, yt, yv = train_test_split(m, y, test_size=0.15, stratify=strat, random_state=seed)
    model = lgb.LGBMClassifier(**{**BOOSTING, "random_state": seed, "n_jobs": threads})
    stop = lgb.early_stopping(100, verbose=False)
    model.fit(mt, yt, eval_X=(mv,), eval_y=(yv,), eval_metric="auc", callbacks=[stop])
    return model


def _choose(
    trees: npt.NDArray[np.float64],
    boost: npt.NDArray[np.float64],
    x: pd.DataFrame,
    y: npt.NDArray[np.int64],
    p: ModelParams,
) -> tuple[float, float, float]:
    """The (boosting share, risk weight) whose blend of the inner held-out predictions ranks best, and its AUC."""
    best = (p.boosting_shares[0], p.risk_weights[0], -1.0)
    for share in p.boosting_shares:
        for weight in p.risk_weights:
            score = auc(y, _blend((1 - share) * trees + share * boost, x, weight))
            if score > best[2] + 1e-9:
                best = (share, weight, score)
    return best


def fit_model(
    x: pd.DataFrame, y: npt.NDArray[np.int64], params: ModelParams | None = None, seed: int = 0, threads: int = 1
) -> TheftModel:
    """Choose the blend and calibrate it on inner held-out folds, then fit the chosen learners on every row."""
    params = params or ModelParams()
    y = np.asarray(y, dtype=np.int64)
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    folds = min(params.calibration_folds, pos, neg)
    if folds < 2:
        raise InvalidInput(
            f"training needs at least 2 thieves and 2 normal customers with readings; got {pos} and {neg}. "
            "Record more inspection findings (`powerdesk anomaly inspect`) or pass --labels"
        )
    columns = list(x.columns)
    m = _matrix(x, columns)
    trees, boost = np.zeros(len(y)), np.zeros(len(y))
    use_boosting = any(s > 0 for s in params.boosting_shares)
    for k, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(m, y)):
        trees[te] = np.asarray(_forest(params, m[tr], y[tr], seed + 1000 + k, threads).predict_proba(m[te]))[:, 1]
        if use_boosting:
            boost[te] = np.asarray(_boosting(m[tr], y[tr], seed + 2000 + k, threads).predict_proba(m[te]))[:, 1]
    share, weight, inner_auc = _choose(trees, boost, x, y, params)
    raw = _blend((1 - share) * trees + share * boost, x, weight)
    calibration = LogisticRegression(C=100.0).fit(raw[:, None], y)
    forest = _forest(params, m, y, seed, threads) if share < 1 else None
    boosting = _boosting(m, y, seed, threads) if share > 0 else None
    quantiles, direction = _sides(x, y)
    gains = np.zeros(len(columns))
    if forest is not None:
        gains += (1 - share) * forest.feature_importances_
    if boosting is not None:
        split = boosting.booster_.feature_importance("gain")
        gains += share * split / max(float(split.sum()), 1e-12)
    importance = dict(zip(columns, (float(v) for v in gains), strict=True))
    meta = {"customers": len(y), "positives": pos, "inner_auc": round(inner_auc, 4)}
    meta |= {"boosting_share": share, "risk_weight": weight}
    return TheftModel(columns, forest, boosting, share, weight, calibration, quantiles, direction, importance, meta)


def _sides(x: pd.DataFrame, y: npt.NDArray[np.int64]) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Per feature: the normal customers' 10/50/90% quantiles and on which side of their median thieves sit."""
    quantiles: dict[str, list[float]] = {}
    direction: dict[str, int] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (no intra-day data) give NaN
        for c in x.columns:
            normal = x[c].to_numpy(np.float64)[y == 0]
            quantiles[c] = [float(v) for v in np.nanquantile(normal, [0.1, 0.5, 0.9])]
            thief = float(np.nanmedian(x[c].to_numpy(np.float64)[y == 1]))
            direction[c] = 1 if not thief < quantiles[c][1] else -1
    return quantiles, direction


def explain(
    model: TheftModel, x: pd.DataFrame, texts: dict[str, str], days: int, limit: int = 3
) -> list[list[dict[str, Any]]]:
    """Per customer, up to `limit` reason groups where it sits beyond the normal customers' 90% (thief side)."""
    weights: dict[str, float] = {}
    scores = np.zeros((len(x), len(GROUPS)))
    names = list(GROUPS)
    for c in model.columns:
        if c not in x or model.importance.get(c, 0.0) <= 0:
            continue
        q10, q50, q90 = model.normal_quantiles[c]
        spread = max(q90 - q10, 1e-9)
        v = x[c].to_numpy(dtype=np.float64)
        beyond = (v - q90) / spread if model.direction[c] > 0 else (q10 - v) / spread
        g = names.index(group_of(c))
        scores[:, g] += model.importance[c] * np.clip(np.nan_to_num(beyond, nan=0.0) + 1e-3, 0, 3)
        weights[c] = model.importance[c]
    out: list[list[dict[str, Any]]] = []
    for i in range(len(x)):
        items = []
        for g in np.argsort(-scores[i])[:limit]:
            if scores[i, g] <= 1e-3 * sum(weights.values()):
                break
            code = names[g]
            items.append(
                {"code": f"theft_{code}", "text": texts[f"theft_{code}"].format(value=_value(code, x, i, days))}
            )
        out.append(items)
    return out


def _value(group: str, x: pd.DataFrame, i: int, days: int) -> str:
    feature, how = VALUE_OF[group]
    if feature not in x:
        return "?"
    v = float(x[feature].iloc[i])
    if not np.isfinite(v):
        return "?"
    if how == "days_missing":
        return f"{(1 - v) * days:.0f}"
    if how == "days":
        return f"{v * days:.0f}"
    if how == "ratio":
        return f"{v:.0%}"
    return f"{v:.1f}" if how == "kwh" else f"{v:.2f}"
