"""The vectorised billing engine: one call prices a whole batch of bills of one category and schedule.

Inputs and outputs are arrays (one row per bill), so a partition of a million customers is a
handful of numpy operations. Rules: ../shared/spec/tariffs.md (tiers on year-to-date energy with
a proportional TOU split, capacity / contract-demand / actual-demand basic charges with the 40%
floor and the 105% rule, the power-factor adjustment on energy + basic, government funds).
Every line is rounded half up to 0.01 yuan and the total is the sum of the rounded lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analytics.billing.money import round_half_up
from analytics.billing.schedule import PERIODS, CategoryTariff

F64 = npt.NDArray[np.float64]


@dataclass
class BillInputs:
    """A batch of bills of one category under one schedule. Absent optional values are NaN."""

    energy: F64  # (n, 5) kWh per period: total, sharp, peak, flat, valley
    year_to_date: F64  # (n,) kWh billed earlier in the year (tiered categories)
    reactive: F64  # (n,) kvarh, NaN: no power-factor adjustment
    pf_standard: F64  # (n,) 0.90 / 0.85 / 0.80, NaN with reactive
    capacity_kva: F64  # (n,)
    contract_demand_kw: F64  # (n,)
    max_demand_kw: F64  # (n,)
    tier_fraction: F64  # (n,) share of the year the tier bounds apply to (1.0 unless pro-rated)

    @classmethod
    def empty_like(cls, energy: F64) -> BillInputs:
        n = energy.shape[0]
        nan = np.full(n, np.nan)
        return cls(energy, np.zeros(n), nan, nan.copy(), nan.copy(), nan.copy(), nan.copy(), np.ones(n))

    def __len__(self) -> int:
        return int(self.energy.shape[0])


@dataclass
class BillAmounts:
    """The priced lines of a batch, in fixed slots; `lines()` turns one row into contract JSON."""

    tariff: CategoryTariff
    energy_kwh: F64  # (n, tiers, 5)
    energy_price: F64  # (tiers, 5)
    energy_amount: F64  # (n, tiers, 5)
    basic_quantity: F64  # (n, 2): billed base quantity, quantity above the excess threshold
    basic_price: F64  # (2,)
    basic_amount: F64  # (n, 2)
    power_factor: F64  # (n,) NaN when not adjusted
    pf_percent: F64  # (n,)
    pf_amount: F64  # (n,)
    funds_kwh: F64  # (n,)
    funds_amount: F64  # (n,)
    total: F64  # (n,)

    def lines(self, i: int) -> list[dict[str, object]]:
        t = self.tariff
        out: list[dict[str, object]] = []
        for tier in range(self.energy_kwh.shape[1]):
            for p in t.used_periods:
                kwh = float(self.energy_kwh[i, tier, p])
                if kwh == 0:
                    continue
                line: dict[str, object] = {"item": "energy"}
                if t.tiered:
                    line["tier"] = tier + 1
                if t.tou:
                    line["period"] = PERIODS[p]
                line |= {"kwh": round(kwh, 3), "price": float(self.energy_price[tier, p])}
                line["amount"] = float(self.energy_amount[i, tier, p])
                out.append(line)
        if t.basic is not None:
            out.append(
                {
                    "item": "basic",
                    "basis": t.basic.basis,
                    "quantity": round(float(self.basic_quantity[i, 0]), 3),
                    "price": float(self.basic_price[0]),
                    "amount": float(self.basic_amount[i, 0]),
                }
            )
            if self.basic_quantity[i, 1] > 0:
                out.append(
                    {
                        "item": "basic",
                        "basis": "demand_excess",
                        "quantity": round(float(self.basic_quantity[i, 1]), 3),
                        "price": float(self.basic_price[1]),
                        "amount": float(self.basic_amount[i, 1]),
                    }
                )
        if not np.isnan(self.power_factor[i]):
            out.append(
                {
                    "item": "pf_adjustment",
                    "power_factor": float(self.power_factor[i]),
                    "percent": float(self.pf_percent[i]),
                    "amount": float(self.pf_amount[i]),
                }
            )
        if t.funds_per_kwh:
            out.append(
                {
                    "item": "funds",
                    "kwh": round(float(self.funds_kwh[i]), 3),
                    "price": t.funds_per_kwh,
                    "amount": float(self.funds_amount[i]),
                }
            )
        return out


def split_tiers(total: F64, year_to_date: F64, bounds: tuple[float, ...], fraction: F64) -> F64:
    """Energy of each bill in each annual tier: (n, len(bounds)+1). A month crossing a bound is split."""
    n = total.shape[0]
    edges = np.zeros((n, len(bounds) + 2))
    edges[:, 1:-1] = np.asarray(bounds)[None, :] * fraction[:, None]
    edges[:, -1] = np.inf
    low = year_to_date[:, None]
    high = (year_to_date + total)[:, None]
    return np.clip(np.minimum(high, edges[:, 1:]) - np.maximum(low, edges[:, :-1]), 0.0, None)


def power_factor(active: F64, reactive: F64) -> F64:
    """P / sqrt(P² + Q²), rounded half up to two decimals; NaN where there is no reactive reading."""
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(np.hypot(active, reactive) > 0, active / np.hypot(active, reactive), 1.0)
    return np.where(np.isnan(reactive), np.nan, round_half_up(raw, 2))


CHUNK = 65_536  # rows priced together: large enough for numpy, small enough for the CPU caches


def compute(tariff: CategoryTariff, x: BillInputs, pf_tables: dict[float, F64]) -> BillAmounts:
    """Price a batch. The caller has validated the inputs (non-negative, fields the category needs)."""
    n = len(x)
    if n <= CHUNK:
        return _compute(tariff, x, pf_tables)
    parts = [_compute(tariff, _rows(x, slice(i, i + CHUNK)), pf_tables) for i in range(0, n, CHUNK)]
    first = parts[0]
    return BillAmounts(
        tariff,
        *(
            np.concatenate([getattr(p, name) for p in parts])
            if name not in ("energy_price", "basic_price")
            else getattr(first, name)
            for name in (
                "energy_kwh",
                "energy_price",
                "energy_amount",
                "basic_quantity",
                "basic_price",
                "basic_amount",
                "power_factor",
                "pf_percent",
                "pf_amount",
                "funds_kwh",
                "funds_amount",
                "total",
            )
        ),
    )


def _rows(x: BillInputs, rows: slice) -> BillInputs:
    return BillInputs(
        *(
            getattr(x, f)[rows]
            for f in (
                "energy",
                "year_to_date",
                "reactive",
                "pf_standard",
                "capacity_kva",
                "contract_demand_kw",
                "max_demand_kw",
                "tier_fraction",
            )
        )
    )


def _compute(tariff: CategoryTariff, x: BillInputs, pf_tables: dict[float, F64]) -> BillAmounts:
    n = len(x)
    prices = tariff.prices
    tiers = prices.shape[0]
    used = list(tariff.used_periods)
    used_energy = x.energy[:, used]  # only the periods this tariff has: one column for flat tariffs
    total = used_energy.sum(axis=1)
    if tariff.tiered:
        parts = split_tiers(total, x.year_to_date, tariff.tier_bounds, x.tier_fraction)
        if len(used) == 1:
            used_kwh = parts[:, :, None]
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                shares = np.where(total[:, None] > 0, used_energy / total[:, None], 0.0)
            used_kwh = parts[:, :, None] * shares[:, None, :]
    else:
        used_kwh = used_energy[:, None, :]
    used_amount = round_half_up(used_kwh * np.nan_to_num(prices[:, used])[None])
    energy_kwh = np.zeros((n, tiers, len(PERIODS)))
    energy_amount = np.zeros((n, tiers, len(PERIODS)))
    energy_kwh[:, :, used] = used_kwh
    energy_amount[:, :, used] = used_amount

    basic_quantity = np.zeros((n, 2))
    basic_price = np.zeros(2)
    if tariff.basic is not None:
        b = tariff.basic
        basic_price[:] = (b.price, b.price * b.excess_multiplier)
        if b.basis == "capacity":
            basic_quantity[:, 0] = x.capacity_kva
        elif b.basis == "actual_demand":
            basic_quantity[:, 0] = x.max_demand_kw
        else:
            floor = np.nan_to_num(x.capacity_kva) * b.floor_share_of_capacity
            contract = np.maximum(x.contract_demand_kw, floor)
            basic_quantity[:, 0] = contract
            if b.excess_threshold is not None:
                basic_quantity[:, 1] = np.clip(x.max_demand_kw - b.excess_threshold * contract, 0.0, None)
        basic_quantity = np.round(basic_quantity, 6)
    basic_amount = round_half_up(basic_quantity * basic_price[None, :])

    pf = power_factor(total, x.reactive)
    pf_percent = np.zeros(n)
    adjusted = ~np.isnan(pf)
    if adjusted.any():
        for standard in np.unique(x.pf_standard[adjusted]):
            rows = adjusted & (x.pf_standard == standard)
            table = pf_tables[round(float(standard), 2)]
            pf_percent[rows] = table[np.rint(pf[rows] * 100).astype(int)]
    base = used_amount.sum(axis=(1, 2)) + basic_amount.sum(axis=1)
    pf_amount = np.where(adjusted, round_half_up(base * pf_percent / 100.0), 0.0)

    funds_kwh = total if tariff.funds_per_kwh else np.zeros(n)
    funds_amount = round_half_up(funds_kwh * tariff.funds_per_kwh)
    total_amount = round_half_up(base + pf_amount + funds_amount)
    return BillAmounts(
        tariff,
        energy_kwh,
        prices,
        energy_amount,
        basic_quantity,
        basic_price,
        basic_amount,
        pf,
        pf_percent,
        pf_amount,
        funds_kwh,
        funds_amount,
        total_amount,
    )
