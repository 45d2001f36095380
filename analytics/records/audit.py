"""Customer-record audit: malformed or missing fields, likely duplicates, and records that contradict the meter.

Reason codes: MISSING_FIELD, INVALID_ID_NUMBER, INVALID_PHONE, INVALID_ACCOUNT_NO, DUPLICATE_ID_NUMBER,
DUPLICATE_PHONE, DUPLICATE_ADDRESS, CATEGORY_MISMATCH (tariff category against the load shape),
CAPACITY_MISMATCH (contracted capacity against metered demand), MULTIPLIER_MISMATCH (meter multiplier
against the connection). Every finding names the field and says what is wrong in Chinese.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from analytics.records.rules import account_problem, id_number_problem, normalise_address, phone_problem

RECORD_REASONS = (
    "MISSING_FIELD",
    "INVALID_ID_NUMBER",
    "INVALID_PHONE",
    "INVALID_ACCOUNT_NO",
    "DUPLICATE_ID_NUMBER",
    "DUPLICATE_PHONE",
    "DUPLICATE_ADDRESS",
    "CATEGORY_MISMATCH",
    "CAPACITY_MISMATCH",
    "MULTIPLIER_MISMATCH",
)
HOUSEHOLD_TARIFFS = ("residential", "residential_tou")
HOUSEHOLD_MAX_KWH_PER_DAY = 100.0  # a household above this looks like a business or a workshop
BUSINESS_MIN_KWH_PER_DAY = 20.0  # a C&I account below this (and with small demand) looks like a household
CT_CAPACITY_KVA = 100.0  # from this capacity a meter is connected through current transformers


@dataclass
class CustomerRecord:
    id: int
    account_no: str
    name: str
    id_number: str | None
    phone: str | None
    address: str
    customer_category: str
    tariff_category: str
    capacity_kva: float | None
    multiplier: float | None  # of the meter in service
    mean_daily_kwh: float | None  # from readings
    max_demand_kw: float | None  # metered maximum demand over the data (interval meters)


@dataclass
class RecordFinding:
    customer_id: int
    reason: str
    field: str
    detail: str


def _field_checks(r: CustomerRecord) -> list[RecordFinding]:
    out = []
    for name in ("name", "id_number", "phone", "address"):
        if not (getattr(r, name) or "").strip():
            out.append(RecordFinding(r.id, "MISSING_FIELD", name, f"{name} 为空"))
    checks: list[tuple[str, str, Callable[[str], str | None]]] = [
        ("id_number", "INVALID_ID_NUMBER", id_number_problem),
        ("phone", "INVALID_PHONE", phone_problem),
        ("account_no", "INVALID_ACCOUNT_NO", account_problem),
    ]
    for name, reason, check in checks:
        value = getattr(r, name)
        if value and value.strip() and (problem := check(value)):
            out.append(RecordFinding(r.id, reason, name, f"{problem}：{value}"))
    return out


def _duplicates(records: list[CustomerRecord]) -> list[RecordFinding]:
    out = []
    keys: list[tuple[str, str, Callable[[CustomerRecord], str]]] = [
        ("id_number", "DUPLICATE_ID_NUMBER", lambda r: (r.id_number or "").strip().upper()),
        ("phone", "DUPLICATE_PHONE", lambda r: (r.phone or "").replace(" ", "").replace("-", "")),
        ("address", "DUPLICATE_ADDRESS", lambda r: normalise_address(r.address or "")),
    ]
    for name, reason, key in keys:
        groups: dict[str, list[CustomerRecord]] = defaultdict(list)
        for r in records:
            if k := key(r):
                groups[k].append(r)
        for members in groups.values():
            if len(members) < 2:
                continue
            members.sort(key=lambda r: r.id)
            for r in members[1:]:
                out.append(
                    RecordFinding(r.id, reason, name, f"与户号 {members[0].account_no} 的{name}相同，疑似重复建档")
                )
    return out


def _meter_checks(r: CustomerRecord) -> list[RecordFinding]:
    out = []
    household = r.tariff_category in HOUSEHOLD_TARIFFS
    business = r.tariff_category.startswith(("commercial", "industrial"))
    if r.mean_daily_kwh is not None:
        if household and r.mean_daily_kwh > HOUSEHOLD_MAX_KWH_PER_DAY:
            out.append(
                RecordFinding(
                    r.id,
                    "CATEGORY_MISMATCH",
                    "tariff_category",
                    f"居民电价但日均用电 {r.mean_daily_kwh:.0f} kWh，用电特征像工商业",
                )
            )
        small = r.max_demand_kw is None or r.max_demand_kw < 10
        if business and r.mean_daily_kwh < BUSINESS_MIN_KWH_PER_DAY and small:
            out.append(
                RecordFinding(
                    r.id,
                    "CATEGORY_MISMATCH",
                    "tariff_category",
                    f"工商业电价但日均用电仅 {r.mean_daily_kwh:.1f} kWh，用电特征像居民",
                )
            )
    if r.capacity_kva and r.max_demand_kw is not None:
        if r.max_demand_kw > 1.2 * r.capacity_kva:
            out.append(
                RecordFinding(
                    r.id,
                    "CAPACITY_MISMATCH",
                    "capacity_kva",
                    f"最大需量 {r.max_demand_kw:.0f} kW 超过档案容量 {r.capacity_kva:.0f} kVA 的 120%",
                )
            )
        elif r.max_demand_kw < 0.03 * r.capacity_kva:
            out.append(
                RecordFinding(
                    r.id,
                    "CAPACITY_MISMATCH",
                    "capacity_kva",
                    f"最大需量 {r.max_demand_kw:.1f} kW 不足档案容量 {r.capacity_kva:.0f} kVA 的 3%",
                )
            )
    if r.multiplier is not None:
        needs_ct = (r.capacity_kva or 0) >= CT_CAPACITY_KVA
        if r.multiplier <= 0 or (needs_ct and r.multiplier == 1) or (not needs_ct and r.multiplier > 1):
            connection = f"容量 {r.capacity_kva:.0f} kVA" if r.capacity_kva else "直接接入"
            out.append(
                RecordFinding(
                    r.id,
                    "MULTIPLIER_MISMATCH",
                    "multiplier",
                    f"电能表倍率 {r.multiplier:g} 与接线方式不符（{connection}）",
                )
            )
    return out


def audit_records(records: list[CustomerRecord]) -> list[RecordFinding]:
    findings: list[RecordFinding] = []
    for r in records:
        findings += _field_checks(r)
        findings += _meter_checks(r)
    findings += _duplicates(records)
    return sorted(findings, key=lambda f: (f.customer_id, f.reason))
