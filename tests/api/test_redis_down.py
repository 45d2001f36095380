"""Redis away (several api workers share rate limits and the console's events there): the api still starts,
answers customers and reaches a person; limits hold per process meanwhile."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from tests.api.fakes import FakeBot

NOTHING_LISTENS = "redis://127.0.0.1:1/0"


def test_the_api_works_without_redis(agent_online: str, api_settings: Settings, bot: FakeBot) -> None:
    settings = api_settings.model_copy(update={"redis_url": NOTHING_LISTENS, "rate_limit_burst": 5})
    with TestClient(create_app(settings, bot=bot)) as client:
        answer = client.post("/api/v1/messages", json={"user_id": "no-redis-1", "text": "电费怎么交"})
        assert answer.status_code == 200 and answer.json()["replies"][0]["text"] == "收到：电费怎么交"
        handoff = client.post("/api/v1/messages", json={"user_id": "no-redis-2", "text": "我要转人工"})
        assert handoff.status_code == 200 and handoff.json()["state"] == "waiting_agent"
        codes = [
            client.post("/api/v1/messages", json={"user_id": "no-redis-3", "text": f"第{i}条"}).status_code
            for i in range(8)
        ]
        assert codes[:5] == [200] * 5 and 429 in codes  # the per-user limit still holds, in this process
        assert client.get("/healthz").status_code == 200
