"""The issue-21 variant comparison (`benchmarks/theft_variants.py`): its learners fit inside the folds.

Fast checks on SGCC-like synthetic data: the candidate features are finite where they should be, and
every learner ranks real labels above chance and shuffled labels at chance (nothing leaks from the
test fold: imputation, quantile transform, scaling, selection and C are fitted on the training fold).
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from analytics.anomaly.contract import Consumption
from analytics.anomaly.metrics import auc
from analytics.anomaly.supervised import own_features
from core.settings import REPO_ROOT
from tests.analytics.anomaly.sgcc_like import sgcc_like

Data = tuple[Consumption, pd.Series, pd.DataFrame]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("theft_variants", REPO_ROOT / "benchmarks" / "theft_variants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _load()


@pytest.fixture(scope="module")
def data() -> Data:
    cons, y = sgcc_like(n=200, seed=3)
    return cons, y, own_features(cons)


def test_new_features_are_one_row_per_customer(bench: ModuleType, data: Data) -> None:
    cons, _, _ = data
    new = bench.new_features(cons)
    assert list(new.index) == list(cons.customers.astype(str))
    assert {"lvl_q1", "lvl_q_absmax", "low_half", "gini", "after_gap_max", "log_abs_std"} <= set(new.columns)
    assert np.isfinite(new["gini"]).all() and new["gini"].between(0, 1).all()


@pytest.mark.parametrize("which", ["domain", "selected", "monotone"])
def test_learners_rank_real_labels_and_not_shuffled_ones(bench: ModuleType, data: Data, which: str) -> None:
    cons, y, own = data
    learner = {
        "domain": bench.logistic(bench.DOMAIN, 0.03),
        "selected": bench.selected_logistic(8, 0.1),
        "monotone": bench.monotone_boosting(bench.DOMAIN),
    }[which]
    real = bench.oof(learner, {0: bench.folds(cons, y, own, 0)}, None)[0]
    shuffled_y = pd.Series(np.random.default_rng(1).permutation(y.to_numpy()), index=y.index)
    shuffled = bench.oof(learner, {0: bench.folds(cons, shuffled_y, own, 0)}, None)[0]
    assert auc(*real) >= 0.65
    assert 0.35 <= auc(*shuffled) <= 0.65
