"""The supervised theft model: leak-free CV, calibration, reasons, saving and loading."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from analytics.anomaly.detector import load_texts
from analytics.anomaly.metrics import auc
from analytics.anomaly.model_store import FEATURE_VERSION, load_model, save_model
from analytics.anomaly.supervised import cross_validate, repeated_cv, train, training_table
from analytics.anomaly.theft_model import GROUPS, ModelParams, explain, fit_model, group_of
from core.errors import DataError, InvalidInput
from core.settings import REPO_ROOT
from tests.analytics.anomaly.sgcc_like import sgcc_like

TEXTS = load_texts(REPO_ROOT / "data")
FAST = ModelParams(trees=100)  # the default's 300 trees rank no differently on this little data


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return sgcc_like(n=240, seed=3)


def test_cross_validation_ranks_and_calibrates(data) -> None:  # type: ignore[no-untyped-def]
    cons, y = data
    result = cross_validate(cons, y, folds=4, params=FAST)
    assert result.auc >= 0.8 and result.map_at_50 >= 0.7
    assert abs(result.oof.mean() - y.mean()) < 0.08  # calibrated: the mean probability is the theft share
    assert result.brier < 0.2 and len(result.fold_auc) == 4


def test_shuffled_labels_cannot_be_learnt(data) -> None:  # type: ignore[no-untyped-def]
    cons, y = data
    shuffled = pd.Series(np.random.default_rng(1).permutation(y.to_numpy()), index=y.index)
    aucs = [r.auc for r in repeated_cv(cons, shuffled, folds=4, seeds=2, params=FAST)]
    assert 0.35 <= float(np.mean(aucs)) <= 0.65  # anything clearly above 0.5 would be leakage


def test_reasons_are_actionable_chinese_texts(data) -> None:  # type: ignore[no-untyped-def]
    cons, y = data
    model = train(cons, y)
    x = training_table(cons)
    prob = model.predict_proba(x)
    reasons = explain(model, x, TEXTS, len(cons.days))
    top = int(np.argmax(prob))
    assert 1 <= len(reasons[top]) <= 3
    assert all(r["code"].startswith("theft_") and "建议" in r["text"] and "{" not in r["text"] for r in reasons[top])
    assert all(f"theft_{g}" in TEXTS for g in GROUPS)
    assert group_of("obs_frac") == "gaps" and group_of("zero_run_max") == "zero_runs"
    assert group_of("pdrop_t") == "drop_vs_peers" and group_of("week_stability") == "shape"


def test_save_and_load(tmp_path: Path, data) -> None:  # type: ignore[no-untyped-def]
    cons, y = data
    model = train(cons, y)
    path = save_model(model, tmp_path / "m" / "theft.joblib", "test labels")
    loaded, note = load_model(path)
    x = training_table(cons)
    assert np.allclose(loaded.predict_proba(x), model.predict_proba(x))
    assert note["source"] == "test labels" and note["feature_version"] == FEATURE_VERSION
    joblib.dump({"feature_version": FEATURE_VERSION - 1, "model": model}, tmp_path / "old.joblib")
    with pytest.raises(DataError, match="retrain"):
        load_model(tmp_path / "old.joblib")
    (tmp_path / "junk.joblib").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="retrain"):
        load_model(tmp_path / "junk.joblib")


def test_training_needs_both_classes(data) -> None:  # type: ignore[no-untyped-def]
    cons, y = data
    x = training_table(cons).iloc[:10]
    with pytest.raises(InvalidInput, match="at least 2 thieves"):
        fit_model(x, np.array([1] + [0] * 9))


def test_the_shipped_model_loads_and_scores() -> None:
    model, note = load_model(REPO_ROOT / "data" / "models" / "theft" / "sgcc_dev.joblib")
    assert "SGCC" in note["source"] and model.meta["customers"] == 190
    cons, y = sgcc_like(n=120, seed=4)
    prob = model.predict_proba(training_table(cons))
    assert prob.min() >= 0 and prob.max() <= 1
    assert auc(y.to_numpy(), prob) > 0.6  # trained on real data, it still ranks data shaped like it
