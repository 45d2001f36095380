"""Energy-saving advice from a customer's own data, each with a saving priced by the billing engine.

Three measures: high standby night load (interval meters: night-time demand above what similar
customers keep on at night), air-conditioning sensitivity (summer energy above the spring/autumn
level), and peak-shift potential (TOU customers: part of the peak energy moved to the valley). The
saving of each is the engine's bill for the window's months on the customer's current plan, minus
the same bill with the measure's energy change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analytics.billing.schedule import PERIOD_INDEX, PERIODS, TariffBook
from analytics.recommend.backtest import parse_plan
from analytics.recommend.loads import CustomerLoad, monthly_inputs
from analytics.recommend.plans import F64, _grid, price_grid
from analytics.recommend.segments import SHOULDER
from core.datafiles import read_yaml_mapping

TOU_PEAKS = (PERIOD_INDEX["sharp"], PERIOD_INDEX["peak"])


@dataclass
class Advice:
    kind: str  # standby / air_conditioning / peak_shift
    kwh: float  # energy saved (or moved, for peak_shift) over the window
    saving: float  # yuan over the window, engine-priced
    detail: dict[str, float]


def load_assumptions(path: Path) -> dict[str, Any]:
    return read_yaml_mapping(path, required=("standby", "air_conditioning", "peak_shift", "min_saving_yuan"))


def night_ratio(load: CustomerLoad, hours: list[str]) -> float:
    """Mean night-time demand over mean demand (interval meters; NaN otherwise)."""
    if not load.has_intervals:
        return float("nan")
    assert load.intervals is not None
    slots = np.concatenate([np.arange(_slot(s.split("-")[0]), _slot(s.split("-")[1])) for s in hours])
    mean = float(load.intervals.mean())
    return float(load.intervals[:, slots].mean() / mean) if mean > 0 else float("nan")


def _slot(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 4 + int(m) // 15


def peer_night_ratios(loads: list[CustomerLoad], assumptions: dict[str, Any]) -> dict[str, float]:
    """The reference night ratio of each tariff category (a low quantile among its interval-metered customers)."""
    spec = assumptions["standby"]
    ratios: dict[str, list[float]] = {}
    for load in loads:
        r = night_ratio(load, spec["night_hours"])
        if np.isfinite(r):
            ratios.setdefault(load.tariff_category, []).append(r)
    return {k: float(np.quantile(v, spec["peer_quantile"])) for k, v in ratios.items() if len(v) >= 5}


def advise(
    load: CustomerLoad,
    plan: str,
    book: TariffBook,
    months: list[dt.date],
    assumptions: dict[str, Any],
    peer_ratio: float | None,
    valley_share: dict[int, float] | None = None,
) -> list[Advice]:
    """The measures worth advising to this customer on its current `plan`, best saving first."""
    category, contract = parse_plan(plan)
    grid = _grid(category, [monthly_inputs(load, category, book, valley_share)], months)
    if not grid.ok[0]:
        return []
    energy = grid.energy[0]

    def price(e: F64) -> float:
        totals = price_grid(
            book,
            category,
            months,
            e[None],
            grid.reactive,
            grid.max_demand,
            np.array([np.nan if load.pf_standard is None else load.pf_standard]),
            np.array([np.nan if load.capacity_kva is None else load.capacity_kva]),
            np.array([np.nan if contract is None else contract]),
        )
        return float(totals.sum())

    base = price(energy)
    out: list[Advice] = []
    for kind, changed, detail in (
        _standby(load, energy, category, book, months, assumptions, peer_ratio),
        _air_conditioning(load, energy, months, assumptions),
        _peak_shift(energy, category, book, months, assumptions),
    ):
        if changed is None:
            continue
        saving = round(base - price(changed), 2)
        if saving >= assumptions["min_saving_yuan"]:
            kwh = float(energy.sum() - changed.sum()) if kind != "peak_shift" else detail["kwh_moved"]
            out.append(Advice(kind, round(kwh, 1), saving, detail))
    return sorted(out, key=lambda a: -a.saving)


def _period_hours(category: str, book: TariffBook, month: dt.date) -> F64:
    """Share of the day's 96 slots in each period, for a flat (standby) load."""
    table = book.schedule_for(category, month).categories[category].slot_period[month.month - 1]
    return np.bincount(table.astype(int), minlength=len(PERIODS)) / 96.0


