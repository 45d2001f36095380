"""Bringing a demo database to the present: readings up to yesterday, bills through the last complete month.

The demo generator is reproducible from its seed, and its customers do not depend on the end of
the period, so the history is extended by generating the same customers over the longer period
and storing only the days after the last stored one (registers continue from the last stored
register). Bills for the months that became complete are then issued from the stored readings,
on the terms of each customer's last bill, exactly as the bill audit recomputes them. Nothing
that customers, agents or the analytics wrote is touched.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from analytics.billing.monthly import BillRow
from analytics.billing.schedule import load_tariff_book
from core.db import transaction
from core.errors import DataError, InvalidInput
from core.models import Customer, DailyReading, IntervalReading, Meter
from core.models_billing import Bill, DemoState
from demo.bill_faults import INJECTORS, InjectedFault, inject_bill_faults
from demo.config import load_demo_config
from demo.generate import build_demo, iter_readings
from ops.demo_seed import _write_bills, daily_rows, interval_rows
from services.bills import load_partition


@dataclass(frozen=True)
class ExtendSummary:
    days: int  # days of readings added
    last_day: dt.date
    bills: int = 0
    bill_faults: int = 0


def demo_state(session: Session) -> DemoState | None:
    return session.scalars(select(DemoState)).first()


def months_to_bill(last_billed: dt.date | None, first_day: dt.date, last_day: dt.date) -> list[dt.date]:
    """First days of the complete months after `last_billed` whose every day is in [first_day, last_day]."""
    month = (last_billed or first_day).replace(day=1)
    if last_billed is not None:
        month = (month + dt.timedelta(days=32)).replace(day=1)
    out: list[dt.date] = []
    while True:
        end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        if end > last_day:
            return out
        if month >= first_day:
            out.append(month)
        month = end + dt.timedelta(days=1)


def extend_demo(
    sessions: sessionmaker[Session],
    data_dir: Path,
    today: dt.date,
    progress: Callable[[int], None] | None = None,
    batch: int = 200,
) -> ExtendSummary:
    """Extend the demo history to the day before `today`; a no-op when it is already there."""
    with sessions() as session:
        state = demo_state(session)
        if state is None:
            raise InvalidInput(
                "this database was not made by `powerdesk demo seed` (no demo_state row), so its history is not "
                "extended; run `powerdesk demo seed --reset` to regenerate the demo data"
            )
        seed, customers, first_day, last_day = state.seed, state.customers, state.first_day, state.last_day
        made_by = state.fingerprint
    if last_day >= today - dt.timedelta(days=1):
        return ExtendSummary(0, last_day)
    config = load_demo_config(data_dir, today=today, customers=customers, seed=seed, start=first_day)
    if config.fingerprint != made_by:
        raise DataError(
            "data/demo/generator.yml, calibration.yml or the generator changed since this demo was seeded, so its "
            "history cannot be continued consistently; run `powerdesk demo seed --reset` to regenerate it"
        )
    base = build_demo(config)
    with sessions() as session:
        # by meter number: the records audit's demo faults may have changed an account number, never a meter's
        meters = dict(session.execute(select(Meter.meter_no, Meter.id)).tuples().all())
        query = select(DailyReading.meter_id, DailyReading.register).where(DailyReading.day == last_day)
        last_register = dict(session.execute(query).tuples().all())
    generated = {c.meter_no for c in base.customers}
    unknown = sorted(generated - meters.keys())
    if unknown:
        raise DataError(
            f"{len(unknown)} demo meters (e.g. {unknown[0]}) are not in the database, so the generator no longer "
            "matches it (seed or generator.yml changed); run `powerdesk demo seed --reset` to regenerate it"
        )
    days = config.days
    new_from = days.index(last_day) + 1
    new_days = days[new_from:]
    pending: list[dict] = []
    intervals: list[dict] = []
    batch_meters: list[int] = []

    def flush() -> None:
        # an extension interrupted earlier may have stored some of these days already: replace them
        with transaction(sessions) as session:
            for table in (DailyReading, IntervalReading):
                session.execute(delete(table).where(table.meter_id.in_(batch_meters), table.day > last_day))
            if pending:
                session.execute(insert(DailyReading), pending)
            if intervals:
                session.execute(insert(IntervalReading), intervals)
        pending.clear()
        intervals.clear()
        batch_meters.clear()

    done = 0
    for readings in iter_readings(base):
        c = readings.customer
        meter_id = meters[c.meter_no]
        batch_meters.append(meter_id)
        energy = readings.energy[new_from:]
        if energy.ndim == 1:
            if meter_id not in last_register:
                raise DataError(f"meter {meter_id} of {c.account_no} has no reading on {last_day}; regenerate the demo")
            registers = last_register[meter_id] + np.cumsum(energy.astype(np.float64)) / c.multiplier
            pending.extend(daily_rows(meter_id, new_days, registers, energy))
        else:
            reactive = None if readings.reactive is None else readings.reactive[new_from:]
            intervals.extend(interval_rows(meter_id, new_days, energy, reactive))
        done += 1
        if done % batch == 0:
            flush()
            if progress:
                progress(batch)
    flush()
    if progress and done % batch:
        progress(done % batch)
    rows, faults = _bills_to_issue(sessions, data_dir, seed, config.bill_fault_share, first_day, config.end, batch)
    with transaction(sessions) as session:  # the bills and the new end of the history, together
        _write_bills(session, rows, faults)
        row = demo_state(session)
        assert row is not None
        row.last_day = config.end
    return ExtendSummary(len(new_days), config.end, len(rows), len(faults))


def _bills_to_issue(
    sessions: sessionmaker[Session],
    data_dir: Path,
    seed: int,
    fault_share: float,
    first_day: dt.date,
    last_day: dt.date,
    batch: int,
) -> tuple[list[BillRow], list[InjectedFault]]:
    """Bills for every month that became complete, recomputed from the stored readings like the audit does."""
    with sessions() as session:
        last_billed = session.scalar(select(func.max(Bill.period_start)))
        customer_ids = sorted(session.scalars(select(Customer.id)))
    months = months_to_bill(last_billed, first_day, last_day)
    if not months:
        return [], []
    book = load_tariff_book(data_dir / "tariffs")
    # from the last issued month, so that each customer is billed on the terms of its last bill
    first = last_billed or months[0]
    rows: list[BillRow] = []
    for start in range(0, len(customer_ids), batch):
        with sessions() as session:
            part = load_partition(session, customer_ids[start : start + batch], first, months[-1], book)
        rows += [row for by_month in part.expected.values() for m, row in by_month.items() if m in months]
    faults: list[InjectedFault] = []
    if len(rows) * fault_share >= len(INJECTORS) + 1:  # enough bills to corrupt every reason code a few times
        rng = np.random.default_rng([seed, 4, months[0].year, months[0].month])
        rows, faults = inject_bill_faults(rows, book, rng, fault_share)
    return rows, faults
