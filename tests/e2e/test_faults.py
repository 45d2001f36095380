"""Faults on the real stack (the CI-sized part of benchmarks/faults.py): Rasa is killed while customers write;
the supervisor restarts it, every message is kept, answered politely at once and by the bot once it is back,
each exactly once."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from sqlalchemy import select

from core.models import Conversation, Message
from tests.e2e.conftest import Stack
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def _readyz(stack: Stack) -> dict:
    try:
        return httpx.get(f"{stack.base_url}/readyz", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return {}


def test_rasa_killed_messages_are_kept_then_answered_by_the_bot_once(stack: Stack) -> None:
    users = [f"fault-rasa-{i}" for i in range(4)]
    pid = stack.supervisor.pid("rasa")
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    assert wait_until(lambda: _readyz(stack).get("status") == "degraded", 30, step_s=0.5), "readyz did not say degraded"
    started = time.monotonic()
    texts = {}
    for user in users:
        text = f"电费怎么交（{user}）"
        answer = httpx.post(f"{stack.base_url}/api/v1/messages", json={"user_id": user, "text": text}, timeout=30)
        assert answer.status_code == 200
        body = answer.json()
        assert body["state"] == "bot" and "恢复后会立即按顺序回复" in body["replies"][0]["text"]
        texts[user] = text
    assert _readyz(stack)["kept_messages"] >= len(users)
    assert wait_until(lambda: _readyz(stack).get("status") == "ready", 240, step_s=0.5), "Rasa did not come back"
    recovered_s = time.monotonic() - started

    sessions = stack.sessions()

    def all_answered() -> bool:
        with sessions() as session:
            statuses = session.scalars(
                select(Message.status)
                .join(Conversation)
                .where(Conversation.external_user_id.in_(users), Message.direction == "in")
            ).all()
        return len(statuses) == len(users) and all(s == "processed" for s in statuses)

    assert wait_until(all_answered, 60, step_s=0.5), "the kept messages were not answered"
    with sessions() as session:
        for user in users:
            conversation = session.scalars(select(Conversation).where(Conversation.external_user_id == user)).one()
            rows = session.scalars(select(Message).where(Message.conversation_id == conversation.id)).all()
            assert [r.text for r in rows if r.direction == "in"] == [texts[user]]
            assert [r.sender for r in rows if r.direction == "out"][0] == "system"  # the polite message first
            bot_answers = [r for r in rows if r.sender == "bot"]
            assert bot_answers, f"{user} got no answer from the bot"
            # one turn's answer: all replies of one bot turn are stored together, nothing answered twice
            assert len({r.created_at.replace(microsecond=0) for r in bot_answers}) <= 2
    notes = (stack.log_dir / "supervisor.log").read_text()
    assert "rasa exited with code -9; restarting" in notes
    print(f"Rasa killed: back and every kept message answered after {recovered_s:.0f} s")


def test_action_server_killed_is_restarted_and_the_customer_is_answered(stack: Stack) -> None:
    pid = stack.supervisor.pid("actions")
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    answer = httpx.post(
        f"{stack.base_url}/api/v1/messages", json={"user_id": "fault-actions-1", "text": "电价是多少"}, timeout=60
    )
    assert answer.status_code == 200 and answer.json()["replies"]  # politely, or by the bot once it is back
    assert wait_until(lambda: _readyz(stack).get("status") == "ready", 120, step_s=0.5), (
        "the action server did not come back"
    )
    again = httpx.post(
        f"{stack.base_url}/api/v1/messages", json={"user_id": "fault-actions-2", "text": "居民电价是多少"}, timeout=60
    )
    assert again.status_code == 200 and again.json()["state"] == "bot" and again.json()["replies"]
