"""Writing the demo customer base into the database (the I/O edge of demo)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from analytics.billing.monthly import BillRow, customer_months, fill_year_to_date, price_rows
from analytics.billing.schedule import TariffBook, load_tariff_book
from core.db import transaction
from core.errors import InvalidInput
from core.models import (
    ChannelBinding,
    Conversation,
    Customer,
    DailyReading,
    Handoff,
    IntervalReading,
    Message,
    Meter,
    Rating,
    Ticket,
    TicketEvent,
)
from core.models_billing import AuditFinding, AuditRun, Bill, DemoFault, DemoState
from core.models_outages import OutageCustomer, OutageEvent, OutageUpdate
from demo.bill_faults import InjectedFault, inject_bill_faults
from demo.config import DemoConfig
from demo.generate import CustomerReadings, build_demo, iter_readings
from demo.record_faults import plan_record_faults
from ops.demo_outages import refresh_demo_grid
from services.records import apply_changes, load_records


@dataclass(frozen=True)
class SeedSummary:
    customers: int
    daily_rows: int
    interval_rows: int
    seconds: float
    bills: int = 0
    bill_faults: int = 0
    outages: int = 0  # demo outage events (ops.demo_outages)


def clear_all(session: Session) -> None:
    for table in (
        DemoState,
        AuditFinding,
        AuditRun,
        DemoFault,
        Bill,
        Rating,
        Handoff,
        Message,
        TicketEvent,
        Ticket,
        OutageUpdate,
        OutageCustomer,
        OutageEvent,
        ChannelBinding,
        Conversation,
        IntervalReading,
        DailyReading,
        Meter,
        Customer,
    ):
        session.execute(delete(table))


def seed_demo(
    sessions: sessionmaker[Session],
    config: DemoConfig,
    reset: bool = False,
    progress: Callable[[int], None] | None = None,
    batch: int = 200,
) -> SeedSummary:
    started = dt.datetime.now()
    with transaction(sessions) as session:
        existing = session.scalar(select(func.count()).select_from(Customer)) or 0
        if existing and not reset:
            raise InvalidInput(
                f"the database already has {existing} customers; run `powerdesk demo seed --reset` to replace them"
            )
        if reset:
            clear_all(session)
    base = build_demo(config)
    days = config.days
    book = load_tariff_book(config.data_dir / "tariffs")
    daily_rows = interval_rows = 0
    pending: list[CustomerReadings] = []
    bill_rows: list[BillRow] = []

    def flush() -> None:
        nonlocal daily_rows, interval_rows
        with transaction(sessions) as session:
            d, i = _write_batch(session, pending, days, book, bill_rows)
        daily_rows += d
        interval_rows += i
        if progress:
            progress(len(pending))
        pending.clear()

    for readings in iter_readings(base):
        pending.append(readings)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    rows = fill_year_to_date(bill_rows)
    price_rows(rows, book)
    stored, faults = inject_bill_faults(rows, book, np.random.default_rng([config.seed, 4]), config.bill_fault_share)
    with transaction(sessions) as session:
        _write_bills(session, stored, faults)
    with transaction(sessions) as session:
        records = load_records(session)
        rng = np.random.default_rng([config.seed, 5])
        for fault in plan_record_faults(records, config.record_fault_count, rng):
            apply_changes(session, fault.customer_id, fault.changes)
            session.add(
                DemoFault(kind="record", customer_id=fault.customer_id, reason=fault.reason, detail=fault.detail)
            )
        session.add(
            DemoState(
                seed=config.seed,
                customers=config.customers,
                fingerprint=config.fingerprint,
                first_day=config.start,
                last_day=config.end,
            )
        )
    grid = refresh_demo_grid(sessions, config.data_dir, config.end + dt.timedelta(days=1))
    seconds = (dt.datetime.now() - started).total_seconds()
    return SeedSummary(len(base.customers), daily_rows, interval_rows, seconds, len(stored), len(faults), grid.outages)


def _write_bills(session: Session, rows: list[BillRow], faults: list[InjectedFault]) -> None:
    """Issued bills, then the record of which ones were corrupted on purpose."""
    objects = {}
    for row in rows:
        m = row.month
        bill = Bill(
            customer_id=row.customer_id,
            period_start=m.period_start,
            period_end=m.period_end,
            category=row.category,
            schedule_id=row.schedule_id,
            start_register=m.start_register,
            end_register=m.end_register,
            multiplier=row.multiplier,
            energy=row.energy_by_period(),
            year_to_date_kwh=row.year_to_date_kwh,
            reactive_kvarh=m.reactive_kvarh,
            max_demand_kw=m.max_demand_kw,
            lines=row.lines,
            total=row.total,
        )
        session.add(bill)
        objects[id(row)] = bill
    session.flush()
    for fault in faults:
        bill = objects[id(fault.row)]
        session.add(
            DemoFault(
                kind="bill", customer_id=bill.customer_id, bill_id=bill.id, reason=fault.reason, detail=fault.detail
            )
        )


def daily_rows(
    meter_id: int, days: list[dt.date], registers: npt.NDArray[np.float64], energy: npt.NDArray[np.float32]
) -> list[dict[str, Any]]:
    """Daily-register readings as stored (registers rounded to 0.01, the bill's inputs)."""
    return [
        {"meter_id": meter_id, "day": day, "register": round(float(reg), 2), "kwh": float(kwh)}
        for day, reg, kwh in zip(days, registers, energy, strict=True)
    ]


def interval_rows(
    meter_id: int, days: list[dt.date], energy: npt.NDArray[np.float32], reactive: npt.NDArray[np.float32] | None
) -> list[dict[str, Any]]:
    """15-minute readings as stored: one row a day with the 96 values, the day's kWh, kvarh and maximum demand."""
    totals = energy.sum(axis=1, dtype=np.float64)
    peaks = energy.max(axis=1) * 4.0
    return [
        {
            "meter_id": meter_id,
            "day": day,
            "slots": 96,
            "values": energy[j].astype("<f4").tobytes(),
            "kwh": round(float(totals[j]), 3),
            "reactive_kvarh": None if reactive is None else round(float(reactive[j]), 3),
            "max_demand_kw": round(float(peaks[j]), 3),
        }
        for j, day in enumerate(days)
    ]


def _write_batch(
    session: Session, batch: list[CustomerReadings], days: list[dt.date], book: TariffBook, bills: list[BillRow]
) -> tuple[int, int]:
    customer_ids = {}
    for r in batch:
        c = r.customer
        row = Customer(
            account_no=c.account_no,
            name=c.name,
            id_number=c.id_number,
            phone=c.phone,
            address=c.address,
            area=c.area,
            customer_category=c.customer_category,
            tariff_category=c.tariff_category,
            capacity_kva=c.capacity_kva,
            contract_demand_kw=c.contract_demand_kw,
            pf_standard=c.pf_standard,
            opened_on=c.opened_on,
        )
        session.add(row)
        customer_ids[c.account_no] = row
    session.flush()
    meters = {}
    for r in batch:
        c = r.customer
        meter = Meter(
            customer_id=customer_ids[c.account_no].id,
            meter_no=c.meter_no,
            multiplier=c.multiplier,
            resolution=c.resolution,
            installed_on=c.opened_on,
        )
        session.add(meter)
        meters[c.account_no] = meter
    session.flush()
    daily: list[dict] = []
    intervals: list[dict] = []
    for r in batch:
        meter_id = meters[r.customer.account_no].id
        c = r.customer
        if r.energy.ndim == 1:
            registers = c.register_start + np.cumsum(r.energy.astype(np.float64)) / c.multiplier
            stored_registers = np.array([round(float(reg), 2) for reg in registers])
            months = customer_months(c.tariff_category, days, book, c.multiplier, registers=stored_registers)
            daily += daily_rows(meter_id, days, registers, r.energy)
        else:
            rows = interval_rows(meter_id, days, r.energy, r.reactive)
            intervals += rows
            reactive = None if r.reactive is None else np.array([row["reactive_kvarh"] for row in rows])
            demand = np.array([row["max_demand_kw"] for row in rows])
            months = customer_months(
                c.tariff_category, days, book, c.multiplier, values=r.energy, reactive=reactive, max_demand=demand
            )
        bills += [
            BillRow(
                customer_ids[c.account_no].id,
                c.tariff_category,
                m,
                c.multiplier,
                pf_standard=c.pf_standard,
                capacity_kva=c.capacity_kva,
                contract_demand_kw=c.contract_demand_kw,
            )
            for m in months
        ]
    if daily:
        session.execute(insert(DailyReading), daily)
    if intervals:
        session.execute(insert(IntervalReading), intervals)
    return len(daily), len(intervals)
