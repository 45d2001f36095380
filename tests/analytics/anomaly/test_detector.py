"""The unsupervised detector on customers derived from the real area1 sample in data/anomaly."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.anomaly.contract import Consumption
from analytics.anomaly.detector import load_texts
from analytics.anomaly.metrics import auc, map_at_k, precision_at_k
from analytics.anomaly.scoring import Meta, score_consumption
from analytics.anomaly.series import best_shift, longest_run, sorted_quantiles, trailing_run
from core.settings import REPO_ROOT
from demo.anomaly_attacks import ATTACKS, inject
from demo.anomaly_customers import load_region, make_customers

DATA = REPO_ROOT / "data"


@pytest.fixture(scope="module")
def scored():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    days, values = load_region(DATA / "anomaly" / "area1_sample.csv")
    dev = make_customers(days, values, 360, rng, days=180, areas=3)
    iv, truth = inject(dev.intervals, rng, theft_share=0.35, fault_share=0.12)
    with np.errstate(all="ignore"):
        present = (~np.isnan(iv)).sum(axis=2)
        daily = np.where(present >= 48, np.nansum(iv, axis=2) * 96 / np.maximum(present, 1), np.nan)
    daily = daily.astype(np.float32)
    negatives = (daily < 0).sum(axis=1).astype(np.int32)
    daily[daily < 0] = np.nan
    cons = Consumption(dev.ids, dev.days, daily, negatives, np.where(iv < 0, np.nan, iv).astype(np.float32))
    return score_consumption(cons, Meta(dev.areas, dev.categories), load_texts(DATA)), truth


def test_every_attack_type_ranks_above_normal_customers(scored) -> None:  # type: ignore[no-untyped-def]
    result, truth = scored
    s = result.table["score"].to_numpy()
    normal = truth.kind == "normal"
    for attack in ATTACKS:
        hit = truth.type == attack
        sel = hit | normal
        assert auc(hit[sel].astype(int), s[sel]) >= 0.9, attack


def test_kinds_and_reasons(scored) -> None:  # type: ignore[no-untyped-def]
    result, truth = scored
    table = result.table
    faults = np.isin(truth.type, ["stopped", "rollback", "spikes"])
    assert (table["kind"].to_numpy()[faults] == "meter_fault").mean() >= 0.8
    thefts = np.isin(truth.type, ["partial_cut", "zero_windows", "reorder", "mean"])
    assert (table["kind"].to_numpy()[thefts] == "theft").mean() >= 0.8
    plain = (truth.kind == "normal") & (truth.type == "")
    assert (table["kind"].to_numpy()[plain] == "normal").mean() >= 0.9
    top = table.sort_values("score", ascending=False).iloc[0]
    assert top["reasons"] and all(r["text"] and r["evidence"] >= 3 for r in top["reasons"])
    rollback = table[truth.type == "rollback"].iloc[0]
    assert any(r["code"] == "rollback" and "负电量" in r["text"] for r in rollback["reasons"])


def test_a_customer_with_one_reading_is_scored_with_a_reason() -> None:
    x = np.full((40, 120), 5.0, dtype=np.float32) * np.random.default_rng(0).lognormal(0, 0.2, (40, 120))
    x[0, 1:] = np.nan
    cons = Consumption(
        np.array([f"c{i}" for i in range(40)], dtype=object),
        __import__("pandas").date_range("2024-01-01", periods=120),
        x.astype(np.float32),
        np.zeros(40, np.int32),
    )
    result = score_consumption(cons, texts=load_texts(DATA))
    first = result.table.iloc[0]
    assert first["reasons"][0]["code"] == "insufficient_history" and np.isfinite(first["score"])


def test_series_helpers() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(10, 1, (3, 200)).astype(np.float32)
    x[0, 120:] -= 5  # a drop on day 120
    x[2, ::3] = np.nan
    shift = best_shift(x, abs_t=False)
    assert shift.t[0] < -10 and abs(shift.position[0] * 200 - 120) <= 7
    assert abs(shift.t[1]) < 6
    flag = np.array([[True, True, False, True, True, True], [False] * 6])
    assert longest_run(flag).tolist() == [3, 0] and trailing_run(flag).tolist() == [3, 0]
    (q,) = sorted_quantiles(x, (0.3,))
    np.testing.assert_allclose(q, np.nanquantile(x, 0.3, axis=1), rtol=1e-5)


def test_metrics() -> None:
    y = np.array([1, 0, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.1, 0.2])
    assert auc(y, s) == pytest.approx(5 / 6)
    assert map_at_k(y, s, 100) == pytest.approx((1 + 2 / 3) / 2)
    assert precision_at_k(y, s, 2) == 0.5
