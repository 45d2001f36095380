"""Bills and audit findings in the database: loading a partition of customers for the audit, writing findings."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analytics.billing.audit import Finding, StoredBill
from analytics.billing.monthly import BillRow, customer_months, fill_year_to_date, price_rows
from analytics.billing.schedule import TariffBook
from core.models import Customer, DailyReading, Meter
from core.models_billing import AuditFinding, Bill
from core.readings import unpack_many
from services.labels import Labels
from services.meter_data import interval_rows_by_meter


@dataclass
class Partition:
    stored: dict[int, list[StoredBill]]
    expected: dict[int, dict[dt.date, BillRow]]


def billed_customers(session: Session, first: dt.date, last: dt.date) -> list[int]:
    """Customers with at least one bill whose period starts in [first, last]."""
    query = select(Bill.customer_id).where(Bill.period_start >= first, Bill.period_start <= last).distinct()
    return sorted(session.scalars(query))


def bill_range(session: Session) -> tuple[dt.date, dt.date] | None:
    low, high = session.execute(select(func.min(Bill.period_start), func.max(Bill.period_start))).one()
    return None if low is None else (low, high)


def load_partition(
    session: Session, customer_ids: list[int], first: dt.date, last: dt.date, book: TariffBook
) -> Partition:
    """Stored bills of these customers in [first, last] and the same bills recomputed from readings."""
    stored: dict[int, list[StoredBill]] = defaultdict(list)
    bills = session.scalars(
        select(Bill).where(Bill.customer_id.in_(customer_ids), Bill.period_start >= first, Bill.period_start <= last)
    )
    billed_as: dict[int, tuple[str, float]] = {}  # the category and multiplier the bills were issued with
    for b in bills:
        billed_as[b.customer_id] = (b.category, b.multiplier)
        stored[b.customer_id].append(
            StoredBill(
                b.id, b.customer_id, b.period_start, b.category, b.start_register, b.end_register, b.lines, b.total
            )
        )
    read_from = dt.date(first.year, 1, 1) - dt.timedelta(days=1)  # January's start reading, for year-to-date
    read_to = last.replace(day=28) + dt.timedelta(days=4)  # past the end of the last month
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))}
    meters = list(session.scalars(select(Meter).where(Meter.customer_id.in_(customer_ids))))
    daily: dict[int, list[tuple[dt.date, float]]] = defaultdict(list)
    for meter_id, day, register in session.execute(
        select(DailyReading.meter_id, DailyReading.day, DailyReading.register)
        .where(
            DailyReading.meter_id.in_([m.id for m in meters]),
            DailyReading.day >= read_from,
            DailyReading.day <= read_to,
        )
        .order_by(DailyReading.meter_id, DailyReading.day)
    ):
        daily[meter_id].append((day, register))
    interval = interval_rows_by_meter(session, [m.id for m in meters], read_from, read_to)
    rows: list[BillRow] = []
    for meter in meters:
        c = customers[meter.customer_id]
        # recompute under the terms the bills were issued on; a record that changed since is the records audit's
        category, multiplier = billed_as.get(c.id, (c.tariff_category, meter.multiplier))
        if meter.id in daily:
            days = [d for d, _ in daily[meter.id]]
            registers = np.array([r for _, r in daily[meter.id]])
            months = customer_months(category, days, book, multiplier, registers=registers)
        elif meter.id in interval:
            items = interval[meter.id]
            slots = items[0][2]
            values = unpack_many([x[1] for x in items], slots)
            reactive = None if items[0][3] is None else np.array([x[3] or 0.0 for x in items])
            demand = None if items[0][4] is None else np.array([x[4] or 0.0 for x in items])
            months = customer_months(
                category, [x[0] for x in items], book, multiplier, values=values, reactive=reactive, max_demand=demand
            )
        else:
            months = []
        rows += [
            BillRow(
                c.id,
                category,
                m,
                multiplier,
                pf_standard=c.pf_standard,
                capacity_kva=c.capacity_kva,
                contract_demand_kw=c.contract_demand_kw,
            )
            for m in months
        ]
    rows = fill_year_to_date(rows)
    price_rows(rows, book)
    expected: dict[int, dict[dt.date, BillRow]] = defaultdict(dict)
    for r in rows:
        expected[r.customer_id][r.month.period_start] = r
    return Partition(dict(stored), dict(expected))


def write_findings(session: Session, run_id: int, findings: list[Finding]) -> None:
    session.add_all(
        AuditFinding(
            run_id=run_id,
            kind="bill",
            customer_id=f.customer_id,
            bill_id=f.bill_id,
            reason=f.reason,
            stored=f.stored,
            recomputed=f.recomputed,
            difference=f.difference,
            detail=f.detail,
        )
        for f in findings
    )


def console_bill_rows(session: Session, customer_id: int, labels: Labels, months: int = 6) -> list[dict[str, str]]:
    """The customer's latest bills for the agent console, each with its latest audit finding (if any)."""
    bills = list(
        session.scalars(
            select(Bill)
            .where(Bill.customer_id == customer_id)
            .order_by(Bill.period_start.desc(), Bill.id.desc())
            .limit(months)
        )
    )
    findings: dict[int, AuditFinding] = {}
    if bills:
        for f in session.scalars(
            select(AuditFinding).where(AuditFinding.bill_id.in_([b.id for b in bills])).order_by(AuditFinding.id)
        ):
            findings[f.bill_id or 0] = f  # the latest run's finding wins
    rows = []
    for b in bills:
        kwh = sum(float(x.get("kwh", 0.0)) for x in b.lines if x.get("item") == "energy")
        found = findings.get(b.id)
        rows.append(
            {
                "账期": f"{b.period_start:%Y-%m}",
                "电量(kWh)": f"{kwh:,.1f}",
                "金额(元)": f"{b.total:,.2f}",
                "稽核": _finding_text(found, labels) if found else "未发现问题",
            }
        )
    return rows


def _finding_text(found: AuditFinding, labels: Labels) -> str:
    """An audit finding as the agent reads it: what was found, and by how much when an amount is known (+: the
    stored bill is higher than the recomputed one). A finding is to be verified, not a verdict."""
    text = f"{labels(found.reason, 'audit_reason')}：{found.detail}"
    if found.difference:  # None: no amount recomputed; 0: nothing to add
        text += (
            f"（账单比重算多 {found.difference:,.2f} 元）"
            if found.difference > 0
            else f"（账单比重算少 {-found.difference:,.2f} 元）"
        )
    return text + "，需核实"
