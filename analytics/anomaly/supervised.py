"""The supervised model: LightGBM on the robust features, the missing mask and calendar blocks.

Features are of three kinds: per-customer ones (levels, zeros, gaps, changes, intra-day shape;
they use no other customer), weekly and 30-day blocks counted back from the last day (relative
to the customer's median, with their missing share), and peer-relative ones plus the
unsupervised score. The last need a population: in cross-validation they are fitted on the
training fold only (and unlabelled customers, which carry no label), so no test customer's data
shapes its own features. Early stopping uses a slice of the training fold, never the test fold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from analytics.anomaly.contract import Consumption
from analytics.anomaly.detector import Reference, combine, evidence
from analytics.anomaly.features import block_features, daily_features, intraday_features, peer_features, to_frame
from analytics.anomaly.metrics import auc, map_at_k, precision_at_k
from analytics.anomaly.peers import fit_peers, group_keys
from analytics.anomaly.scoring import Meta
from core.errors import InvalidInput

PARAMS: dict[str, Any] = {
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


@dataclass
class CVResult:
    auc: float
    map_at_100: float
    precision_at_100: float
    fold_auc: list[float]
    oof: pd.Series  # out-of-fold theft probability per labelled customer
    customers: int
    positives: int
    unmatched_labels: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "auc": round(self.auc, 4),
            "map_at_100": round(self.map_at_100, 4),
            "precision_at_100": round(self.precision_at_100, 4),
            "fold_auc": [round(a, 4) for a in self.fold_auc],
            "customers": self.customers,
            "positives": self.positives,
            "unmatched_labels": self.unmatched_labels,
        }


def own_features(cons: Consumption) -> pd.DataFrame:
    """Features that depend on the customer alone (computed once, shared by every fold)."""
    feats = daily_features(cons.kwh, cons.days, None, cons.negatives.astype(np.float32))
    if cons.intervals is not None:
        feats.update(intraday_features(cons.intervals))
    feats.update(block_features(cons.kwh))
    return to_frame(feats, cons.customers.astype(str))


def population_features(
    cons: Consumption, own: pd.DataFrame, keys: list[tuple[str, ...]], fit_rows: npt.NDArray[np.int64]
) -> pd.DataFrame:
    """Peer-relative features and the unsupervised score, with peers and reference fitted on `fit_rows`."""
    peers = fit_peers(cons.kwh[fit_rows], cons.days, [keys[i] for i in fit_rows])
    level = peers.levels_for(keys, cons.days)
    pf = peer_features(cons.kwh, level, own["median"].to_numpy(), own["mean"].to_numpy())
    scale = np.nan_to_num(own["median"].to_numpy()) + 0.01
    with np.errstate(all="ignore"):
        from analytics.anomaly.series import block_means

        pm, _ = block_means(cons.kwh / (level * scale[:, None]), 30, min(40, len(cons.days) // 30))
    for j in range(pm.shape[1]):
        pf[f"m{j}_peer"] = pm[:, j]
    frame = to_frame(pf, cons.customers.astype(str))
    both = pd.concat([own, frame], axis=1)
    ref = Reference.fit(both.iloc[fit_rows])
    ev = evidence(both, ref)
    frame["unsupervised_score"] = combine(ev).astype(np.float32)
    for col in ev.columns:
        frame[f"ev_{col}"] = ev[col].to_numpy(dtype=np.float32)
    return frame


def _fit(x: pd.DataFrame, y: npt.NDArray[np.int64], seed: int, threads: int) -> lgb.LGBMClassifier:
    params = {**PARAMS, "random_state": seed, "n_jobs": threads}
    strat = y if np.bincount(y).min() >= 2 else None
    xt, xv, yt, yv = train_test_split(x, y, test_size=0.15, stratify=strat, random_state=seed)
    model = lgb.LGBMClassifier(**params)
    model.fit(xt, yt, eval_X=(xv,), eval_y=(yv,), eval_metric="auc", callbacks=[lgb.early_stopping(100, verbose=False)])
    return model


def align(cons: Consumption, labels: pd.Series) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int]:
    """Rows of `cons` that have a label, their labels, and how many labels matched no customer."""
    ids = pd.Index(cons.customers.astype(str))
    pos = ids.get_indexer(labels.index.astype(str))
    matched = pos >= 0
    return pos[matched].astype(np.int64), labels.to_numpy()[matched].astype(np.int64), int((~matched).sum())


def cross_validate(
    cons: Consumption, labels: pd.Series, meta: Meta | None = None, folds: int = 5, seed: int = 0, threads: int = 1
) -> CVResult:
    """Stratified k-fold CV of the supervised model; metrics on the pooled out-of-fold predictions."""
    rows, y, unmatched = align(cons, labels)
    if len(rows) < folds * 2 or min(int(y.sum()), int(len(y) - y.sum())) < folds:
        raise InvalidInput(
            f"cross-validation needs at least {folds} thieves and {folds} normal customers with readings; "
            f"got {int(y.sum())} and {int(len(y) - y.sum())} ({unmatched} labels matched no customer)"
        )
    meta = meta or Meta.unknown(cons.n)
    keys = group_keys(meta.areas, meta.categories, cons.n)
    own = own_features(cons)
    unlabelled = np.setdiff1d(np.arange(cons.n), rows)
    oof = np.zeros(len(rows))
    fold_auc = []
    for k, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, y)):
        fit_rows = np.concatenate([rows[tr], unlabelled])
        pop = population_features(cons, own, keys, fit_rows)
        x = pd.concat([own, pop], axis=1)
        model = _fit(x.iloc[rows[tr]], y[tr], seed + k, threads)
        oof[te] = np.asarray(model.predict_proba(x.iloc[rows[te]]))[:, 1]
        fold_auc.append(auc(y[te], oof[te]))
    return CVResult(
        auc=auc(y, oof),
        map_at_100=map_at_k(y, oof, 100),
        precision_at_100=precision_at_k(y, oof, 100),
        fold_auc=fold_auc,
        oof=pd.Series(oof, index=cons.customers[rows].astype(str), name="theft_probability"),
        customers=len(rows),
        positives=int(y.sum()),
        unmatched_labels=unmatched,
    )


def fit_predict(
    cons: Consumption, labels: pd.Series, meta: Meta | None = None, seed: int = 0, threads: int = 1
) -> pd.Series:
    """Train on every labelled customer and give each customer a theft probability.

    Labelled customers get their out-of-fold probability (5-fold) so that their own label never
    scores them; unlabelled customers get the average of the fold models.
    """
    rows, y, _ = align(cons, labels)
    meta = meta or Meta.unknown(cons.n)
    keys = group_keys(meta.areas, meta.categories, cons.n)
    own = own_features(cons)
    pop = population_features(cons, own, keys, np.arange(cons.n))
    x = pd.concat([own, pop], axis=1)
    prob = np.zeros(cons.n)
    folds = max(2, min(5, int(y.sum()), int(len(y) - y.sum())))
    unlabelled = np.setdiff1d(np.arange(cons.n), rows)
    for k, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, y)):
        model = _fit(x.iloc[rows[tr]], y[tr], seed + k, threads)
        prob[rows[te]] = np.asarray(model.predict_proba(x.iloc[rows[te]]))[:, 1]
        if len(unlabelled):
            prob[unlabelled] += np.asarray(model.predict_proba(x.iloc[unlabelled]))[:, 1] / folds
    return pd.Series(prob, index=cons.customers.astype(str), name="theft_probability")
