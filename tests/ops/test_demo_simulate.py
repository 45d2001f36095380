"""`powerdesk demo simulate` against real api processes (HTTP only; Rasa replaced by the fake Rasa server so
the test stays fast — tests/e2e/test_demo_simulate_e2e.py runs it through the real bot): conversations,
agents' claims, replies and closes, and ratings all arrive in the database, and the report then has content."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import make_engine, make_session_factory
from core.errors import DataError, UpstreamUnavailable
from core.migrate import upgrade
from core.models import Conversation, Handoff, Message, Rating
from core.settings import REPO_ROOT, Settings
from ops.demo_simulate import ensure_demo_agents, load_script, simulate
from services.reports import run_report
from tests.api.multiprocess import api_processes
from tests.services.test_reports import fake_model


@pytest.mark.db
def test_simulated_traffic_fills_the_log_and_the_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    upgrade(url)
    settings = Settings(
        powerdesk_env="test",
        var_dir=tmp_path,
        database_url=url,
        service_hours_workday="00:00-24:00",
        service_hours_restday="00:00-24:00",
        rate_limit_burst=1000,
        rate_limit_per_second=1000.0,
        _env_file=None,
    )
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    team = ensure_demo_agents(sessions, 2)
    assert ensure_demo_agents(sessions, 2)[0][1] != team[0][1]  # passwords are fresh each run
    team = ensure_demo_agents(sessions, 2)
    script = load_script(REPO_ROOT / "data")
    with api_processes(settings, 1, tmp_path) as stack:
        stats = asyncio.run(simulate(stack.urls[0], script, team, 16, seed=3, concurrency=4))
    assert stats.errors == [] and stats.conversations == 16
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) >= 16
        customer = select(func.count()).select_from(Message).where(Message.sender == "customer")
        assert session.scalar(customer) == stats.messages
        closed = session.scalar(select(func.count()).select_from(Handoff).where(Handoff.status == "closed"))
        assert closed == stats.handoffs_closed > 0
        agent_messages = select(func.count()).select_from(Message).where(Message.sender == "agent")
        assert session.scalar(agent_messages) >= 2 * closed
        rated = session.scalar(select(func.count()).select_from(Rating).where(Rating.human_involved.is_(True)))
        assert rated > 0
    engine.dispose()
    today = dt.datetime.now(dt.UTC).date()
    run_report(settings, today, today, tmp_path / "out", pdf=False, log=lambda _m: None, model_loader=fake_model)
    summary = (tmp_path / "out" / "summary.csv").read_text(encoding="utf-8-sig")
    assert summary.count("\n") == 2 and "13812345678" not in (tmp_path / "out" / "report.html").read_text()


def test_unreachable_api_and_a_broken_script(tmp_path: Path) -> None:
    script = load_script(REPO_ROOT / "data")
    with pytest.raises(UpstreamUnavailable, match="powerdesk run"):
        asyncio.run(simulate("http://127.0.0.1:9", script, [], 1))
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "simulate.yml").write_text("scenarios: [1, 2]\n", encoding="utf-8")
    with pytest.raises(DataError, match="simulate.yml"):
        load_script(tmp_path)
    (tmp_path / "demo" / "simulate.yml").write_text(
        "scenarios: {a: {weight: 0, turns: [[hi]]}}\nagent_replies: [x]\nrating_text: ['{score}']\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match="positive weight"):
        load_script(tmp_path)
