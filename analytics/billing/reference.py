"""A deliberately simple per-bill reference: one bill at a time, in Decimal, straight from the rules.

It shares nothing with the vectorised engine but the schedule data, so the tests can check the
engine against it on thousands of random requests, and the billing benchmark reports its rate.
Input: a request already reduced to period energies (see `requests.prepare`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from analytics.billing.money import decimal_half_up
from analytics.billing.schedule import PERIODS, CategoryTariff

ZERO = Decimal(0)


def _d(value: float | None) -> Decimal:
    return ZERO if value is None else Decimal(str(value))


def reference_bill(
    tariff: CategoryTariff,
    energy: dict[str, float],
    year_to_date: float = 0.0,
    reactive: float | None = None,
    pf_standard: float | None = None,
    pf_tables: dict[float, Any] | None = None,
    capacity_kva: float | None = None,
    contract_demand_kw: float | None = None,
    max_demand_kw: float | None = None,
) -> dict[str, Any]:
    lines: list[dict[str, Any]] = []
    total_kwh = sum((_d(v) for v in energy.values()), ZERO)
    if tariff.tiered:
        bounds = [Decimal(str(b)) for b in tariff.tier_bounds]
        used = _d(year_to_date)
        remaining = total_kwh
        for tier in range(len(bounds) + 1):
            upper = bounds[tier] if tier < len(bounds) else None
            room = remaining if upper is None else max(ZERO, min(remaining, upper - used))
            if room > 0:
                for name, kwh in energy.items():
                    share = _d(kwh) / total_kwh
                    part = room * share
                    if part > 0:
                        price = Decimal(str(tariff.prices[tier, PERIODS.index(name)]))
                        lines.append(
                            {
                                "item": "energy",
                                "tier": tier + 1,
                                "period": name,
                                "kwh": part,
                                "amount": decimal_half_up(part * price),
                            }
                        )
            used += room
            remaining -= room
    else:
        for name, kwh in energy.items():
            if _d(kwh) > 0:
                price = Decimal(str(tariff.prices[0, PERIODS.index(name)]))
                lines.append(
                    {"item": "energy", "period": name, "kwh": _d(kwh), "amount": decimal_half_up(_d(kwh) * price)}
                )
    basic_total = ZERO
    if tariff.basic is not None:
        b = tariff.basic
        price = Decimal(str(b.price))
        if b.basis == "capacity":
            basic_total = decimal_half_up(_d(capacity_kva) * price)
        elif b.basis == "actual_demand":
            basic_total = decimal_half_up(_d(max_demand_kw) * price)
        else:
            contract = max(_d(contract_demand_kw), _d(capacity_kva) * Decimal(str(b.floor_share_of_capacity)))
            basic_total = decimal_half_up(contract * price)
            threshold = Decimal(str(b.excess_threshold or 0)) * contract
            excess = _d(max_demand_kw) - threshold
            if b.excess_threshold is not None and excess > 0:
                basic_total += decimal_half_up(excess * price * Decimal(str(b.excess_multiplier)))
        lines.append({"item": "basic", "amount": basic_total})
    energy_total = sum((line["amount"] for line in lines if line["item"] == "energy"), ZERO)
    if reactive is not None and pf_standard is not None and pf_tables is not None:
        p, q = float(total_kwh), float(reactive)
        pf = Decimal(str(p / (p * p + q * q) ** 0.5)) if p or q else Decimal(1)
        pf = pf.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        table = pf_tables[round(pf_standard, 2)]
        percent = Decimal(str(table[int(pf * 100)]))
        amount = decimal_half_up((energy_total + basic_total) * percent / 100)
        lines.append({"item": "pf_adjustment", "power_factor": pf, "percent": percent, "amount": amount})
    if tariff.funds_per_kwh:
        lines.append({"item": "funds", "amount": decimal_half_up(total_kwh * Decimal(str(tariff.funds_per_kwh)))})
    total = sum((line["amount"] for line in lines), ZERO)
    return {"lines": lines, "total": total}
