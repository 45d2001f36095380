"""Tariff-plan options re-billed with the billing engine: what each customer would have paid, and what to recommend.

For every customer the months of a window are priced under each plan it may choose (flat vs TOU
for households; by capacity, by contract demand at its current and at its best contract value, and
by actual demand for two-part customers), by `analytics.billing.engine.compute` in one call per
category, schedule and plan for the whole batch. Annual tiers run over the window's months taken in
calendar order (January first), so the months of the current year carry their real year-to-date
energy and a 12-month window is priced as one tariff year.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from analytics.billing.engine import BillInputs, compute
from analytics.billing.monthly import MonthInputs
from analytics.billing.schedule import PERIODS, TariffBook
from analytics.recommend.loads import CustomerLoad, monthly_inputs_by_category, plan_categories

F64 = npt.NDArray[np.float64]
TIERED = ("residential", "residential_tou")


@dataclass(frozen=True)
class Thresholds:
    """Recommend a change only when it saves at least this much over the window."""

    min_saving_yuan: float = 30.0
    min_saving_share: float = 0.02  # of the current plan's cost
    min_months_cheaper: float = 0.5  # share of the window's months in which the new plan is cheaper


@dataclass
class PlanOption:
    plan: str  # category, or "industrial_demand:380kW" with its contract value
    category: str
    monthly: F64  # (months,) total of each month's bill
    contract_kw: float | None = None
    estimated: bool = False  # priced on an estimated peak/valley split

    @property
    def annual_cost(self) -> float:
        return round(float(self.monthly.sum()), 2)


@dataclass
class PlanComparison:
    customer_id: int
    account_no: str
    months: list[dt.date]
    current: str
    options: list[PlanOption] = field(default_factory=list)
    recommended: str = ""
    saving: float = 0.0
    reason: str = "insufficient_data"  # switch / below_threshold / current_is_best / no_alternative / insufficient_data

    def option(self, plan: str) -> PlanOption:
        return next(o for o in self.options if o.plan == plan)

    @property
    def monthly_saving(self) -> F64:
        if not self.options:
            return np.zeros(0)
        return np.round(self.option(self.current).monthly - self.option(self.recommended).monthly, 2)

    def spread(self) -> dict[str, float]:
        """Month-to-month spread of the saving of the recommended plan."""
        s = self.monthly_saving
        if s.size == 0:
            return {"min": 0.0, "max": 0.0, "std": 0.0, "months_cheaper": 0, "months_costlier": 0}
        return {
            "min": float(s.min()),
            "max": float(s.max()),
            "std": round(float(s.std()), 2),
            "months_cheaper": int((s > 0).sum()),
            "months_costlier": int((s < 0).sum()),
        }

    def to_json(self) -> dict[str, object]:
        """The contract of `powerdesk recommend plan --json`."""
        return {
            "current": self.current,
            "options": [{"plan": o.plan, "annual_cost": o.annual_cost} for o in self.options],
            "recommended": self.recommended,
            "saving": self.saving,
        }


def demand_plan(kw: float) -> str:
    return f"industrial_demand:{kw:g}kW"


@dataclass
class _Grid:
    """One category's bill inputs for many customers on a common month grid (NaN rows: not available)."""

    category: str
    energy: F64  # (n, m, 5)
    reactive: F64  # (n, m)
    max_demand: F64  # (n, m)
    ok: npt.NDArray[np.bool_]  # (n,) every month present


def _grid(category: str, per_customer: list[dict[dt.date, MonthInputs]], months: list[dt.date]) -> _Grid:
    n, m = len(per_customer), len(months)
    energy = np.zeros((n, m, len(PERIODS)))
    reactive = np.full((n, m), np.nan)
    demand = np.full((n, m), np.nan)
    ok = np.ones(n, dtype=bool)
    for i, by_month in enumerate(per_customer):
        for j, month in enumerate(months):
            inputs = by_month.get(month)
            if inputs is None:
                ok[i] = False
                break
            energy[i, j] = inputs.energy
            if inputs.reactive_kvarh is not None:
                reactive[i, j] = inputs.reactive_kvarh
            if inputs.max_demand_kw is not None:
                demand[i, j] = inputs.max_demand_kw
    return _Grid(category, energy, reactive, demand, ok)


