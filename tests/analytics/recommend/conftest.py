"""A small seeded demo database (customers of every kind, 13 months of readings and bills) and its loads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from analytics.billing.schedule import TariffBook, load_tariff_book
from analytics.recommend.loads import CustomerLoad
from core.db import make_engine, make_session_factory
from core.migrate import upgrade
from core.settings import REPO_ROOT
from demo.config import load_demo_config
from ops.demo_seed import seed_demo
from services.recommend import customer_ids, data_span, load_customers
from tests.conftest import DEMO_TODAY


@dataclass
class Demo:
    url: str
    sessions: sessionmaker[Session]
    loads: list[CustomerLoad]
    book: TariffBook


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    path: Path = tmp_path_factory.mktemp("recommend") / "r.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    seed_demo(sessions, load_demo_config(REPO_ROOT / "data", today=DEMO_TODAY, customers=160, seed=11), batch=80)
    with sessions() as session:
        first, last = data_span(session)
        loads = load_customers(session, customer_ids(session), first, last)
    yield Demo(url, sessions, loads, load_tariff_book(REPO_ROOT / "data" / "tariffs"))
    engine.dispose()
