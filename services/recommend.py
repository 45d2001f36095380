"""The recommendation code's I/O edge: customers' metered load from the database, partitions of customers,
the data files and population estimates it needs, and one customer's plans and advice.

Batch jobs (segments, backtest, campaigns) are in services/recommend_jobs.py; the computations are the pure
functions of analytics.recommend.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from analytics.billing.schedule import TariffBook, load_tariff_book
from analytics.recommend.advice import Advice, advise, load_assumptions, night_ratio
from analytics.recommend.loads import CustomerLoad, valley_share
from analytics.recommend.plans import PlanComparison, Thresholds, compare_plans, window_months
from analytics.recommend.segments import load_naming
from analytics.recommend.wording import load_wording
from core.errors import InvalidInput, NotFound
from core.models import Customer, DailyReading, IntervalReading, Meter
from core.models_recommend import SegmentRun
from core.readings import unpack_many
from core.settings import Settings
from services.meter_data import interval_rows_by_meter

PARTITION = 250
SAMPLE_FOR_ESTIMATES = 400


def data_range(session: Session) -> tuple[dt.date, dt.date] | None:
    """First and last day with any reading."""
    lows, highs = [], []
    for table in (DailyReading, IntervalReading):
        low, high = session.execute(select(func.min(table.day), func.max(table.day))).one()
        if low is not None:
            lows.append(low)
            highs.append(high)
    return (min(lows), max(highs)) if lows else None


def customer_ids(session: Session, category: str | None = None) -> list[int]:
    query = select(Customer.id).order_by(Customer.id)
    if category:
        query = query.where((Customer.tariff_category == category) | (Customer.customer_category == category))
    return list(session.scalars(query))


def load_customers(session: Session, ids: list[int], first: dt.date, last: dt.date) -> list[CustomerLoad]:
    """Records and readings of these customers between two dates (inclusive), one `CustomerLoad` each.

    A customer with several meters is read from its first meter that has data (the demo has one per customer).
    """
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    meters = list(session.scalars(select(Meter).where(Meter.customer_id.in_(ids)).order_by(Meter.id)))
    meter_ids = [m.id for m in meters]
    daily: dict[int, list[tuple[dt.date, float, float]]] = defaultdict(list)
    for meter_id, day, register, kwh in session.execute(
        select(DailyReading.meter_id, DailyReading.day, DailyReading.register, DailyReading.kwh)
        .where(DailyReading.meter_id.in_(meter_ids), DailyReading.day >= first, DailyReading.day <= last)
        .order_by(DailyReading.meter_id, DailyReading.day)
    ):
        daily[meter_id].append((day, register, kwh))
    interval = interval_rows_by_meter(session, meter_ids, first, last)
    out: dict[int, CustomerLoad] = {}
    for meter in meters:
        c = customers[meter.customer_id]
        if c.id in out:
            continue
        base: dict[str, Any] = dict(
            customer_id=c.id,
            account_no=c.account_no,
            customer_category=c.customer_category,
            tariff_category=c.tariff_category,
            capacity_kva=c.capacity_kva,
            contract_demand_kw=c.contract_demand_kw,
            pf_standard=c.pf_standard,
            multiplier=meter.multiplier,
        )
        if interval.get(meter.id):
            items = [x for x in interval[meter.id] if x[2] == 96]
            values = unpack_many([x[1] for x in items], 96)
            reactive = None if items[0][3] is None else np.array([x[3] or 0.0 for x in items])
            demand = None if items[0][4] is None else np.array([x[4] or 0.0 for x in items])
            out[c.id] = CustomerLoad(
                **base,
                days=[x[0] for x in items],
                daily_kwh=values.sum(axis=1, dtype=np.float64),
                intervals=values,
                reactive=reactive,
                max_demand=demand,
            )
        elif daily.get(meter.id):
            rows = daily[meter.id]
            out[c.id] = CustomerLoad(
                **base,
                days=[r[0] for r in rows],
                daily_kwh=np.array([r[2] for r in rows]),
                registers=np.array([r[1] for r in rows]),
            )
    return [out[i] for i in ids if i in out]


@dataclass
class Kit:
    """Everything the recommendation code reads from data files and settings, loaded once."""

    book: TariffBook
    thresholds: Thresholds
    assumptions: dict[str, Any]
    wording: dict[str, Any]
    naming: dict[str, Any]
    valley_quantile: float
    var_dir: Path


def load_kit(settings: Settings) -> Kit:
    return Kit(
        book=load_tariff_book(settings.data_dir / "tariffs"),
        thresholds=Thresholds(settings.recommend_min_saving_yuan, settings.recommend_min_saving_share),
        assumptions=load_assumptions(settings.data_dir / "recommend" / "advice.yml"),
        wording=load_wording(settings.data_dir / "messages" / "recommend.yml"),
        naming=load_naming(settings.data_dir / "recommend" / "segments.yml"),
        valley_quantile=settings.recommend_valley_share_quantile,
        var_dir=settings.var_dir,
    )


def data_span(session: Session) -> tuple[dt.date, dt.date]:
    found = data_range(session)
    if found is None:
        raise NotFound("no meter readings in the database; run `powerdesk demo seed` (or load readings) first")
    return found


def partitions(
    sessions: sessionmaker[Session], ids: list[int], first: dt.date, last: dt.date, size: int = PARTITION
) -> Iterator[list[CustomerLoad]]:
    for start in range(0, len(ids), size):
        with sessions() as session:
            yield load_customers(session, ids[start : start + size], first, last)


# ------------------------------------------------------------------ population estimates


@dataclass
class Estimates:
    """Population figures the per-customer code needs: the TOU split estimate and the standby references."""

    valley_share: dict[int, float]
    peer_night: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"valley_share": {str(k): v for k, v in self.valley_share.items()}, "peer_night": self.peer_night}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Estimates:
        return cls({int(k): float(v) for k, v in data["valley_share"].items()}, dict(data["peer_night"]))


class EstimateCollector:
    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.shares: dict[int, list[float]] = {}
        self.nights: dict[str, list[float]] = {}

    def add(self, load: CustomerLoad) -> None:
        if load.household and load.has_intervals:
            for month, share in valley_share(load, self.kit.book).items():
                self.shares.setdefault(month, []).append(share)
        ratio = night_ratio(load, self.kit.assumptions["standby"]["night_hours"])
        if np.isfinite(ratio):
            self.nights.setdefault(load.tariff_category, []).append(ratio)

    def result(self) -> Estimates:
        q = self.kit.assumptions["standby"]["peer_quantile"]
        return Estimates(
            {
                m: round(float(np.quantile(v, self.kit.valley_quantile)), 4)
                for m, v in sorted(self.shares.items())
                if len(v) >= 5
            },
            {k: round(float(np.quantile(v, q)), 4) for k, v in self.nights.items() if len(v) >= 5},
        )


def estimates(sessions: sessionmaker[Session], kit: Kit) -> Estimates:
    """From the latest segment run when there is one; else from a sample of interval-metered customers."""
    with sessions() as session:
        run = session.scalars(select(SegmentRun).order_by(SegmentRun.id.desc())).first()
        if run is not None and "estimates" in run.params:
            return Estimates.from_json(run.params["estimates"])
        first, last = data_span(session)
        ids = list(
            session.scalars(
                select(Meter.customer_id).where(Meter.resolution.in_(("15min", "hourly"))).order_by(Meter.customer_id)
            )
        )
    step = max(1, len(ids) // SAMPLE_FOR_ESTIMATES)
    collector = EstimateCollector(kit)
    for part in partitions(sessions, ids[::step], first, last):
        for load in part:
            collector.add(load)
    return collector.result()


# ------------------------------------------------------------------ plans and advice per customer


@dataclass
class CustomerView:
    load: CustomerLoad
    months: list[dt.date]
    estimates: Estimates


def customer_view(sessions: sessionmaker[Session], kit: Kit, customer: Customer, est: Estimates) -> CustomerView:
    with sessions() as session:
        first, last = data_span(session)
        loads = load_customers(session, [customer.id], first, last)
    if not loads:
        raise NotFound(f"account {customer.account_no} has no meter readings to compare plans on")
    months = window_months(last)
    return CustomerView(loads[0], months, est)


def plan_comparison(kit: Kit, view: CustomerView) -> PlanComparison:
    return compare_plans([view.load], kit.book, view.months, view.estimates.valley_share, kit.thresholds)[0]


def customer_advice(kit: Kit, view: CustomerView, plan: str) -> list[Advice]:
    peer = view.estimates.peer_night.get(view.load.tariff_category)
    return advise(view.load, plan, kit.book, view.months, kit.assumptions, peer, view.estimates.valley_share)


def find_customer(sessions: sessionmaker[Session], account_no: str) -> Customer:
    from services.customers import find_by_account

    if not (account_no.isascii() and account_no.isdigit() and len(account_no) == 10):
        shown = account_no[:20] + ("…" if len(account_no) > 20 else "")
        raise InvalidInput(f"户号 {shown!r} must be 10 digits; list demo accounts with `powerdesk demo accounts`")
    with sessions() as session:
        customer = find_by_account(session, account_no)
    if customer is None:
        raise NotFound(f"no customer with 户号 {account_no}; list demo accounts with `powerdesk demo accounts`")
    return customer
