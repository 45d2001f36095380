"""The schema, the demo seed and the queries, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, transaction
from core.errors import InvalidInput
from core.models import Customer, DailyReading, IntervalReading, Meter
from core.settings import REPO_ROOT
from demo.config import load_demo_config
from ops.demo_seed import seed_demo
from services.customers import bind, bound_customer, find_by_account, unbind
from services.meter_data import daily_kwh, interval_days
from services.tickets import create_ticket
from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.db
DATA = REPO_ROOT / "data"


def test_migrations_create_every_table(db_url: str) -> None:
    engine = make_engine(db_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {
        "customers",
        "meters",
        "daily_readings",
        "interval_readings",
        "tickets",
        "conversations",
        "messages",
        "handoffs",
        "ratings",
        "channel_bindings",
        "alembic_version",
    } <= tables


def test_demo_seed_is_reproducible_and_complete(sessions: sessionmaker[Session]) -> None:
    config = load_demo_config(DATA, today=DEMO_TODAY, customers=40, seed=7)
    summary = seed_demo(sessions, config, batch=16)
    days = len(config.days)
    with sessions() as session:
        customers = list(session.scalars(select(Customer).order_by(Customer.id)))
        assert len(customers) == summary.customers == 40
        kinds = {c.tariff_category for c in customers}
        assert {"residential", "residential_tou", "commercial_tou"} <= kinds
        n_daily = session.scalar(select(func.count()).select_from(DailyReading))
        n_interval = session.scalar(select(func.count()).select_from(IntervalReading))
        assert n_daily + n_interval == 40 * days and n_daily == summary.daily_rows
        assert session.scalar(select(func.count()).select_from(Meter)) == 40
        first = [(c.account_no, c.name, c.phone) for c in customers]
    with pytest.raises(InvalidInput, match="--reset"):
        seed_demo(sessions, config)
    seed_demo(sessions, config, reset=True, batch=16)
    with sessions() as session:
        again = [(c.account_no, c.name, c.phone) for c in session.scalars(select(Customer).order_by(Customer.id))]
    assert again == first


def test_readings_round_trip(sessions: sessionmaker[Session]) -> None:
    config = load_demo_config(DATA, today=DEMO_TODAY, customers=30, seed=3)
    seed_demo(sessions, config)
    with sessions() as session:
        tou = session.scalars(select(Customer).where(Customer.tariff_category == "residential_tou")).first()
        flat = session.scalars(select(Customer).where(Customer.tariff_category == "residential")).first()
        assert tou is not None and flat is not None
        first, last = dt.date(2026, 7, 1), dt.date(2026, 7, 31)
        days = interval_days(session, tou.id, first, last)
        assert days.shape == (31, 96) and np.all(days >= 0)
        stored = session.scalars(
            select(IntervalReading.kwh).join(Meter).where(Meter.customer_id == tou.id, IntervalReading.day == first)
        ).one()
        assert abs(float(days[0].sum()) - stored) < 0.01
        assert len(daily_kwh(session, flat.id, first, last)) == 31


def test_bindings_and_tickets(sessions: sessionmaker[Session]) -> None:
    seed_demo(sessions, load_demo_config(DATA, today=DEMO_TODAY, customers=10, seed=1))
    with transaction(sessions) as session:
        customer = session.scalars(select(Customer)).first()
        assert customer is not None and find_by_account(session, customer.account_no) is customer
        bind(session, "widget", "abc", customer)
        bind(session, "widget", "abc", customer)  # re-binding is idempotent
        assert bound_customer(session, "widget", "abc") is customer
        assert bound_customer(session, "wechat", "abc") is None
        first = create_ticket(
            session, "outage", description="整栋楼停电", address="西湖区文三路1号", now=dt.datetime(2026, 11, 23)
        )
        second = create_ticket(session, "callback", description="回电", now=dt.datetime(2026, 11, 23))
        assert first.ticket_no.startswith("GZ20261123") and second.ticket_no.startswith("HF20261123")
        assert first.ticket_no != second.ticket_no
        assert unbind(session, "widget", "abc") and not unbind(session, "widget", "abc")
    with pytest.raises(ValueError, match="unknown ticket kind"):
        with transaction(sessions) as session:
            create_ticket(session, "nonsense", description="")


def test_sqlite_default_path_is_created(tmp_path: Path) -> None:
    from core.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'x.db'}"
    upgrade(url)
    assert (tmp_path / "nested" / "dir" / "x.db").exists()
