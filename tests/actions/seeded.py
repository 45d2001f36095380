"""Services over a freshly seeded demo database, installed for the actions of one test module."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from actions.services import Services, set_services
from core.db import make_engine, make_session_factory
from core.migrate import upgrade
from core.settings import REPO_ROOT, Settings
from demo.config import load_demo_config
from ops.demo_seed import seed_demo
from tests.conftest import DEMO_TODAY


def seeded_services(
    tmp_path_factory: pytest.TempPathFactory, name: str, customers: int, seed: int, batch: int = 200
) -> Iterator[Services]:
    """Yield Services on a migrated SQLite database seeded with `customers` demo customers; reset afterwards."""
    url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'a.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    seed_demo(
        sessions, load_demo_config(REPO_ROOT / "data", today=DEMO_TODAY, customers=customers, seed=seed), batch=batch
    )
    services = Services(Settings(database_url=url, _env_file=None), sessions, today=lambda: dt.date(2026, 11, 23))
    set_services(services)
    yield services
    set_services(None)
    engine.dispose()
