"""Realistic billing faults, injected on purpose into a known fraction of the demo's bills.

Each fault imitates what goes wrong in a real billing system (an annual tier counter reset, peak
and valley swapped, a stale price, the wrong power-factor table, a basic charge without the
40%/105% rules, a mistyped amount, a bill issued twice, a start reading that does not chain, a
register typed lower than the last one) and is recorded with its reason code, so the audit can
be checked: it must find every one with the right code and nothing else.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analytics.billing.money import round_half_up
from analytics.billing.monthly import BillRow, price_rows
from analytics.billing.schedule import PERIOD_INDEX, TariffBook


@dataclass
class InjectedFault:
    row: BillRow  # the corrupted (or duplicated) stored row
    reason: str
    detail: str


def _reprice(row: BillRow, book: TariffBook) -> None:
    price_rows([row], book)


def _retotal(row: BillRow) -> None:
    """After a line was changed the way a faulty system would: recompute pf and total from the lines."""
    base = sum(x["amount"] for x in row.lines if x["item"] in ("energy", "basic"))
    for line in row.lines:
        if line["item"] == "pf_adjustment":
            line["amount"] = float(round_half_up(base * line["percent"] / 100.0))
    row.total = float(round_half_up(sum(x["amount"] for x in row.lines)))


def _wrong_tier(row: BillRow, book: TariffBook, rng: np.random.Generator) -> str | None:
    if not row.category.startswith("residential") or row.year_to_date_kwh < 100:
        return None
    true_ytd = row.year_to_date_kwh
    before = [(x.get("tier"), round(x["kwh"], 3)) for x in row.lines]
    row.year_to_date_kwh = 0.0  # the annual counter was reset
    _reprice(row, book)
    if [(x.get("tier"), round(x["kwh"], 3)) for x in row.lines] == before:
        return None
    return f"annual counter reset: priced as if year-to-date were 0 instead of {true_ytd:g} kWh"


def _wrong_tou_split(row: BillRow, book: TariffBook, rng: np.random.Generator) -> str | None:
    peak, valley = PERIOD_INDEX["peak"], PERIOD_INDEX["valley"]
    e = row.month.energy
    if abs(e[peak] - e[valley]) < 1.0:
        return None
    row.month = copy.deepcopy(row.month)
    row.month.energy[[peak, valley]] = row.month.energy[[valley, peak]]
    _reprice(row, book)
    return "peak and valley registers swapped"


def _wrong_price(row: BillRow, book: TariffBook, rng: np.random.Generator) -> str | None:
    energy = [x for x in row.lines if x["item"] == "energy" and x["kwh"] > 1]
    if not energy:
        return None
    line = energy[int(rng.integers(len(energy)))]
    old = line["price"]
    line["price"] = round(old + float(rng.choice([-0.05, 0.03, 0.05])), 4)
    line["amount"] = float(round_half_up(line["kwh"] * line["price"]))
    _retotal(row)
    return f"stale price {line['price']} instead of {old}"


def _pf_misapplied(row: BillRow, book: TariffBook, rng: np.random.Generator) -> str | None:
    pf = [x for x in row.lines if x["item"] == "pf_adjustment"]
    if not pf or row.pf_standard is None:
        return None
    line = pf[0]
    for other in (0.80, 0.85, 0.90):
        if abs(other - row.pf_standard) < 1e-9:
            continue
        percent = float(book.pf_table(other)[int(round(line["power_factor"] * 100))])
        if percent != line["percent"]:
            old = line["percent"]
            line["percent"] = percent
            _retotal(row)
            return f"table of standard {other:.2f} used instead of {row.pf_standard:.2f} ({old}% → {percent}%)"
    return None


def _basic_error(row: BillRow, book: TariffBook, rng: np.random.Generator) -> str | None:
    basic = [x for x in row.lines if x["item"] == "basic"]
    if not basic:
        return None
    if len(basic) == 2:
        row.lines.remove(basic[1])
        detail = "demand above 105% of the contract not charged at double price"
    elif basic[0]["basis"] == "demand" and row.contract_demand_kw and basic[0]["quantity"] > row.contract_demand_kw:
        basic[0]["quantity"] = row.contract_demand_kw
        detail = "40% floor of the capacity not applied"
    else:
        basic[0]["quantity"] = round(basic[0]["quantity"] * 0.8, 3)
        detail = "basic charge on 80% of the billed quantity"
    basic[0]["amount"] = float(round_half_up(basic[0]["quantity"] * basic[0]["price"]))
    _retotal(row)
    return detail


def _arithmetic(row: BillRow, book: TariffBook, rng: np.random.Generator) -> str | None:
    energy = [x for x in row.lines if x["item"] == "energy"]
    if not energy:
        return None
    line = energy[0]
    delta = float(rng.choice([1.0, 10.0, -1.0, 0.9]))
    line["amount"] = round(line["amount"] + delta, 2)
    row.total = float(round_half_up(sum(x["amount"] for x in row.lines)))
    return f"energy line amount off by {delta}"


def _reading_gap(row: BillRow, book: TariffBook, rng: np.random.Generator) -> str | None:
    m = row.month
    if m.start_register is None or m.end_register is None or m.total_kwh < 20:
        return None
    shift = round(float(rng.uniform(0.2, 0.6)) * m.total_kwh / row.multiplier, 2)
    row.month = copy.deepcopy(m)
    row.month.start_register = round(m.start_register - shift, 2)
    row.month.energy[PERIOD_INDEX["total"]] = round((m.end_register - row.month.start_register) * row.multiplier, 2)
    _reprice(row, book)
    return f"start reading {row.month.start_register} does not chain from {m.start_register}"


def _rollback(row: BillRow, book: TariffBook, rng: np.random.Generator) -> str | None:
    m = row.month
    if m.start_register is None or m.end_register is None or m.total_kwh < 20:
        return None
    row.month = copy.deepcopy(m)
    row.month.end_register = round(m.start_register - float(rng.uniform(5, 50)), 2)
    kwh = round((row.month.end_register - m.start_register) * row.multiplier, 2)
    row.month.energy[PERIOD_INDEX["total"]] = kwh
    price = next(x["price"] for x in row.lines if x["item"] == "energy")
    row.lines = [{"item": "energy", "tier": 1, "kwh": kwh, "price": price, "amount": float(round_half_up(kwh * price))}]
    row.total = row.lines[0]["amount"]
    return f"end reading typed as {row.month.end_register}, below the start reading {m.start_register}"


INJECTORS: dict[str, Callable[[BillRow, TariffBook, np.random.Generator], str | None]] = {
    "WRONG_TIER": _wrong_tier,
    "WRONG_TOU_SPLIT": _wrong_tou_split,
    "WRONG_PRICE": _wrong_price,
    "PF_MISAPPLIED": _pf_misapplied,
    "BASIC_CHARGE_ERROR": _basic_error,
    "ARITHMETIC": _arithmetic,
    "READING_GAP": _reading_gap,
    "NEGATIVE_OR_ROLLBACK": _rollback,
}


def inject_bill_faults(
    rows: list[BillRow], book: TariffBook, rng: np.random.Generator, fraction: float = 0.02
) -> tuple[list[BillRow], list[InjectedFault]]:
    """Corrupt about `fraction` of the rows (every reason code), plus duplicates; returns rows to store."""
    target = max(len(INJECTORS) + 1, int(round(len(rows) * fraction)))
    reasons = [*INJECTORS, "DUPLICATE_BILL"]
    order = [int(i) for i in rng.permutation(len(rows))]
    faults: list[InjectedFault] = []
    touched: set[tuple[int, int]] = set()
    out = list(rows)
    counts = dict.fromkeys(reasons, 0)

    def attempt(index: int, reason: str) -> bool:
        row = rows[index]
        month = row.month.period_start.year * 12 + row.month.period_start.month
        # neighbours of a corrupted bill stay clean, so each fault is judged on its own
        if any((row.customer_id, month + d) in touched for d in (-1, 0, 1)):
            return False
        corrupted = copy.deepcopy(row)
        if reason == "DUPLICATE_BILL":
            detail: str | None = "bill issued twice for the same period"
        else:
            detail = INJECTORS[reason](corrupted, book, rng)
        if detail is None:
            return False
        if reason == "DUPLICATE_BILL":
            out.append(corrupted)
        else:
            out[index] = corrupted
        faults.append(InjectedFault(corrupted, reason, detail))
        touched.add((row.customer_id, month))
        counts[reason] += 1
        return True

    for reason in reasons:  # every reason code at least once, when some bill allows it
        next((i for i in order if attempt(i, reason)), None)
    for index in order:  # then the least-used reason that applies, so rare ones are not starved
        if len(faults) >= target:
            break
        for reason in sorted(reasons, key=lambda r: (counts[r], reasons.index(r))):
            if attempt(index, reason):
                break
    return out, faults
