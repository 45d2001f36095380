from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.db import make_engine, make_session_factory, transaction
from core.migrate import upgrade
from core.settings import Settings
from services import agents
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
        bot_replay_interval_s=3600,  # tests call the replayer themselves
        service_hours_workday="00:00-24:00",
        service_hours_restday="00:00-24:00",
        _env_file=None,
    )


@pytest.fixture
def agent_online(api_settings: Settings) -> str:
    """An agent whose console is open (presence), so handoffs queue instead of booking a callback."""
    engine = make_engine(api_settings.effective_database_url)
    with transaction(make_session_factory(engine)) as session:
        agents.create_agent(session, "wang", "王敏", "correct horse battery", "agent")
        agents.touch(session, agents.list_agents(session)[0].id)
    engine.dispose()
    return "wang"


@pytest.fixture
def client(api_settings: Settings, bot: FakeBot) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, bot=bot)) as test_client:
        yield test_client
