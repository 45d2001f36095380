"""The whole handoff through the api with a fake Rasa: queue → claim → reply → bot silent → close → rating."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from core.models import Conversation, Handoff, Message, Rating
from core.settings import Settings
from tests.api.console_helpers import login, receive_until
from tests.api.fakes import FakeBot
from tests.api.widget_helpers import widget_socket

VISITOR = "v" * 8 + "0123456789ab"


def _db(settings: Settings) -> Session:
    return Session(create_engine(settings.effective_database_url))


def _statuses(settings: Settings, where: Any) -> list[str]:
    for _ in range(100):
        with _db(settings) as db:
            statuses = [m.status for m in db.scalars(select(Message).where(where))]
        if statuses and all(s == "delivered" for s in statuses):
            break
        time.sleep(0.02)
    return statuses


def test_customer_and_agent_talk_through_the_console(
    agent_online: str, client: TestClient, api_settings: Settings, bot: FakeBot
) -> None:
    csrf = login(client, agent_online)
    with (
        client.websocket_connect("/console/ws") as console,
        widget_socket(client, VISITOR) as widget,
    ):
        assert console.receive_json()["type"] == "hello"
        widget.send_json({"text": "我要转人工"})
        turn = receive_until(widget, "replies")
        assert turn["state"] == "waiting_agent"
        event = receive_until(console, "queue")
        handoff_id = event["handoff_id"]
        queue = client.get("/console/api/queue").json()
        assert [c["handoff_id"] for c in queue["waiting"]] == [handoff_id]

        claimed = client.post(f"/console/api/cases/{handoff_id}/claim", headers={"X-CSRF-Token": csrf})
        assert claimed.status_code == 200 and claimed.json()["status"] == "claimed"
        joined = receive_until(widget, "push")
        assert "王敏" in joined["replies"][0]["text"]

        console.send_json({"type": "watch", "handoff_id": handoff_id})
        receive_until(console, "watching")
        sent = client.post(
            f"/console/api/cases/{handoff_id}/reply", json={"text": "您好，我是王敏"}, headers={"X-CSRF-Token": csrf}
        )
        assert sent.status_code == 200, sent.text
        pushed = receive_until(widget, "push")
        assert pushed["replies"][0]["text"] == "您好，我是王敏" and pushed["replies"][0]["sender"] == "agent"

        asked = len(bot.sent)
        widget.send_json({"text": "我家电费怎么这么高"})
        turn = receive_until(widget, "replies")
        assert turn["state"] == "with_agent" and turn["replies"] == []  # the bot is silent
        assert len(bot.sent) == asked
        seen = receive_until(console, "message")
        while seen["message"]["direction"] != "in":
            seen = receive_until(console, "message")
        assert seen["message"]["text"] == "我家电费怎么这么高"

        closed = client.post(
            f"/console/api/cases/{handoff_id}/close",
            json={"resolution": "answered", "note": "解释了阶梯电价"},
            headers={"X-CSRF-Token": csrf},
        )
        assert closed.status_code == 200, closed.text
        request = receive_until(widget, "push")
        assert request["replies"][0]["custom"]["rating"]["max"] == 5
        assert bot.resumed == [f"widget:{VISITOR}"]

        widget.send_json({"type": "rating", "score": 5, "comment": "很及时"})
        thanks = receive_until(widget, "replies")
        assert thanks["state"] == "closed"

    with _db(api_settings) as db:
        rating = db.scalars(select(Rating)).one()
        assert (rating.score, rating.comment, rating.human_involved, rating.agent) == (5, "很及时", True, "wang")
        handoff = db.scalars(select(Handoff)).one()
        assert (handoff.status, handoff.resolution, handoff.agent) == ("closed", "answered", "wang")
        assert db.scalars(select(Conversation)).one().state == "closed"
    # acknowledgements are written in batches, a few milliseconds after the push
    assert _statuses(api_settings, Message.sender == "agent") == ["delivered"]
    assert _statuses(api_settings, Message.text == "我家电费怎么这么高") == ["delivered"]  # reached the console

    # after the rating window's answer the next message starts a new conversation with the bot
    body = client.post("/api/v1/messages", json={"user_id": "x-1", "text": "你好"}).json()
    assert body["state"] == "bot"


def test_a_number_reply_rates_on_text_channels(agent_online: str, client: TestClient, api_settings: Settings) -> None:
    csrf = login(client, agent_online)
    assert client.post("/api/v1/messages", json={"user_id": "u-9", "text": "转人工"}).json()["state"] == "waiting_agent"
    handoff_id = client.get("/console/api/queue").json()["waiting"][0]["handoff_id"]
    headers = {"X-CSRF-Token": csrf}
    assert client.post(f"/console/api/cases/{handoff_id}/claim", headers=headers).status_code == 200
    assert (
        client.post(
            f"/console/api/cases/{handoff_id}/close", json={"resolution": "resolved"}, headers=headers
        ).status_code
        == 200
    )
    body = client.post("/api/v1/messages", json={"user_id": "u-9", "text": "4分 还行"}).json()
    assert body["state"] == "closed" and "感谢" in body["replies"][0]["text"]
    with _db(api_settings) as db:
        rating = db.scalars(select(Rating)).one()
        assert (rating.score, rating.comment, rating.human_involved) == (4, "还行", True)
    # a second number is an ordinary message to the bot (rated already)
    assert client.post("/api/v1/messages", json={"user_id": "u-9", "text": "5"}).json()["state"] == "bot"
