"""Customer records with their meter and a summary of their readings, for the records audit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from analytics.records.audit import CustomerRecord, RecordFinding
from core.models import Customer, DailyReading, IntervalReading, Meter
from core.models_billing import AuditFinding

CUSTOMER_FIELDS = (
    "account_no",
    "name",
    "id_number",
    "phone",
    "address",
    "customer_category",
    "tariff_category",
    "capacity_kva",
)


def load_records(session: Session) -> list[CustomerRecord]:
    meters = {
        m.customer_id: m
        for m in session.scalars(select(Meter).where(Meter.removed_on.is_(None)).order_by(Meter.installed_on))
    }
    daily = dict(
        session.execute(select(DailyReading.meter_id, func.avg(DailyReading.kwh)).group_by(DailyReading.meter_id))
        .tuples()
        .all()
    )
    interval = {
        meter_id: (mean, peak)
        for meter_id, mean, peak in session.execute(
            select(
                IntervalReading.meter_id, func.avg(IntervalReading.kwh), func.max(IntervalReading.max_demand_kw)
            ).group_by(IntervalReading.meter_id)
        )
    }
    out = []
    for c in session.scalars(select(Customer).order_by(Customer.id)):
        meter = meters.get(c.id)
        mean = peak = None
        if meter is not None:
            if meter.id in interval:
                mean, peak = interval[meter.id]
            else:
                mean = daily.get(meter.id)
        out.append(
            CustomerRecord(
                c.id,
                c.account_no,
                c.name,
                c.id_number,
                c.phone,
                c.address,
                c.customer_category,
                c.tariff_category,
                c.capacity_kva,
                None if meter is None else meter.multiplier,
                None if mean is None else float(mean),
                None if peak is None else float(peak),
            )
        )
    return out


def apply_changes(session: Session, customer_id: int, changes: dict[str, Any]) -> None:
    """Write field changes to a customer (and `multiplier` to its meter)."""
    fields = {k: v for k, v in changes.items() if k in CUSTOMER_FIELDS}
    if fields:
        session.execute(update(Customer).where(Customer.id == customer_id).values(**fields))
    if "multiplier" in changes:
        session.execute(update(Meter).where(Meter.customer_id == customer_id).values(multiplier=changes["multiplier"]))


def write_record_findings(session: Session, run_id: int, findings: list[RecordFinding]) -> None:
    session.add_all(
        AuditFinding(
            run_id=run_id, kind="record", customer_id=f.customer_id, reason=f.reason, field=f.field, detail=f.detail
        )
        for f in findings
    )
