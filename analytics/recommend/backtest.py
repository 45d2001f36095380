"""Backtest of plan recommendations: decide on earlier months, then bill the following months both ways.

`price_plans` prices any named plan (as `PlanComparison` names them) for many customers over given
months with the engine; the backtest uses it to ask: had each customer followed the recommendation
made on the training months, would the next months' bills have been higher than on the old plan?
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from analytics.billing.schedule import TariffBook
from analytics.recommend.loads import CustomerLoad, monthly_inputs
from analytics.recommend.plans import F64, PlanComparison, Thresholds, _grid, compare_plans, price_grid


def parse_plan(plan: str) -> tuple[str, float | None]:
    """'industrial_demand:380kW' → ('industrial_demand', 380.0); a bare category → (category, None)."""
    if ":" in plan:
        category, value = plan.split(":", 1)
        return category, float(value.removesuffix("kW"))
    return plan, None


def price_plans(
    loads: list[CustomerLoad],
    plans: list[str],
    book: TariffBook,
    months: list[dt.date],
    valley_share: dict[int, float] | None,
) -> F64:
    """(n, m) monthly bill totals of each customer under its own plan (NaN where a month is missing)."""
    out = np.full((len(loads), len(months)), np.nan)
    groups: dict[str, list[int]] = {}
    for i, plan in enumerate(plans):
        groups.setdefault(parse_plan(plan)[0], []).append(i)
    for category, members in groups.items():
        chosen = [loads[i] for i in members]
        grid = _grid(category, [monthly_inputs(c, category, book, valley_share) for c in chosen], months)
        capacity = np.array([np.nan if c.capacity_kva is None else c.capacity_kva for c in chosen])
        pf_std = np.array([np.nan if c.pf_standard is None else c.pf_standard for c in chosen])
        contract = np.array([parse_plan(plans[i])[1] or np.nan for i in members])
        totals = price_grid(
            book, category, months, grid.energy, grid.reactive, grid.max_demand, pf_std, capacity, contract
        )
        totals[~grid.ok] = np.nan
        out[members] = totals
    return out


@dataclass
class BacktestResult:
    train: list[dt.date]
    test: list[dt.date]
    customers: int
    recommended: int  # customers told to switch
    raised: int  # of which the test months' bills would have been higher
    measured: int  # recommendations whose test bills come from measured data (not an estimated split)
    measured_raised: int
    saving_claimed: float  # over the training months, summed
    saving_realised: float  # over the test months, summed
    by_switch: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def raised_share(self) -> float:
        return self.raised / self.recommended if self.recommended else 0.0

    @property
    def measured_raised_share(self) -> float:
        return self.measured_raised / self.measured if self.measured else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "train": [self.train[0].isoformat(), self.train[-1].isoformat()],
            "test": [self.test[0].isoformat(), self.test[-1].isoformat()],
            "customers": self.customers,
            "recommended": self.recommended,
            "raised": self.raised,
            "raised_share": round(self.raised_share, 4),
            "measured": self.measured,
            "measured_raised": self.measured_raised,
            "measured_raised_share": round(self.measured_raised_share, 4),
            "saving_claimed_yuan": round(self.saving_claimed, 2),
            "saving_realised_yuan": round(self.saving_realised, 2),
            "by_switch": self.by_switch,
        }


def backtest(
    loads: list[CustomerLoad],
    book: TariffBook,
    train: list[dt.date],
    test: list[dt.date],
    valley_share: dict[int, float] | None,
    thresholds: Thresholds,
) -> tuple[BacktestResult, list[PlanComparison]]:
    """Recommend on `train`, then bill `test` under the old and the recommended plan (real year-to-date)."""
    comparisons = compare_plans(loads, book, train, valley_share, thresholds)
    switched = [i for i, c in enumerate(comparisons) if c.reason == "switch"]
    chosen = [loads[i] for i in switched]
    # bill from January of the test year so tiered months carry their real year-to-date energy
    first = dt.date(test[0].year, 1, 1)
    span = [m for m in _months_between(first, test[-1])]
    cols = [span.index(m) for m in test]
    old = price_plans(chosen, [comparisons[i].current for i in switched], book, span, valley_share)[:, cols]
    new = price_plans(chosen, [comparisons[i].recommended for i in switched], book, span, valley_share)[:, cols]
    delta = np.nansum(new, axis=1) - np.nansum(old, axis=1)
    valid = ~np.isnan(old).any(axis=1) & ~np.isnan(new).any(axis=1)
    measured = np.array([c.has_intervals for c in chosen], dtype=bool)
    raised = valid & (delta > 0.005)
    by_switch: dict[str, dict[str, float]] = {}
    for k, i in enumerate(switched):
        c = comparisons[i]
        key = f"{c.current.split(':')[0]}→{c.recommended.split(':')[0]}"
        entry = by_switch.setdefault(key, {"count": 0, "raised": 0, "claimed": 0.0, "realised": 0.0})
        entry["count"] += 1
        entry["raised"] += int(raised[k])
        entry["claimed"] = round(entry["claimed"] + c.saving, 2)
        entry["realised"] = round(entry["realised"] - float(delta[k]), 2)
    result = BacktestResult(
        train=train,
        test=test,
        customers=len(loads),
        recommended=int(valid.sum()),
        raised=int(raised.sum()),
        measured=int((valid & measured).sum()),
        measured_raised=int((raised & measured).sum()),
        saving_claimed=float(sum(comparisons[i].saving for i in switched)),
        saving_realised=float(-delta[valid].sum()),
        by_switch=by_switch,
    )
    return result, comparisons


def _months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    out = [first.replace(day=1)]
    while out[-1] < last.replace(day=1):
        out.append((out[-1] + dt.timedelta(days=32)).replace(day=1))
    return out
