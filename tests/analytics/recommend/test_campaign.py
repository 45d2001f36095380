"""Campaigns: selection, a random control group, and a difference in differences that recovers a known effect."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from analytics.recommend import campaign as camp
from analytics.recommend.loads import CustomerLoad
from core.errors import InvalidInput
from core.settings import REPO_ROOT
from demo.config import load_demo_config
from demo.generate import build_demo, iter_readings
from tests.conftest import DEMO_TODAY

DAY = dt.date(2026, 8, 12)  # a summer workday
WINDOW = camp.Window.parse("19:00-21:00")


@pytest.fixture(scope="module")
def simulated() -> list[CustomerLoad]:
    """600 interval-metered customers simulated by the demo generator (calibrated on real load), no database."""
    config = load_demo_config(REPO_ROOT / "data", today=DEMO_TODAY, customers=600, seed=29)
    config = dataclasses.replace(
        config, mix={"residential": 0.0, "residential_tou": 0.4, "shared": 0.0, "commercial": 0.45, "industrial": 0.15}
    )
    base = build_demo(config)
    days = config.days
    first = days.index(DAY) - 60
    loads = []
    for i, r in enumerate(iter_readings(base)):
        c = r.customer
        values = r.energy[first : days.index(DAY) + 1]
        loads.append(
            CustomerLoad(
                i,
                c.account_no,
                c.customer_category,
                c.tariff_category,
                c.capacity_kva,
                c.contract_demand_kw,
                c.pf_standard,
                c.multiplier,
                days[first : days.index(DAY) + 1],
                values.sum(axis=1, dtype=np.float64),
                intervals=values,
            )
        )
    return loads


@pytest.fixture(scope="module")
def chosen(simulated: list[CustomerLoad]) -> list[camp.Candidate]:
    return camp.select(camp.candidates(simulated, DAY, WINDOW, 10), 500, 0.05)


@pytest.mark.parametrize("injected", [-0.20, -0.10])
def test_a_known_effect_is_recovered_within_20_percent(
    simulated: list[CustomerLoad], chosen: list[camp.Candidate], injected: float
) -> None:
    loads = [dataclasses.replace(x) for x in simulated]
    arms = camp.assign(chosen, 0.5, 1)
    camp.inject_effect(loads, {i for i, a in arms.items() if a == "treatment"}, DAY, WINDOW, injected)
    effect = camp.evaluate(loads, arms, DAY, WINDOW, 10)
    assert effect.treated >= 200 and effect.controls >= 200
    assert abs(effect.effect_share - injected) <= 0.2 * abs(injected), effect
    assert effect.significant and effect.ci_low < injected < effect.ci_high
    assert effect.effect_kwh < 0


def test_no_effect_is_reported_when_none_was_injected(
    simulated: list[CustomerLoad], chosen: list[camp.Candidate]
) -> None:
    """Over 20 random splits the 95% interval covers zero about 19 times and the estimates centre on zero."""
    effects = [camp.evaluate(simulated, camp.assign(chosen, 0.5, seed), DAY, WINDOW, 10) for seed in range(20)]
    covered = sum(e.ci_low <= 0 <= e.ci_high for e in effects)
    assert covered >= 17, [e.to_json() for e in effects]
    assert abs(np.mean([e.effect_share for e in effects])) < 0.01
    assert max(abs(e.effect_share) for e in effects) < 0.05  # well inside the ±20% band of a 10% effect's twice


def test_assignment_is_random_stratified_and_reproducible(simulated: list[CustomerLoad]) -> None:
    pool = camp.candidates(simulated, DAY, WINDOW, 10)
    chosen = camp.select(pool, 300, 0.05)
    first, again, other = camp.assign(chosen, 0.5, 7), camp.assign(chosen, 0.5, 7), camp.assign(chosen, 0.5, 8)
    assert first == again and first != other
    for category in {c.category for c in chosen}:
        arms = [first[c.customer_id] for c in chosen if c.category == category]
        assert abs(arms.count("treatment") - arms.count("control")) <= 1
    assert len(chosen) == 300 and all(c.window_share >= 0.05 for c in chosen)
    picked = {c.customer_id for c in chosen}
    for category in {c.category for c in pool}:  # within a category, the most movable window energy is chosen
        eligible = [c for c in pool if c.category == category and c.window_share >= 0.05]
        inside = [c.score for c in eligible if c.customer_id in picked]
        outside = [c.score for c in eligible if c.customer_id not in picked]
        if inside and outside:
            assert min(inside) >= max(outside)


def test_bad_campaign_input_is_refused() -> None:
    for text in ("19-21", "21:00-19:00", "19:10-21:00", "25:00-26:00", ""):
        with pytest.raises(InvalidInput, match="19:00-21:00"):
            camp.Window.parse(text)
    with pytest.raises(InvalidInput, match="control share"):
        camp.assign([], 1.0, 0)
    with pytest.raises(InvalidInput, match="size must be positive"):
        camp.select([], 0, 0.1)
    with pytest.raises(InvalidInput, match="at least 2 treated"):
        camp.evaluate([], {1: "treatment"}, DAY, WINDOW, 10)
