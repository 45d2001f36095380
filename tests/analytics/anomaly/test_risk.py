"""The label-free theft risk: directional, population-relative, with reasons an inspector can act on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.anomaly.contract import from_matrix
from analytics.anomaly.detector import Reference, load_texts
from analytics.anomaly.evaluation import label_free_seeds
from analytics.anomaly.metrics import auc
from analytics.anomaly.realtime import Window, rescore
from analytics.anomaly.risk import REASON_RISK, RISK, risk_components, risk_reasons, risk_score
from analytics.anomaly.scoring import score_consumption
from core.settings import REPO_ROOT
from tests.analytics.anomaly.sgcc_like import sgcc_like

TEXTS = load_texts(REPO_ROOT / "data")


def test_risk_ranks_sgcc_like_thieves_without_labels() -> None:
    cons, y = sgcc_like(seed=1)
    scored = score_consumption(cons, texts=TEXTS)
    assert auc(y.to_numpy(), scored.table["risk"].to_numpy()) >= 0.8
    assert scored.table["risk"].between(0, 1).all()
    held_out = label_free_seeds(cons, y, folds=4, seeds=2)
    assert held_out["risk"]["auc"]["mean"] >= 0.8 and held_out["risk"]["seeds"] == 2
    assert len(held_out["pattern"]["per_seed"]) == 2


def test_each_component_points_the_suspicious_way() -> None:
    rng = np.random.default_rng(0)
    x = rng.lognormal(np.log(5), 0.2, (60, 200)).astype(np.float32)
    base = x[0].copy()
    x[1, :80] = np.nan  # many missing days
    x[2, 50:90] = 0.0  # a long zero run
    x[3] = base * rng.lognormal(0, 1.0, 200)  # erratic
    x[4] = base * 10  # a large consumer
    cons = from_matrix([f"c{i}" for i in range(60)], "2024-01-01", x)
    scored = score_consumption(cons, texts=TEXTS)
    table = scored.table
    components = risk_components(scored.features, scored.reference.stats)
    everyone = risk_reasons(scored.features, components, np.ones(60), TEXTS, 200)  # as if every risk were high
    for row, name in ((1, "risk_gaps"), (2, "risk_zero_runs"), (3, "risk_variability"), (4, "risk_stake")):
        assert components[name].iloc[row] > 0.99, name
        assert any(r["code"] == name and "建议" in r["text"] for r in everyone[row]), name
    assert "80" in next(r["text"] for r in everyone[1] if r["code"] == "risk_gaps")
    assert "40" in next(r["text"] for r in everyone[2] if r["code"] == "risk_zero_runs")
    assert table["risk"].iloc[1:5].min() > table["risk"].iloc[5:].median()
    low = table["risk"].to_numpy() < REASON_RISK
    assert low.any() and all(not r for r in table["risk_reasons"][low])  # reasons only explain a high risk


def test_unknown_components_fall_back_to_the_middle() -> None:
    assert risk_score(pd.DataFrame(index=range(3))).tolist() == [0.5, 0.5, 0.5]
    partial = pd.DataFrame({"risk_gaps": [0.9, np.nan], "risk_stake": [0.5, np.nan]})
    assert risk_score(partial).tolist() == [0.7, 0.5]


def test_the_stored_reference_carries_the_risk_to_incremental_updates() -> None:
    cons, _ = sgcc_like(n=80, seed=2)
    scored = score_consumption(cons, texts=TEXTS)
    stored = Reference.from_json(scored.reference.to_json())
    assert all(f"{feature}:{direction}" in stored.stats for feature, direction, _ in RISK.values())
    window = Window(pd.Timestamp("2015-01-01").date(), cons.kwh[0])
    rec = rescore(str(cons.customers[0]), window, ("*",), scored.peers, stored, TEXTS)
    assert rec["risk"] == round(float(scored.table["risk"].iloc[0]), 4)
    assert isinstance(rec["risk_reasons"], list)
