"""Bill audit: compare stored bills with bills recomputed from readings and schedules, with a reason code.

Reason codes (tariffs.md §5): DUPLICATE_BILL, NEGATIVE_OR_ROLLBACK, READING_GAP, ENERGY_MISMATCH
(billed energy differs from the meter data although the registers chain), WRONG_TOU_SPLIT,
WRONG_TIER, WRONG_PRICE, BASIC_CHARGE_ERROR, PF_MISAPPLIED, ARITHMETIC. The first that applies
is reported: each later check assumes the earlier ones passed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from analytics.billing.money import round_half_up
from analytics.billing.monthly import BillRow

REASONS = (
    "DUPLICATE_BILL",
    "NEGATIVE_OR_ROLLBACK",
    "READING_GAP",
    "ENERGY_MISMATCH",
    "WRONG_TOU_SPLIT",
    "WRONG_TIER",
    "WRONG_PRICE",
    "BASIC_CHARGE_ERROR",
    "PF_MISAPPLIED",
    "ARITHMETIC",
)
KWH_TOLERANCE = 0.002
MONEY_TOLERANCE = 0.005


@dataclass
class StoredBill:
    id: int
    customer_id: int
    period_start: dt.date
    category: str
    start_register: float | None
    end_register: float | None
    lines: list[dict[str, Any]]
    total: float


@dataclass
class Finding:
    bill_id: int
    customer_id: int
    reason: str
    stored: float
    recomputed: float | None
    detail: str

    @property
    def difference(self) -> float | None:
        return None if self.recomputed is None else round(self.stored - self.recomputed, 2)


def _sum_by(lines: list[dict[str, Any]], key: str) -> dict[Any, float]:
    out: dict[Any, float] = defaultdict(float)
    for line in lines:
        if line.get("item") == "energy":
            out[line.get(key)] += float(line.get("kwh", 0.0))
    return {k: v for k, v in out.items() if abs(v) > KWH_TOLERANCE}


def _differs(a: dict[Any, float], b: dict[Any, float], tolerance: float = KWH_TOLERANCE) -> bool:
    return any(abs(a.get(k, 0.0) - b.get(k, 0.0)) > tolerance for k in set(a) | set(b))


def _items(lines: list[dict[str, Any]], item: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("item") == item]


def _arithmetic_problem(lines: list[dict[str, Any]], total: float) -> str | None:
    for line in lines:
        if line.get("item") in ("energy", "funds", "basic"):
            qty = float(line.get("kwh", line.get("quantity", 0.0)))
            expected = float(round_half_up(qty * float(line.get("price", 0.0))))
            # the shown kWh is rounded to 0.001 while the amount was priced on the exact split: allow 1 fen
            if abs(expected - float(line.get("amount", 0.0))) > 0.011:
                return f"{line['item']} line: {qty} × {line.get('price')} ≠ {line.get('amount')}"
    line_sum = round(sum(float(line.get("amount", 0.0)) for line in lines), 2)
    if abs(line_sum - total) > MONEY_TOLERANCE:
        return f"the lines add up to {line_sum}, the bill says {total}"
    return None


def check_bill(stored: StoredBill, expected: BillRow, previous: StoredBill | None, previous_ok: bool) -> Finding | None:
    """One bill against its recomputation; `previous` is the customer's bill before it (if any)."""

    def finding(reason: str, detail: str) -> Finding:
        return Finding(stored.id, stored.customer_id, reason, stored.total, expected.total, detail)

    m = expected.month
    if stored.start_register is not None and stored.end_register is not None:
        if stored.end_register < stored.start_register:
            return finding(
                "NEGATIVE_OR_ROLLBACK",
                f"读数倒走：止码 {stored.end_register} 小于起码 {stored.start_register}，期间无换表记录",
            )
        chain = previous.end_register if previous is not None and previous_ok else m.start_register
        if chain is not None and abs(stored.start_register - chain) > 0.005:
            return finding("READING_GAP", f"起码 {stored.start_register} 与上期止码 {chain} 不衔接")
    if any(float(x.get("kwh", 0.0)) < 0 for x in _items(stored.lines, "energy")):
        return finding("NEGATIVE_OR_ROLLBACK", "电量为负")
    s_period, e_period = _sum_by(stored.lines, "period"), _sum_by(expected.lines, "period")
    s_total, e_total = sum(s_period.values()), sum(e_period.values())
    if abs(s_total - e_total) > KWH_TOLERANCE * 5:
        return finding("ENERGY_MISMATCH", f"计费电量 {s_total:.3f} kWh，表计数据 {e_total:.3f} kWh")
    if _differs(s_period, e_period):
        return finding("WRONG_TOU_SPLIT", f"分时电量 {_fmt(s_period)}，应为 {_fmt(e_period)}")
    if _differs(_sum_by(stored.lines, "tier"), _sum_by(expected.lines, "tier")):
        return finding(
            "WRONG_TIER",
            f"阶梯电量 {_fmt(_sum_by(stored.lines, 'tier'))}，应为 {_fmt(_sum_by(expected.lines, 'tier'))}"
            f"（年累计 {expected.year_to_date_kwh:g} kWh）",
        )
    prices = {(x.get("tier"), x.get("period")): float(x["price"]) for x in _items(expected.lines, "energy")}
    for line in _items(stored.lines, "energy") + _items(stored.lines, "funds"):
        key = (line.get("tier"), line.get("period"))
        want = prices.get(key) if line["item"] == "energy" else _first(expected.lines, "funds", "price")
        if want is not None and abs(float(line.get("price", 0.0)) - want) > 1e-9:
            return finding("WRONG_PRICE", f"单价 {line.get('price')} 不在现行价目表中（应为 {want}）")
    s_basic = {x.get("basis"): float(x.get("quantity", 0.0)) for x in _items(stored.lines, "basic")}
    e_basic = {x.get("basis"): float(x.get("quantity", 0.0)) for x in _items(expected.lines, "basic")}
    if _differs(s_basic, e_basic, 0.001):
        return finding("BASIC_CHARGE_ERROR", f"基本电费计费量 {_fmt(s_basic)}，应为 {_fmt(e_basic)}")
    s_pf, e_pf = _items(stored.lines, "pf_adjustment"), _items(expected.lines, "pf_adjustment")
    if len(s_pf) != len(e_pf) or any(
        abs(float(a.get("percent", 0)) - float(b.get("percent", 0))) > 1e-9 for a, b in zip(s_pf, e_pf, strict=False)
    ):
        got = s_pf[0].get("percent") if s_pf else "无"
        want_pct = e_pf[0].get("percent") if e_pf else "无"
        return finding("PF_MISAPPLIED", f"力调比例 {got}%，应为 {want_pct}%")
    problem = _arithmetic_problem(stored.lines, stored.total)
    if problem or abs(stored.total - expected.total) > MONEY_TOLERANCE:
        return finding("ARITHMETIC", problem or f"金额 {stored.total}，重算 {expected.total}")
    return None


