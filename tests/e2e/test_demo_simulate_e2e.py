"""`powerdesk demo simulate` through the real stack (Rasa, action server, api): the bot's answers, agents'
cases and ratings land in the database, Rasa's SQL event broker fills `events`, and the report shows both."""

from __future__ import annotations

import asyncio
import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, select

from core.models import Message
from core.models_reports import BrokerEvent
from core.settings import REPO_ROOT
from ops.demo_simulate import ensure_demo_agents, load_script, simulate
from services.reports import run_report
from tests.services.test_reports import fake_model

pytestmark = pytest.mark.e2e


def test_simulated_customers_through_the_real_bot_fill_the_report(stack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    team = ensure_demo_agents(stack.sessions(), 2)
    stats = asyncio.run(simulate(stack.base_url, load_script(REPO_ROOT / "data"), team, 8, seed=5, concurrency=2))
    assert stats.errors == [] and stats.conversations == 8
    with stack.sessions()() as session:
        bot_replies = session.scalar(select(func.count()).select_from(Message).where(Message.sender == "bot"))
        events = session.scalar(select(func.count()).select_from(BrokerEvent))
    assert bot_replies >= 8 and events > 8 * 3  # Rasa's SQL broker wrote user, bot and action events
    today = dt.datetime.now(dt.UTC).date()
    out = tmp_path / "report"
    run_report(stack.settings, today, today, out, pdf=False, log=lambda _m: None, model_loader=fake_model)
    assert pd.read_csv(out / "summary.csv")["contacts"].iloc[0] >= 8
    assert pd.read_csv(out / "rasa_events_by_day.csv")["user_turns"].sum() >= 8  # paused turns go to agents
