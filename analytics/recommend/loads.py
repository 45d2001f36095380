"""A customer's metered load as the recommendation code sees it, and its monthly bill inputs per plan.

`CustomerLoad` holds one customer's record fields and daily (and, when metered, 15-minute) energy
over the data range. `monthly_inputs` turns it into the bill inputs of any tariff category it may
choose, through the same `customer_months` the bills and the bill audit use, so a plan re-billed
here is priced on exactly the inputs a real bill would have.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.billing.monthly import MonthInputs, customer_months
from analytics.billing.schedule import PERIOD_INDEX, TariffBook

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
HOUSEHOLD_CATEGORIES = ("residential", "residential_tou")
TWO_PART_CATEGORIES = ("industrial_capacity", "industrial_demand", "industrial_actual_demand")


@dataclass
class CustomerLoad:
    """One customer's record and metered energy (kWh after the multiplier)."""

    customer_id: int
    account_no: str
    customer_category: str  # residential / shared / commercial / industrial
    tariff_category: str  # billing category (data/tariffs)
    capacity_kva: float | None
    contract_demand_kw: float | None
    pf_standard: float | None
    multiplier: float
    days: list[dt.date]
    daily_kwh: F64  # (days,)
    registers: F64 | None = None  # (days,) end-of-day register, daily-read meters
    intervals: F32 | None = None  # (days, 96) 15-minute kWh, interval meters
    reactive: F64 | None = None  # (days,) kvarh
    max_demand: F64 | None = None  # (days,) kW

    @property
    def has_intervals(self) -> bool:
        return self.intervals is not None and len(self.intervals) > 0

    @property
    def household(self) -> bool:
        return self.tariff_category in HOUSEHOLD_CATEGORIES

    def month_index(self) -> dict[dt.date, list[int]]:
        """First day of each month → indices of its days in `days`."""
        out: dict[dt.date, list[int]] = {}
        for i, day in enumerate(self.days):
            out.setdefault(day.replace(day=1), []).append(i)
        return out


def validate_loads(frame: pd.DataFrame) -> pd.DataFrame:
    """The offending rows of a load summary frame (customer_id, days, daily_kwh_mean): empty when fine."""
    bad = frame["days"].lt(28) | frame["daily_kwh_mean"].isna() | frame["daily_kwh_mean"].lt(0)
    return frame[bad]


def plan_categories(load: CustomerLoad) -> tuple[str, ...]:
    """The tariff categories this customer may choose between (its own first)."""
    if load.tariff_category in HOUSEHOLD_CATEGORIES:
        return load.tariff_category, *[c for c in HOUSEHOLD_CATEGORIES if c != load.tariff_category]
    if load.tariff_category in TWO_PART_CATEGORIES and load.capacity_kva:
        return load.tariff_category, *[c for c in TWO_PART_CATEGORIES if c != load.tariff_category]
    return (load.tariff_category,)


def same_clock(book: TariffBook, a: str, b: str) -> bool:
    """Whether two categories assign every slot of every month to the same period in every schedule."""
    having = [s for s in book.schedules if a in s.categories or b in s.categories]
    return all(
        a in s.categories
        and b in s.categories
        and np.array_equal(s.categories[a].slot_period, s.categories[b].slot_period)
        for s in having
    )


def monthly_inputs_by_category(
    load: CustomerLoad, categories: tuple[str, ...], book: TariffBook, valley_share: dict[int, float] | None = None
) -> dict[str, dict[dt.date, MonthInputs]]:
    """`monthly_inputs` for several categories, derived once per distinct clock (two-part options share one)."""
    out: dict[str, dict[dt.date, MonthInputs]] = {}
    registers: list[MonthInputs] | None = None
    for category in categories:
        twin = next((c for c in out if same_clock(book, c, category)), None)
        if twin is not None:
            out[category] = out[twin]
        elif not load.has_intervals and load.registers is not None:
            if registers is None:
                registers = customer_months(category, load.days, book, load.multiplier, registers=load.registers)
            out[category] = _split(registers, category, book, load.days[-1], valley_share)
        else:
            out[category] = monthly_inputs(load, category, book, valley_share)
    return out


def monthly_inputs(
    load: CustomerLoad, category: str, book: TariffBook, valley_share: dict[int, float] | None = None
) -> dict[dt.date, MonthInputs]:
    """Complete months of bill inputs under `category`, keyed by the month's first day.

    A daily-read household has no peak/valley split: under residential_tou its month is split by
    `valley_share` (calendar month → share, an estimate; see `valley_share_estimate`), rounded to the
    watt-hour; with no estimate the TOU option is not offered (empty result).
    """
    if load.has_intervals:
        months = customer_months(
            category,
            load.days,
            book,
            load.multiplier,
            values=load.intervals,
            reactive=load.reactive,
            max_demand=load.max_demand,
        )
        return {m.period_start: m for m in months}
    if load.registers is None:
        return {}
    months = customer_months(category, load.days, book, load.multiplier, registers=load.registers)
    return _split(months, category, book, load.days[-1], valley_share)


def _split(
    months: list[MonthInputs], category: str, book: TariffBook, on: dt.date, valley_share: dict[int, float] | None
) -> dict[dt.date, MonthInputs]:
    """Register months as they are for a single-period category, split by the valley-share estimate for TOU."""
    tariff_periods = book.schedule_for(category, on).categories[category].used_periods
    if tariff_periods == (PERIOD_INDEX["total"],):
        return {m.period_start: m for m in months}
    if not valley_share:
        return {}
    out = {}
    for m in months:
        total = m.total_kwh
        valley = round(total * valley_share[m.period_start.month], 3)
        energy = np.zeros_like(m.energy)
        energy[PERIOD_INDEX["valley"]] = valley
        energy[PERIOD_INDEX["peak"]] = round(total - valley, 3)
        out[m.period_start] = MonthInputs(m.period_start, m.period_end, energy, m.start_register, m.end_register)
    return out


def valley_share(load: CustomerLoad, book: TariffBook) -> dict[int, float]:
    """Measured residential valley share (22:00–08:00) of an interval-metered customer, per calendar month."""
    out: dict[int, float] = {}
    for start, m in monthly_inputs(load, "residential_tou", book).items():
        if m.total_kwh > 0:
            out[start.month] = float(m.energy[PERIOD_INDEX["valley"]] / m.total_kwh)
    return out


def valley_share_estimate(loads: list[CustomerLoad], book: TariffBook, quantile: float) -> dict[int, float]:
    """Per calendar month, a low quantile of the valley share measured on interval-metered households.

    Daily-read households have no measured split; the estimate deliberately sits low (households that
    use little at night), so a TOU saving claimed on it is one most households would reach.
    """
    shares: dict[int, list[float]] = {}
    for load in loads:
        if load.household and load.has_intervals:
            for month, share in valley_share(load, book).items():
                shares.setdefault(month, []).append(share)
    return {m: round(float(np.quantile(v, quantile)), 4) for m, v in sorted(shares.items()) if len(v) >= 5}
