"""Plan options re-billed with the engine: a claimed saving equals the engine's recomputation to the cent."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pytest
from sqlalchemy import select

from analytics.billing.monthly import BillRow, price_rows
from analytics.recommend.backtest import backtest, parse_plan, price_plans
from analytics.recommend.loads import monthly_inputs, plan_categories, valley_share_estimate
from analytics.recommend.plans import PlanComparison, Thresholds, best_contract, compare_plans, window_months
from core.models_billing import Bill, DemoFault
from tests.analytics.recommend.conftest import Demo

MONTHS = window_months(dt.date(2026, 10, 31))


@pytest.fixture(scope="module")
def comparisons(demo: Demo) -> list[PlanComparison]:
    est = valley_share_estimate(demo.loads, demo.book, 0.1)
    return compare_plans(demo.loads, demo.book, MONTHS, est, Thresholds())


def _rebill(demo: Demo, c: PlanComparison, plan: str) -> list[float]:
    """The plan's 12 bills through the bills' own path (BillRow + price_rows), year-to-date in calendar order."""
    load = next(x for x in demo.loads if x.customer_id == c.customer_id)
    category, kw = parse_plan(plan)
    est = valley_share_estimate(demo.loads, demo.book, 0.1)
    months = monthly_inputs(load, category, demo.book, est)
    rows = {}
    running = 0.0
    for start in sorted(MONTHS, key=lambda d: (d.month, d.year)):
        row = BillRow(
            load.customer_id,
            category,
            months[start],
            load.multiplier,
            pf_standard=load.pf_standard,
            capacity_kva=load.capacity_kva,
            contract_demand_kw=kw if kw is not None else load.contract_demand_kw,
        )
        if category in ("residential", "residential_tou"):
            row.year_to_date_kwh = round(running, 3)
            running += months[start].total_kwh
        rows[start] = row
    price_rows(list(rows.values()), demo.book)
    return [rows[m].total for m in MONTHS]


def test_a_claimed_saving_equals_the_engines_recomputation_to_the_cent(
    demo: Demo, comparisons: list[PlanComparison]
) -> None:
    switched = [c for c in comparisons if c.reason == "switch"]
    kinds = {parse_plan(c.current)[0] for c in switched}
    assert {"residential"} <= kinds and kinds & {"industrial_capacity", "industrial_demand", "industrial_actual_demand"}
    for c in switched:
        old, new = _rebill(demo, c, c.current), _rebill(demo, c, c.recommended)
        assert round(sum(old), 2) == c.option(c.current).annual_cost
        assert round(sum(new), 2) == c.option(c.recommended).annual_cost
        assert round(sum(old) - sum(new), 2) == c.saving > 0
        assert np.allclose(np.round(np.array(old) - np.array(new), 2), c.monthly_saving, atol=0.001)


def test_the_current_plan_rebilled_equals_the_issued_bills(demo: Demo, comparisons: list[PlanComparison]) -> None:
    """January–October 2026 carry their real year-to-date energy: the re-billed months are the bills issued."""
    with demo.sessions() as session:
        faulty = set(session.scalars(select(DemoFault.bill_id).where(DemoFault.bill_id.is_not(None))))
        changed = set(session.scalars(select(DemoFault.customer_id).where(DemoFault.kind == "record")))
        bills: dict[int, dict[dt.date, float]] = defaultdict(dict)
        for b in session.scalars(select(Bill).where(Bill.period_start >= dt.date(2026, 1, 1))):
            if b.id not in faulty and b.customer_id not in changed:  # a changed record re-bills on its new terms
                bills[b.customer_id][b.period_start] = b.total
    checked = 0
    for c in comparisons:
        if c.reason == "insufficient_data":
            continue
        current = c.option(c.current)
        for j, month in enumerate(MONTHS):
            if month in bills.get(c.customer_id, {}):
                assert current.monthly[j] == pytest.approx(bills[c.customer_id][month], abs=0.001), (
                    c.account_no,
                    month,
                )
                checked += 1
    assert checked > 1000


def test_each_customer_gets_the_plans_it_may_choose(demo: Demo, comparisons: list[PlanComparison]) -> None:
    by_kind = {}
    for load, c in zip(demo.loads, comparisons, strict=True):
        by_kind.setdefault(load.tariff_category, (load, c))
    load, c = by_kind["residential"]
    assert {o.plan for o in c.options} == {"residential", "residential_tou"} and c.option("residential_tou").estimated
    load, c = by_kind["residential_tou"]
    assert {o.plan for o in c.options} == {"residential", "residential_tou"} and not any(o.estimated for o in c.options)
    load, c = by_kind["commercial_tou"]
    assert c.reason == "no_alternative" and c.recommended == c.current == "commercial_tou" and c.saving == 0
    load, c = by_kind["industrial_demand"]
    plans = {parse_plan(o.plan)[0] for o in c.options}
    assert plans == {"industrial_capacity", "industrial_demand", "industrial_actual_demand"}
    assert c.current == f"industrial_demand:{load.contract_demand_kw:g}kW"
    assert plan_categories(load)[0] == "industrial_demand"


def test_to_json_is_exactly_the_contract(comparisons: list[PlanComparison]) -> None:
    data = next(c for c in comparisons if c.reason == "switch").to_json()
    assert list(data) == ["current", "options", "recommended", "saving"]
    assert all(list(o) == ["plan", "annual_cost"] for o in data["options"])  # type: ignore[union-attr]


def test_best_contract_is_the_minimum_over_every_whole_kw(demo: Demo) -> None:
    rng = np.random.default_rng(3)
    demand = rng.uniform(150, 480, (20, 12)).round(3)
    capacity = np.full(20, 630.0)
    best = best_contract(demand, capacity, demo.book, dt.date(2026, 1, 1))
    for i in range(20):
        values = np.arange(np.ceil(0.4 * 630), 631)
        floor = np.maximum(values, 0.4 * 630)
        cost = 48 * floor * 12 + 96 * np.clip(demand[i][None, :] - 1.05 * floor[:, None], 0, None).sum(axis=1)
        assert cost.min() == pytest.approx(
            48 * best[i] * 12 + 96 * np.clip(demand[i] - 1.05 * best[i], 0, None).sum(), abs=0.01
        )


def test_nothing_is_recommended_below_the_threshold(demo: Demo) -> None:
    est = valley_share_estimate(demo.loads, demo.book, 0.1)
    strict = compare_plans(demo.loads, demo.book, MONTHS, est, Thresholds(min_saving_yuan=1e12))
    assert not [c for c in strict if c.reason == "switch"]
    assert all(c.recommended == c.current and c.saving == 0 for c in strict if c.options)


def test_backtest_bills_the_test_months_both_ways(demo: Demo) -> None:
    est = valley_share_estimate(demo.loads, demo.book, 0.1)
    result, comps = backtest(demo.loads, demo.book, MONTHS[:9], MONTHS[9:], est, Thresholds())
    switched = [(load, c) for load, c in zip(demo.loads, comps, strict=True) if c.reason == "switch"]
    assert result.recommended == len(switched) > 0 and result.measured == sum(
        load.has_intervals for load, _ in switched
    )
    span = [dt.date(2026, m, 1) for m in range(1, 11)]
    raised = 0
    for load, c in switched:
        old = price_plans([load], [c.current], demo.book, span, est)[0, -3:].sum()
        new = price_plans([load], [c.recommended], demo.book, span, est)[0, -3:].sum()
        raised += int(new - old > 0.005)
    assert raised == result.raised
