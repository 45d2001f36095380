from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.migrate import upgrade
from core.settings import Settings
from tests.api.fakes import FakeBot


@pytest.fixture
def bot() -> FakeBot:
    return FakeBot()


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    upgrade(url)
    return Settings(
        powerdesk_env="test",
        var_dir=tmp_path,
        database_url=url,
        action_server_url="http://127.0.0.1:9",
        rate_limit_burst=10,
        rate_limit_per_second=2.0,
        _env_file=None,
    )


@pytest.fixture
def client(api_settings: Settings, bot: FakeBot) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, bot=bot)) as test_client:
        yield test_client
