"""Two api processes and Redis: the customer on one process, the agent on the other, both ways."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from websockets.sync.client import connect

from core.db import make_engine, make_session_factory, transaction
from core.migrate import upgrade
from core.models import Message
from core.settings import Settings
from services import agents
from tests.api.console_helpers import PASSWORD
from tests.api.multiprocess import api_processes

REDIS_URL = os.environ.get("POWERDESK_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _next(ws, kind: str, limit: int = 20) -> dict:  # type: ignore[no-untyped-def]
    for _ in range(limit):
        frame = json.loads(ws.recv(timeout=10))
        if frame.get("type") == kind:
            return frame
    raise AssertionError(f"no {kind!r} frame")


def login(base: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/login").text)
    assert token is not None
    client.post("/console/login", data={"username": "wang", "password": PASSWORD, "csrf_token": token.group(1)})
    csrf = re.search(r'data-csrf="([^"]+)"', client.get("/console").text)
    assert csrf is not None
    return client, csrf.group(1)


def test_delivery_across_two_api_processes_through_redis(tmp_path: Path) -> None:
    if not _redis_available():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}; CI machines of this project run it")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        agents.create_agent(session, "wang", "王敏", PASSWORD)
    settings = Settings(
        powerdesk_env="test",
        var_dir=tmp_path,
        database_url=url,
        redis_url=REDIS_URL,
        service_hours_workday="00:00-24:00",
        service_hours_restday="00:00-24:00",
        _env_file=None,
    )
    with api_processes(settings, 2, tmp_path) as stack:
        customer_api, agent_api = stack.urls
        agent, csrf = login(agent_api)
        cookie = f"pd_console={agent.cookies['pd_console']}"
        ws_agent = agent_api.replace("http", "ws")
        ws_customer = customer_api.replace("http", "ws")
        with (
            connect(f"{ws_agent}/console/ws", additional_headers={"Cookie": cookie}) as console,
            connect(f"{ws_customer}/api/v1/widget/ws") as widget,
        ):
            token = httpx.post(f"{agent_api}/api/v1/widget/session", json={}).json()["token"]  # valid on every api
            widget.send(json.dumps({"type": "auth", "token": token}))
            assert _next(widget, "ready")
            assert _next(console, "hello")["agent"] == "wang"  # the agent is online (presence in the database)
            widget.send(json.dumps({"text": "我要转人工"}))
            assert _next(widget, "replies")["state"] == "waiting_agent"
            handoff_id = _next(console, "queue")["handoff_id"]  # published on process A, seen on B
            headers = {"X-CSRF-Token": csrf}
            assert agent.post(f"/console/api/cases/{handoff_id}/claim", headers=headers).status_code == 200
            assert "王敏" in _next(widget, "push")["replies"][0]["text"]
            console.send(json.dumps({"type": "watch", "handoff_id": handoff_id}))
            _next(console, "watching")
            reply = agent.post(f"/console/api/cases/{handoff_id}/reply", json={"text": "您好，请讲"}, headers=headers)
            assert reply.status_code == 200
            pushed = _next(widget, "push")  # published on B, delivered by A
            assert pushed["replies"][0]["text"] == "您好，请讲"
            widget.send(json.dumps({"text": "电费多扣了"}))
            assert _next(widget, "replies")["replies"] == []  # the bot stays silent
            seen = _next(console, "message")
            while seen["message"]["direction"] != "in":
                seen = _next(console, "message")
            assert seen["message"]["text"] == "电费多扣了"
        agent.close()
    with sessions() as session:
        for text in ("您好，请讲", "电费多扣了"):
            rows = session.scalars(select(Message).where(Message.text == text)).all()
            assert [m.status for m in rows] == ["delivered"], text
    engine.dispose()