def _standby(
    load: CustomerLoad,
    energy: F64,
    category: str,
    book: TariffBook,
    months: list[dt.date],
    assumptions: dict[str, Any],
    peer_ratio: float | None,
) -> tuple[str, F64 | None, dict[str, float]]:
    spec = assumptions["standby"]
    ratio = night_ratio(load, spec["night_hours"])
    if load.tariff_category not in spec["categories"] or peer_ratio is None:
        return "standby", None, {}
    if not np.isfinite(ratio) or ratio < peer_ratio + spec["min_excess_ratio"]:
        return "standby", None, {}
    assert load.intervals is not None
    mean_kw = float(load.intervals.mean()) * 4
    excess_kw = (ratio - peer_ratio) * mean_kw
    removed_kw = excess_kw * spec["removable_share"]
    changed = energy.copy()
    for j, month in enumerate(months):
        days = ((month + dt.timedelta(days=32)).replace(day=1) - month).days
        cut = removed_kw * 24 * days * _period_hours(category, book, month)
        cut[PERIOD_INDEX["total"]] = removed_kw * 24 * days if energy[j, PERIOD_INDEX["total"]] > 0 else 0.0
        changed[j] = np.clip(energy[j] - np.where(energy[j] > 0, cut, 0.0), 0.0, None)
    detail = {
        "night_kw": round(ratio * mean_kw, 2),
        "peer_night_kw": round(peer_ratio * mean_kw, 2),
        "removable_kw": round(removed_kw, 2),
    }
    return "standby", np.round(changed, 3), detail


def _air_conditioning(
    load: CustomerLoad, energy: F64, months: list[dt.date], assumptions: dict[str, Any]
) -> tuple[str, F64 | None, dict[str, float]]:
    spec = assumptions["air_conditioning"]
    cal = np.array([d.month for d in load.days])
    shoulder = load.daily_kwh[np.isin(cal, SHOULDER)]
    summer = load.daily_kwh[np.isin(cal, (7, 8))]
    if not len(shoulder) or not len(summer) or shoulder.mean() <= 0:
        return "air_conditioning", None, {}
    uplift = float(summer.mean() / shoulder.mean() - 1)
    if uplift < spec["min_uplift"]:
        return "air_conditioning", None, {}
    changed = energy.copy()
    cooling_total = 0.0
    for j, month in enumerate(months):
        if month.month not in spec["months"]:
            continue
        total = float(energy[j].sum())
        days = ((month + dt.timedelta(days=32)).replace(day=1) - month).days
        cooling = max(0.0, total - float(shoulder.mean()) * days)
        cooling_total += cooling
        if total > 0:
            changed[j] = energy[j] * (1 - spec["saving_share"] * cooling / total)
    detail = {"summer_uplift": round(uplift, 3), "cooling_kwh": round(cooling_total, 1)}
    return "air_conditioning", np.round(changed, 3), detail


def _peak_shift(
    energy: F64, category: str, book: TariffBook, months: list[dt.date], assumptions: dict[str, Any]
) -> tuple[str, F64 | None, dict[str, float]]:
    tariff = book.schedule_for(category, months[-1]).categories[category]
    if not tariff.tou or PERIOD_INDEX["valley"] not in tariff.used_periods:
        return "peak_shift", None, {}
    share = assumptions["peak_shift"]["shift_share"]
    changed = energy.copy()
    peaks = list(TOU_PEAKS)
    moved = np.round(energy[:, peaks] * share, 3)
    changed[:, peaks] -= moved
    changed[:, PERIOD_INDEX["valley"]] += moved.sum(axis=1)
    peak_kwh = float(energy[:, peaks].sum())
    return "peak_shift", changed, {"peak_kwh": round(peak_kwh, 1), "kwh_moved": round(float(moved.sum()), 1)}
