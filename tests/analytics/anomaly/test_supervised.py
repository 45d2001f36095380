"""The supervised model under cross-validation, the injector, incremental updates and regional alerts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics.anomaly.contract import from_matrix
from analytics.anomaly.realtime import Window, merge
from analytics.anomaly.regional import detect
from analytics.anomaly.supervised import cross_validate
from core.errors import InvalidInput
from core.settings import REPO_ROOT
from demo.anomaly_attacks import DAILY_ATTACKS, inject
from demo.anomaly_customers import daily_region, make_daily_customers

SAMPLE = REPO_ROOT / "data" / "anomaly" / "area1_sample.csv"


@pytest.fixture(scope="module")
def labelled():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    days, region = daily_region(SAMPLE)
    ids, index, x = make_daily_customers(days, region, 500, rng)
    x, truth = inject(x, rng, theft_share=0.2, fault_share=0.04, attacks=DAILY_ATTACKS)
    return from_matrix(ids, index[0], x), pd.Series(truth.label, index=ids.astype(str)), truth


def test_cross_validation_finds_injected_theft(labelled) -> None:  # type: ignore[no-untyped-def]
    cons, labels, _ = labelled
    result = cross_validate(cons, labels, folds=3)
    assert result.auc >= 0.85 and result.map_at_100 >= 0.7
    assert len(result.oof) == cons.n and result.positives == int(labels.sum())


def test_cross_validation_does_not_leak(labelled) -> None:  # type: ignore[no-untyped-def]
    cons, labels, _ = labelled
    shuffled = pd.Series(np.random.default_rng(0).permutation(labels.to_numpy()), index=labels.index)
    result = cross_validate(cons, shuffled, folds=3)
    assert 0.35 <= result.auc <= 0.65  # random labels cannot be learnt: anything else is leakage


def test_cross_validation_needs_both_classes(labelled) -> None:  # type: ignore[no-untyped-def]
    cons, labels, _ = labelled
    few = labels.copy()
    few[:] = 0
    few.iloc[:2] = 1
    with pytest.raises(InvalidInput, match="at least 3 thieves"):
        cross_validate(cons, few, folds=3)


def test_injected_attacks_keep_their_shape(labelled) -> None:  # type: ignore[no-untyped-def]
    _, _, truth = labelled
    assert set(truth.type[truth.label == 1]) == set(DAILY_ATTACKS)
    assert (truth.start[truth.label == 1] > 0).all()
    with pytest.raises(ValueError, match="intra-day"):
        inject(np.ones((4, 30), np.float32), np.random.default_rng(0), attacks=("reorder",))


def test_merge_window() -> None:
    start = dt.date(2024, 1, 1)
    window = Window(start, np.array([1, 2, 3], dtype=np.float32))
    today = dt.date(2024, 1, 10)
    merged = merge(window, [(dt.date(2024, 1, 5), 4.0), (dt.date(2024, 1, 2), 9.0)], max_days=60, today=today)
    assert merged.start == start and len(merged.values) == 5
    assert merged.values[1] == 9.0 and merged.values[4] == 4.0 and np.isnan(merged.values[3])
    merged = merge(
        merged,
        [
            (dt.date(2030, 1, 1), 1.0),
            (dt.date(2024, 1, 6), -3.0),
            (dt.date(2024, 1, 7), float("nan")),
            (dt.date(2024, 1, 8), 1e12),
        ],
        max_days=60,
        today=today,
    )
    assert merged.negatives == 1 and len(merged.values) == 5 and len(merged.problems) == 4
    short = merge(merged, [(dt.date(2024, 1, 9), 1.0)], max_days=3, today=today)
    assert short.start == dt.date(2024, 1, 7) and short.values[-1] == 1.0


def test_regional_alert_on_an_unexplained_drop() -> None:
    days = pd.date_range("2024-01-01", periods=200, freq="D")
    rng = np.random.default_rng(0)
    season = 10 + 3 * np.sin(2 * np.pi * days.dayofyear / 365.25)
    temp = pd.Series(15 + 10 * np.sin(2 * np.pi * (days.dayofyear - 100) / 365.25), index=days)
    base = season * (1 + 0.02 * np.maximum(temp.to_numpy() - 24, 0)) * rng.lognormal(0, 0.03, 200)
    means = pd.DataFrame({"西湖区": base.copy(), "上城区": base * 1.1}, index=days)
    means.iloc[-5:, 0] *= 0.6  # 西湖区 drops in the last five days
    alerts = detect(means, temp, recent=14)
    assert [(a.area, a.direction) for a in alerts] == [("西湖区", "low")]
    assert alerts[0].end == days[-1].date() and alerts[0].observed < alerts[0].expected
    assert alerts[0].dedup_key.startswith("area:西湖区:low:")
    assert detect(means.iloc[:50], temp) == []  # too short to know what is normal
