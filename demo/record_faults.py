"""Problems injected on purpose into a recorded set of demo customer records (for the records audit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.records.audit import RECORD_REASONS, CustomerRecord


@dataclass
class RecordFault:
    customer_id: int
    reason: str
    changes: dict[str, Any]  # field → new value (customer fields, or "multiplier" of its meter)
    detail: str


def _pick(records: list[CustomerRecord], used: set[int], rng: np.random.Generator, ok: Any) -> CustomerRecord | None:
    candidates = [r for r in records if r.id not in used and ok(r)]
    return candidates[int(rng.integers(len(candidates)))] if candidates else None


def plan_record_faults(
    records: list[CustomerRecord], count: int, rng: np.random.Generator, keep_clean: int = 100
) -> list[RecordFault]:
    """`count` faults spread over every reason; the first `keep_clean` customers (demo accounts) stay untouched."""
    ordered = sorted(records, key=lambda r: r.id)
    pool = ordered[keep_clean:]
    sources = ordered[:keep_clean]  # duplicates copy from a clean, earlier customer
    used: set[int] = set()
    faults: list[RecordFault] = []
    for k in range(count):
        reason = RECORD_REASONS[k % len(RECORD_REASONS)]
        fault = _one(reason, pool, sources, used, rng)
        if fault is not None:
            used.add(fault.customer_id)
            faults.append(fault)
    return faults


def _one(
    reason: str, pool: list[CustomerRecord], sources: list[CustomerRecord], used: set[int], rng: np.random.Generator
) -> RecordFault | None:
    household = ("residential", "residential_tou")
    r: CustomerRecord | None
    if reason == "MISSING_FIELD":
        r = _pick(pool, used, rng, lambda r: True)
        return None if r is None else RecordFault(r.id, reason, {"phone": None}, "联系电话缺失")
    if reason == "INVALID_ID_NUMBER":
        r = _pick(pool, used, rng, lambda r: bool(r.id_number))
        if r is None or r.id_number is None:
            return None
        last = r.id_number[-1]
        wrong = "0" if last != "0" else "1"
        return RecordFault(r.id, reason, {"id_number": r.id_number[:-1] + wrong}, "校验位被改写")
    if reason == "INVALID_PHONE":
        r = _pick(pool, used, rng, lambda r: bool(r.phone))
        return None if r is None else RecordFault(r.id, reason, {"phone": (r.phone or "")[:10]}, "手机号少录一位")
    if reason == "INVALID_ACCOUNT_NO":
        r = _pick(pool, used, rng, lambda r: True)
        return (
            None
            if r is None
            else RecordFault(
                r.id, reason, {"account_no": r.account_no[:2] + "O" + r.account_no[3:]}, "户号中数字 0 被录成字母 O"
            )
        )
    if reason in ("DUPLICATE_ID_NUMBER", "DUPLICATE_PHONE", "DUPLICATE_ADDRESS"):
        field = {"DUPLICATE_ID_NUMBER": "id_number", "DUPLICATE_PHONE": "phone", "DUPLICATE_ADDRESS": "address"}[reason]
        source = sources[int(rng.integers(len(sources)))] if sources else None
        r = _pick(pool, used, rng, lambda r: True)
        if r is None or source is None:
            return None
        value = getattr(source, field)
        if field == "address":
            value = value.replace("号", " 号 ")  # the same place written slightly differently
        return RecordFault(r.id, reason, {field: value}, f"{field} 与户号 {source.account_no} 相同")
    if reason == "CATEGORY_MISMATCH":
        if int(rng.integers(2)):
            r = _pick(
                pool,
                used,
                rng,
                lambda r: (
                    r.tariff_category == "commercial_tou"
                    and (r.mean_daily_kwh or 0) > 150
                    and (r.capacity_kva or 0) < 100
                ),
            )
            changes = {"tariff_category": "residential", "customer_category": "residential", "capacity_kva": None}
            return None if r is None else RecordFault(r.id, reason, changes, "工商业用户按居民电价建档")
        r = _pick(pool, used, rng, lambda r: r.tariff_category in household and (r.mean_daily_kwh or 99) < 15)
        changes = {"tariff_category": "commercial_tou", "customer_category": "commercial"}
        return None if r is None else RecordFault(r.id, reason, changes, "居民用户按工商业电价建档")
    if reason == "CAPACITY_MISMATCH":
        r = _pick(
            pool,
            used,
            rng,
            lambda r: (
                r.tariff_category == "commercial_tou" and (r.max_demand_kw or 0) > 20 and (r.capacity_kva or 0) < 100
            ),
        )
        return (
            None
            if r is None
            else RecordFault(
                r.id, reason, {"capacity_kva": round((r.max_demand_kw or 0) / 2)}, "档案容量小于实际最大需量"
            )
        )
    r = _pick(pool, used, rng, lambda r: (r.capacity_kva or 0) >= 100 and (r.multiplier or 1) > 1)
    return (
        None if r is None else RecordFault(r.id, "MULTIPLIER_MISMATCH", {"multiplier": 1.0}, "经互感器接入但倍率录为 1")
    )
