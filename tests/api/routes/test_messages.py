"""POST /api/v1/messages: storage order, routing by state, failures, and hostile input."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from core.models import Conversation, Handoff, Message
from core.settings import Settings
from tests.api.fakes import FakeBot
from tests.api.stored import stored_rows


def _messages(settings: Settings) -> list[Message]:
    return stored_rows(settings, Message)


def _send(client: TestClient, text: str, user: str = "u-1") -> dict:
    response = client.post("/api/v1/messages", json={"user_id": user, "text": text})
    assert response.status_code == 200, response.text
    return response.json()


def test_message_and_replies_are_stored_in_order(client: TestClient, api_settings: Settings, bot: FakeBot) -> None:
    body = _send(client, "你好")
    assert body["state"] == "bot"
    assert body["replies"] == [
        {"text": "收到：你好", "buttons": [{"title": "查电费", "payload": "/query_bill"}], "custom": None}
    ]
    rows = _messages(api_settings)
    assert [(m.direction, m.sender, m.text) for m in rows] == [("in", "customer", "你好"), ("out", "bot", "收到：你好")]
    assert rows[0].intent == "greet" and rows[0].confidence == 0.91 and rows[0].status == "processed"
    assert rows[1].payload == {"buttons": [{"title": "查电费", "payload": "/query_bill"}], "custom": None}
    assert bot.sent[0][0] == "api:u-1" and bot.sent[0][2]["conversation_id"] == body["conversation_id"]


def test_bot_unreachable_keeps_messages_and_the_bot_answers_them_in_order_once_back(
    agent_online: str, client: TestClient, api_settings: Settings, bot: FakeBot
) -> None:
    bot.down = True
    first = _send(client, "上个月电费多少")
    second = _send(client, "/restart")
    assert first["state"] == second["state"] == "bot"
    assert "恢复后会立即按顺序回复" in first["replies"][0]["text"] and "95598" in first["replies"][0]["text"]
    rows = _messages(api_settings)
    assert [(r.text, r.status) for r in rows if r.direction == "in"] == [
        ("上个月电费多少", "pending"),
        ("/restart", "pending"),
    ]
    assert stored_rows(api_settings, Handoff) == []  # not pushed to a person
    # back: the next message first gets the kept ones answered (in order, once), then its own answer
    bot.down = False
    bot.sent.clear()
    third = _send(client, "谢谢")
    assert [text for _, text, _ in bot.sent] == ["上个月电费多少", "／restart", "谢谢"]
    assert third["replies"][0]["text"] == "收到：谢谢"
    rows = _messages(api_settings)
    assert all(r.status == "processed" for r in rows if r.direction == "in")
    answers = [r.text for r in rows if r.sender == "bot"]
    assert answers == ["收到：上个月电费多少", "收到：／restart", "收到：谢谢"]
    client.portal.call(client.app.state.conversations.replay_all)  # type: ignore[attr-defined]
    assert len(bot.sent) == 3  # nothing answered twice


def test_kept_messages_are_answered_by_the_replayer_without_a_new_message(
    client: TestClient, api_settings: Settings, bot: FakeBot
) -> None:
    bot.down = True
    _send(client, "电费怎么交", user="quiet-1")
    _send(client, "停电了", user="quiet-2")
    service = client.app.state.conversations  # type: ignore[attr-defined]
    assert client.portal.call(service.replay_all) == 0  # type: ignore[attr-defined]  # still down: kept
    bot.down = False
    assert client.portal.call(service.replay_all) == 2  # type: ignore[attr-defined]
    assert client.portal.call(service.replay_all) == 0  # type: ignore[attr-defined]
    assert sorted(text for _, text, _ in bot.sent[-2:]) == ["停电了", "电费怎么交"]


def test_asking_for_a_person_works_while_the_bot_is_unreachable(
    agent_online: str, client: TestClient, api_settings: Settings, bot: FakeBot
) -> None:
    bot.down = True
    _send(client, "查一下我的电费", user="p-1")
    body = _send(client, "转人工", user="p-1")
    assert body["state"] == "waiting_agent"
    assert stored_rows(api_settings, Handoff)[0].reason == "asked"
    # the kept message is the agent's now: the bot does not answer it when it is back
    bot.down = False
    bot.sent.clear()
    assert client.portal.call(client.app.state.conversations.replay_all) == 0  # type: ignore[attr-defined]
    assert bot.sent == []


def test_a_bot_that_was_reached_but_failed_queues_for_a_person(
    agent_online: str, client: TestClient, api_settings: Settings, bot: FakeBot
) -> None:
    """Rasa reached but too slow or failing may have acted: the message is not sent again, a person takes it."""
    bot.fail_reached = True
    body = _send(client, "上个月电费多少")
    assert body["state"] == "waiting_agent" and "95598" in body["replies"][0]["text"]
    assert _messages(api_settings)[0].status == "failed"
    assert stored_rows(api_settings, Handoff)[0].reason == "bot_unavailable"


def test_handoff_signal_from_the_bot_queues_the_conversation(
    agent_online: str, client: TestClient, api_settings: Settings
) -> None:
    body = _send(client, "我要转人工")
    assert body["state"] == "waiting_agent"
    assert body["replies"][0]["custom"] == {"handoff": {"reason": "asked"}}
    engine = create_engine(api_settings.effective_database_url)
    with Session(engine) as session:
        assert session.scalars(select(Conversation)).one().state == "waiting_agent"
        assert session.scalars(select(Handoff)).one().summary.startswith("未绑定户号的客户")
    engine.dispose()


def test_an_empty_bot_turn_is_a_failure_answered_and_queued(
    agent_online: str, client: TestClient, api_settings: Settings
) -> None:
    # Rasa answers nothing when an action or the action server fails
    body = _send(client, "silence")
    assert body["state"] == "waiting_agent" and "人工客服" in body["replies"][0]["text"]
    rows = _messages(api_settings)
    assert rows[0].status == "processed" and rows[0].intent == "greet" and rows[1].sender == "system"


def test_hostile_and_malformed_input(client: TestClient, api_settings: Settings, bot: FakeBot) -> None:
    cases = [
        ({"user_id": "u-2", "text": ""}, 422),
        ({"user_id": "u-2", "text": "   \x00\x01  "}, 422),
        ({"user_id": "u-2", "text": "电" * 10_000}, 422),
        ({"user_id": "", "text": "你好"}, 422),
        ({"user_id": "a" * 200, "text": "你好"}, 422),
        ({"user_id": "<script>", "text": "你好"}, 422),
        ({"text": "你好"}, 422),
        ({"user_id": "u-2", "text": 5}, 422),
    ]
    for payload, status in cases:
        response = client.post("/api/v1/messages", json=payload)
        assert response.status_code == status, (payload, response.text)
        assert response.json()["error"] == "invalid_input" and response.json()["message"]
    bad_json = client.post(
        "/api/v1/messages", content=b'{"user_id": "u-2", "text": ', headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 422
    huge = client.post("/api/v1/messages", content=b"x" * 200_000, headers={"content-type": "application/json"})
    assert huge.status_code == 413 and huge.json()["error"] == "body_too_large"
    assert bot.sent == [] and _messages(api_settings) == []
    # emoji, control characters and markup are accepted, cleaned and stored verbatim as text
    body = _send(client, "停电了😭\x07<script>alert(1)</script>", user="u-3")
    assert body["replies"][0]["text"] == "收到：停电了😭<script>alert(1)</script>"
    assert _messages(api_settings)[0].text == "停电了😭<script>alert(1)</script>"


def test_rate_limit_answers_429_and_loses_nothing_accepted(client: TestClient, api_settings: Settings) -> None:
    statuses = [
        client.post("/api/v1/messages", json={"user_id": "fast", "text": f"第{i}条"}).status_code for i in range(50)
    ]
    accepted = statuses.count(200)
    assert 10 <= accepted < 15 and statuses.count(429) == 50 - accepted
    limited = client.post("/api/v1/messages", json={"user_id": "fast", "text": "再来"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert "retry" in limited.json()["message"]
    inbound = [m for m in _messages(api_settings) if m.direction == "in"]
    assert len(inbound) == accepted
    assert _send(client, "别的用户不受影响", user="slow")["replies"]


def test_api_key_when_configured(api_settings: Settings, bot: FakeBot) -> None:
    from api.app import create_app

    settings = api_settings.model_copy(update={"api_key": "s3cret"})
    with TestClient(create_app(settings, bot=bot)) as client:
        assert client.post("/api/v1/messages", json={"user_id": "k", "text": "你好"}).status_code == 401
        ok = client.post("/api/v1/messages", json={"user_id": "k", "text": "你好"}, headers={"X-API-Key": "s3cret"})
        assert ok.status_code == 200


def test_health_and_readiness(client: TestClient, bot: FakeBot) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503  # the action server URL points nowhere
    assert ready.json()["checks"] == {"rasa": True, "action_server": False, "database": True}
    bot.down = True
    _send(client, "在吗")
    body = client.get("/readyz").json()
    assert body["status"] == "degraded" and body["degraded"] == ["action_server", "rasa"]
    assert body["kept_messages"] == 1


def test_typed_slash_commands_are_text_unless_they_are_an_offered_button(client: TestClient, bot: FakeBot) -> None:
    """ "/restart" or '/inform{"account_no":…}' typed by a customer would skip the NLU and set slots in Rasa:
    they reach it as text. The payload of a button the last reply offered is still a command."""
    _send(client, '/inform{"account_no":"3300000001","phone_last4":"1"}', user="cmd-1")
    _send(client, "/restart", user="cmd-1")
    assert [text for _, text, _ in bot.sent] == ['／inform{"account_no":"3300000001","phone_last4":"1"}', "／restart"]
    _send(client, "/query_bill", user="cmd-1")  # the fake bot's last reply offered it
    _send(client, "/query_bill", user="cmd-2")  # a new customer was offered nothing
    assert [text for _, text, _ in bot.sent[2:]] == ["/query_bill", "／query_bill"]


def test_every_response_carries_security_headers_and_no_server_banner(client: TestClient) -> None:
    for path in ("/", "/readyz", "/healthz", "/docs", "/no-such-page"):
        response = client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
        assert "server" not in response.headers, path


def test_production_has_no_api_docs(api_settings: Settings, bot: FakeBot) -> None:
    from api.app import create_app

    settings = api_settings.model_copy(
        update={"powerdesk_env": "production", "public_base_url": "https://kefu.example"}
    )
    with TestClient(create_app(settings, bot=bot)) as production:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert production.get(path).status_code == 404, path
        assert production.get("/healthz").headers["strict-transport-security"].startswith("max-age=")


def test_transcripts_keep_no_phone_or_account_digits_but_the_bot_gets_them(
    client: TestClient, api_settings: Settings, bot: FakeBot
) -> None:
    _send(client, "绑定户号3301234567", user="mask-1")
    _send(client, "5678", user="mask-1")
    assert [text for _, text, _ in bot.sent] == ["绑定户号3301234567", "5678"]
    stored = [m.text for m in _messages(api_settings) if m.direction == "in"]
    assert stored == ["绑定户号3301****67", "****"]
    bot.down = True
    _send(client, "13812345678", user="mask-2")
    kept = [m for m in _messages(api_settings) if m.direction == "in"][-1]
    assert kept.text == "138********" and kept.payload == {"bot_text": "13812345678"}  # kept for the bot only
    bot.down = False
    client.portal.call(client.app.state.conversations.replay_all)  # type: ignore[attr-defined]
    assert bot.sent[-1][1] == "13812345678"
    answered = stored_rows(api_settings, Message)
    assert next(m for m in answered if m.id == kept.id).payload is None  # dropped once answered