def _first(lines: list[dict[str, Any]], item: str, key: str) -> float | None:
    found = _items(lines, item)
    return float(found[0][key]) if found else None


def _fmt(values: dict[Any, float]) -> str:
    return "、".join(f"{k}:{v:.2f}" for k, v in sorted(values.items(), key=lambda kv: str(kv[0])))


def audit_customer(stored: list[StoredBill], expected: dict[dt.date, BillRow]) -> list[Finding]:
    """Every stored bill of one customer, in period order, against its recomputation."""
    findings: list[Finding] = []
    seen: set[dt.date] = set()
    previous: StoredBill | None = None
    previous_ok = True
    for bill in sorted(stored, key=lambda b: (b.period_start, b.id)):
        if bill.period_start in seen:
            findings.append(
                Finding(bill.id, bill.customer_id, "DUPLICATE_BILL", bill.total, 0.0, "同一计费周期重复出账")
            )
            continue
        seen.add(bill.period_start)
        row = expected.get(bill.period_start)
        if row is None:
            findings.append(
                Finding(bill.id, bill.customer_id, "READING_GAP", bill.total, None, "该周期没有完整的表计数据")
            )
            previous, previous_ok = bill, False
            continue
        found = check_bill(bill, row, previous, previous_ok)
        if found:
            findings.append(found)
        previous = bill
        previous_ok = bill.end_register is None or (
            row.month.end_register is not None and abs(bill.end_register - row.month.end_register) <= 0.005
        )
    return findings
