from __future__ import annotations

from pathlib import Path

import pytest

from analytics.billing.schedule import TariffBook, load_tariff_book
from core.settings import REPO_ROOT


@pytest.fixture(scope="session")
def book() -> TariffBook:
    return load_tariff_book(REPO_ROOT / "data" / "tariffs")


@pytest.fixture()
def tariff_dir(tmp_path: Path) -> Path:
    """A writable copy of the shipped schedules, for tests that break them."""
    target = tmp_path / "tariffs"
    target.mkdir()
    for path in (REPO_ROOT / "data" / "tariffs").glob("*.yml"):
        (target / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return target