def calendar_year_to_date(totals: F64, months: Sequence[dt.date]) -> F64:
    """(n, m) year-to-date energy of each month when the window's months are billed in calendar order."""
    order = np.argsort([d.month * 10000 + d.year for d in months], kind="stable")
    ytd = np.zeros_like(totals)
    running = np.zeros(totals.shape[0])
    for j in order:
        ytd[:, j] = np.round(running, 3)
        running = running + totals[:, j]
    return ytd


def price_grid(
    book: TariffBook,
    category: str,
    months: Sequence[dt.date],
    energy: F64,
    reactive: F64,
    max_demand: F64,
    pf_standard: F64,
    capacity: F64,
    contract: F64,
    year_to_date: F64 | None = None,
) -> F64:
    """(n, m) bill totals of n customers over m months under one category, one engine call per schedule."""
    n, m = energy.shape[:2]
    if year_to_date is None:
        year_to_date = calendar_year_to_date(energy.sum(axis=2), months) if category in TIERED else np.zeros((n, m))
    out = np.full((n, m), np.nan)
    by_schedule: dict[str, list[int]] = {}
    schedules = {}
    for j, month in enumerate(months):
        schedule = book.schedule_for(category, month)
        by_schedule.setdefault(schedule.id, []).append(j)
        schedules[schedule.id] = schedule
    for sid, cols in by_schedule.items():
        k = len(cols)
        x = BillInputs.empty_like(energy[:, cols].reshape(n * k, len(PERIODS)))
        x.year_to_date = year_to_date[:, cols].reshape(-1)
        with_pf = ~np.isnan(reactive[:, cols]) & ~np.isnan(pf_standard)[:, None]
        x.reactive = np.where(with_pf, reactive[:, cols], np.nan).reshape(-1)
        x.pf_standard = np.where(with_pf, pf_standard[:, None], np.nan).reshape(-1)
        x.capacity_kva = np.repeat(capacity, k)
        x.contract_demand_kw = np.repeat(contract, k)
        x.max_demand_kw = max_demand[:, cols].reshape(-1)
        amounts = compute(schedules[sid].categories[category], x, book.pf_tables)
        out[:, cols] = amounts.total.reshape(n, k)
    return out


def best_contract(max_demand: F64, capacity: F64, book: TariffBook, month: dt.date) -> F64:
    """(n,) the whole-kW contract demand that minimises the basic charge over the months' metered maxima.

    The basic charge is convex and piecewise linear in the contract value, so its minimum lies at
    the 40%-of-capacity floor or where some month's maximum sits exactly at 105% of it; the whole-kW
    minimum is at one of the integers either side of such a point.
    """
    spec = book.schedule_for("industrial_demand", month).categories["industrial_demand"].basic
    assert spec is not None and spec.excess_threshold is not None
    floor = np.ceil(np.round(capacity * spec.floor_share_of_capacity, 6))
    at = np.round(max_demand / spec.excess_threshold, 6)
    candidates = np.concatenate([np.ceil(at), np.floor(at), floor[:, None]], axis=1)  # the integers either side
    candidates = np.clip(np.maximum(candidates, floor[:, None]), None, capacity[:, None])
    excess = np.clip(max_demand[:, None, :] - spec.excess_threshold * candidates[:, :, None], 0.0, None)
    cost = spec.price * candidates * max_demand.shape[1] + spec.price * spec.excess_multiplier * excess.sum(axis=2)
    return candidates[np.arange(len(capacity)), np.argmin(cost, axis=1)]


