"""Monthly bill inputs from meter readings, and pricing many customer-months at once.

The demo seed (issuing bills) and the bill audit (recomputing them) both go through these
functions, from the same stored values (registers rounded to 0.01, interval energies as
float32, daily reactive energy and maximum demand rounded to 0.001), so a correct bill
recomputes to the cent.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics.billing.engine import BillInputs, compute
from analytics.billing.schedule import PERIOD_INDEX, PERIODS, TariffBook


@dataclass
class MonthInputs:
    period_start: dt.date
    period_end: dt.date
    energy: npt.NDArray[np.float64]  # (5,) kWh per period
    start_register: float | None = None
    end_register: float | None = None
    reactive_kvarh: float | None = None
    max_demand_kw: float | None = None

    @property
    def total_kwh(self) -> float:
        return float(self.energy.sum())


@dataclass
class BillRow:
    """A customer-month to price: inputs in, `lines`/`total` filled by `price_rows`."""

    customer_id: int
    category: str
    month: MonthInputs
    multiplier: float = 1.0
    year_to_date_kwh: float = 0.0
    pf_standard: float | None = None
    capacity_kva: float | None = None
    contract_demand_kw: float | None = None
    schedule_id: str = ""
    lines: list[dict[str, Any]] = field(default_factory=list)
    total: float = 0.0

    def energy_by_period(self) -> dict[str, float]:
        return {PERIODS[i]: round(float(v), 3) for i, v in enumerate(self.month.energy) if v}


def complete_months(days: list[dt.date]) -> list[tuple[int, int, int, int]]:
    """(year, month, first index, last index) of every calendar month fully covered by `days`."""
    out = []
    index = {d: i for i, d in enumerate(days)}
    months = sorted({(d.year, d.month) for d in days})
    for year, month in months:
        first, last = dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
        if first in index and last in index and index[last] - index[first] == (last - first).days:
            out.append((year, month, index[first], index[last]))
    return out


def months_from_registers(
    days: list[dt.date], registers: npt.NDArray[np.float64], multiplier: float
) -> list[MonthInputs]:
    """Energy of each complete month whose previous day has a reading: (end − start register) × multiplier."""
    out = []
    for _year, _month, first, last in complete_months(days):
        if first == 0 or (days[first] - days[first - 1]).days != 1:
            continue
        start, end = float(registers[first - 1]), float(registers[last])
        energy = np.zeros(len(PERIODS))
        energy[PERIOD_INDEX["total"]] = round((end - start) * multiplier, 2)
        out.append(MonthInputs(days[first], days[last], energy, start_register=start, end_register=end))
    return out


def period_totals(by_slot: npt.NDArray[np.float64], table: npt.NDArray[np.int8]) -> npt.NDArray[np.float64]:
    """(n, 96 or 24) energy summed over a month's days → (n, 5) energy per period, by the month's slot table."""
    per = 96 // by_slot.shape[1]
    quarter = np.repeat(by_slot / per, per, axis=1)  # hourly values spread over their quarter hours
    one_hot = np.zeros((96, len(PERIODS)))
    one_hot[np.arange(96), table] = 1.0
    return quarter @ one_hot


def months_from_intervals(
    days: list[dt.date],
    values: npt.NDArray[np.float32],
    slot_period: Callable[[dt.date], npt.NDArray[np.int8]],
    reactive: npt.NDArray[np.float64] | None = None,
    max_demand: npt.NDArray[np.float64] | None = None,
) -> list[MonthInputs]:
    """Period energy of each complete month from (days, 96 or 24) interval energy, assigned by the schedule's clock."""
    out = []
    for _year, month, first, last in complete_months(days):
        by_slot = values[first : last + 1].astype(np.float64).sum(axis=0)
        totals = period_totals(by_slot[None, :], slot_period(days[first])[month - 1])[0]
        energy: npt.NDArray[np.float64] = np.round(totals, 3)
        out.append(
            MonthInputs(
                days[first],
                days[last],
                energy,
                reactive_kvarh=None if reactive is None else round(float(reactive[first : last + 1].sum()), 3),
                max_demand_kw=None if max_demand is None else round(float(max_demand[first : last + 1].max()), 3),
            )
        )
    return out


def customer_months(
    category: str,
    days: list[dt.date],
    book: TariffBook,
    multiplier: float = 1.0,
    registers: npt.NDArray[np.float64] | None = None,
    values: npt.NDArray[np.float32] | None = None,
    reactive: npt.NDArray[np.float64] | None = None,
    max_demand: npt.NDArray[np.float64] | None = None,
) -> list[MonthInputs]:
    """A meter's complete months, from daily registers or from interval values (whichever it has)."""
    if values is not None:
        return months_from_intervals(
            days,
            values,
            lambda day: book.schedule_for(category, day).categories[category].slot_period,
            reactive,
            max_demand,
        )
    if registers is not None:
        return months_from_registers(days, registers, multiplier)
    return []


def fill_year_to_date(rows: list[BillRow]) -> list[BillRow]:
    """Year-to-date energy of each customer's bills from its earlier bills of the same calendar year.

    Only months whose whole year so far is known can be tiered: rows of a year whose January is
    missing are dropped for tiered categories (their year-to-date energy is unknown).
    """
    kept: list[BillRow] = []
    by_customer: dict[int, list[BillRow]] = defaultdict(list)
    for row in rows:
        by_customer[row.customer_id].append(row)
    for items in by_customer.values():
        items.sort(key=lambda r: r.month.period_start)
        running: dict[int, float] = {}
        for row in items:
            year = row.month.period_start.year
            if row.category in ("residential", "residential_tou"):
                if year not in running:
                    if row.month.period_start.month != 1:
                        continue
                    running[year] = 0.0
                row.year_to_date_kwh = round(running[year], 3)
                running[year] += row.month.total_kwh
            kept.append(row)
    return kept


def price_rows(rows: list[BillRow], book: TariffBook) -> None:
    """Fill `lines` and `total` of every row, one vectorised engine call per schedule and category."""
    groups: dict[tuple[str, str], list[BillRow]] = defaultdict(list)
    tariffs = {}
    for row in rows:
        schedule = book.schedule_for(row.category, row.month.period_start)
        row.schedule_id = schedule.id
        groups[(schedule.id, row.category)].append(row)
        tariffs[(schedule.id, row.category)] = schedule.categories[row.category]
    for key, items in groups.items():
        x = BillInputs.empty_like(np.array([r.month.energy for r in items]))
        x.year_to_date = np.array([r.year_to_date_kwh for r in items])
        with_pf = [r.month.reactive_kvarh is not None and r.pf_standard is not None for r in items]
        x.reactive = np.array([r.month.reactive_kvarh if ok else np.nan for r, ok in zip(items, with_pf, strict=True)])
        x.pf_standard = np.array([r.pf_standard if ok else np.nan for r, ok in zip(items, with_pf, strict=True)])
        x.capacity_kva = np.array([np.nan if r.capacity_kva is None else r.capacity_kva for r in items])
        x.contract_demand_kw = np.array(
            [np.nan if r.contract_demand_kw is None else r.contract_demand_kw for r in items]
        )
        x.max_demand_kw = np.array([np.nan if r.month.max_demand_kw is None else r.month.max_demand_kw for r in items])
        amounts = compute(tariffs[key], x, book.pf_tables)
        for i, row in enumerate(items):
            row.lines = amounts.lines(i)
            row.total = float(amounts.total[i])