def compare_plans(
    loads: list[CustomerLoad],
    book: TariffBook,
    months: list[dt.date],
    valley_share: dict[int, float] | None,
    thresholds: Thresholds,
) -> list[PlanComparison]:
    """Every customer's plans priced over `months`, and the recommendation (the cheapest above the thresholds)."""
    comparisons = [
        PlanComparison(load.customer_id, load.account_no, list(months), _current_plan(load)) for load in loads
    ]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, load in enumerate(loads):
        groups.setdefault(plan_categories(load), []).append(i)
    for categories, members in groups.items():
        chosen = [loads[i] for i in members]
        capacity = np.array([np.nan if c.capacity_kva is None else c.capacity_kva for c in chosen])
        contract = np.array([np.nan if c.contract_demand_kw is None else c.contract_demand_kw for c in chosen])
        pf_std = np.array([np.nan if c.pf_standard is None else c.pf_standard for c in chosen])
        inputs = [monthly_inputs_by_category(c, categories, book, valley_share) for c in chosen]
        for category in categories:
            grid = _grid(category, [x[category] for x in inputs], months)
            estimated = category == "residential_tou" and any(not c.has_intervals for c in chosen)
            variants: list[tuple[str | None, F64]] = [(None, contract)]
            if category == "industrial_demand":
                best = best_contract(np.nan_to_num(grid.max_demand), np.nan_to_num(capacity), book, months[-1])
                variants = [("current", contract), ("best", best)]
            for variant, values in variants:
                totals = price_grid(
                    book, category, months, grid.energy, grid.reactive, grid.max_demand, pf_std, capacity, values
                )
                for k, i in enumerate(members):
                    if not grid.ok[k] or (variant == "current" and math.isnan(values[k])):
                        continue
                    load = loads[i]
                    kw = float(values[k]) if category == "industrial_demand" else None
                    plan = demand_plan(kw) if kw is not None else category
                    if any(o.plan == plan for o in comparisons[i].options):
                        continue  # the best contract value is the current one
                    comparisons[i].options.append(
                        PlanOption(plan, category, np.round(totals[k], 2), kw, estimated and not load.has_intervals)
                    )
    for comparison in comparisons:
        _decide(comparison, thresholds)
    return comparisons


def _current_plan(load: CustomerLoad) -> str:
    if load.tariff_category == "industrial_demand" and load.contract_demand_kw is not None:
        return demand_plan(float(load.contract_demand_kw))
    return load.tariff_category


def _decide(c: PlanComparison, t: Thresholds) -> None:
    if not any(o.plan == c.current for o in c.options):
        c.options, c.recommended, c.saving, c.reason = [], "", 0.0, "insufficient_data"
        return
    c.options.sort(key=lambda o: (o.plan != c.current, o.annual_cost))
    current = c.option(c.current)
    best = min(c.options, key=lambda o: (o.annual_cost, o.plan != c.current))
    c.recommended, c.saving = c.current, 0.0
    if len(c.options) == 1:
        c.reason = "no_alternative"
        return
    if best.plan == c.current:
        c.reason = "current_is_best"
        return
    saving = round(current.annual_cost - best.annual_cost, 2)
    cheaper = float((current.monthly - best.monthly > 0).mean())
    if saving < max(t.min_saving_yuan, t.min_saving_share * current.annual_cost) or cheaper < t.min_months_cheaper:
        c.reason = "below_threshold"
        return
    c.recommended, c.saving, c.reason = best.plan, saving, "switch"


def window_months(last_day: dt.date, count: int = 12) -> list[dt.date]:
    """The `count` complete calendar months ending on or before `last_day`, oldest first."""
    end = last_day.replace(day=1)
    if (last_day + dt.timedelta(days=1)).month == last_day.month:  # last_day is not a month's end
        end = (end - dt.timedelta(days=1)).replace(day=1)
    out = [end]
    while len(out) < count:
        out.append((out[-1] - dt.timedelta(days=1)).replace(day=1))
    return out[::-1]
