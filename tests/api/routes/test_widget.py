"""The widget's script, history and websocket."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from unittest import mock

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from api.widget_session import SessionExpired, WidgetSessions
from core.models import Conversation, Customer
from core.settings import Settings
from tests.api.fakes import FakeBot
from tests.api.widget_helpers import widget_history, widget_socket

USER = "widgetuser0123456789"


def test_script_carries_texts_from_data(client: TestClient) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200 and "javascript" in response.headers["content-type"]
    assert response.text.startswith("window.POWERDESK_TEXTS = {") and "电力智能客服" in response.text
    assert "innerHTML" not in response.text  # everything is rendered with textContent


def test_demo_page_embeds_the_widget(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/widget.js"' in page.text


def test_websocket_turn_and_history(client: TestClient) -> None:
    with widget_socket(client, USER) as socket:
        socket.send_text('{"text": "你好"}')
        reply = socket.receive_json()
        assert reply["type"] == "replies" and reply["replies"][0]["text"] == "收到：你好"
        socket.send_text("not json")
        assert socket.receive_json()["code"] == "invalid_input"
        socket.send_text('{"text": ""}')
        assert socket.receive_json()["code"] == "invalid_input"
        socket.send_text('{"text": "<img src=x onerror=alert(1)>"}')
        assert socket.receive_json()["replies"][0]["text"] == "收到：<img src=x onerror=alert(1)>"
    history = widget_history(client, USER).json()
    assert [m["direction"] for m in history["messages"]] == ["in", "out", "in", "out"]
    assert history["messages"][1]["buttons"] == [{"title": "查电费", "payload": "/query_bill"}]


def test_a_session_is_issued_renewed_and_never_taken_from_the_browser(client: TestClient) -> None:
    first = client.post("/api/v1/widget/session", json={})
    assert first.status_code == 200 and first.json()["expires_in_s"] == 7 * 86400
    token = first.json()["token"]
    sessions = client.app.state.widget_sessions  # type: ignore[attr-defined]
    visitor = sessions.visitor(token)
    assert len(visitor) == 32  # made by the server, 128 random bits
    renewed = client.post("/api/v1/widget/session", json={"token": token}).json()["token"]
    assert sessions.visitor(renewed) == visitor
    for forged in ("", "x" * 40, token[:-2] + "AA", "a" * 600):
        fresh = client.post("/api/v1/widget/session", json={"token": forged[:512]})
        assert fresh.status_code == 200 and sessions.visitor(fresh.json()["token"]) != visitor
    assert client.post("/api/v1/widget/session", json={"token": "a" * 600}).status_code == 422
    assert client.post("/api/v1/widget/session", content=b"{not json").status_code == 422


def test_history_and_socket_need_a_valid_session(client: TestClient) -> None:
    assert client.get("/api/v1/widget/history").status_code == 401
    assert client.get("/api/v1/widget/history", headers={"Authorization": "Bearer nope"}).status_code == 401
    # the old way in, a visitor id in the URL, opens nothing
    assert client.get("/api/v1/widget/history?user_id=" + USER, headers={}).status_code == 401
    with client.websocket_connect("/api/v1/widget/ws?user_id=" + USER) as socket:
        socket.send_json({"text": "你好"})  # not an auth frame
        assert socket.receive_json()["code"] == "not_authenticated"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
        assert closed.value.code == 4401
    with client.websocket_connect("/api/v1/widget/ws") as socket:
        socket.send_json({"type": "auth", "token": "forged.token.value"})
        assert socket.receive_json()["code"] == "not_authenticated"


def test_an_expired_session_is_refused_and_renewal_starts_a_new_visitor(api_settings: Settings) -> None:
    sessions = WidgetSessions(api_settings.secret_key, ttl_s=1)
    old = sessions.issue("visitor-before-expiry-000001")
    with freeze_time_shift(seconds=5):
        with pytest.raises(SessionExpired):
            sessions.visitor(old.token)
        assert sessions.renew(old.token).visitor != old.visitor
    assert WidgetSessions("another-secret-of-32-characters!!", 3600).renew(old.token).visitor != old.visitor


def test_the_socket_refuses_other_sites_but_not_the_listed_ones(api_settings: Settings, bot: FakeBot) -> None:
    settings = api_settings.model_copy(update={"widget_origins": "https://www.example-grid.cn"})
    with TestClient(create_app(settings, bot=bot)) as client:
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect("/api/v1/widget/ws", headers={"Origin": "https://evil.example"}):
                pass
        assert refused.value.code == 4403
        with widget_socket(client, USER, origin="https://www.example-grid.cn") as socket:
            socket.send_json({"text": "你好"})
            assert socket.receive_json()["type"] == "replies"
        with widget_socket(client, USER, origin="http://testserver"):  # the api's own site
            pass
        preflight = client.options(
            "/api/v1/widget/session",
            headers={"Origin": "https://www.example-grid.cn", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers["access-control-allow-origin"] == "https://www.example-grid.cn"
        other = client.post("/api/v1/widget/session", json={}, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        console = client.options(
            "/console/api/queue",
            headers={"Origin": "https://www.example-grid.cn", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in console.headers  # CORS only on the widget's paths


def test_websocket_rate_limit_is_a_message_not_a_disconnect(client: TestClient) -> None:
    with widget_socket(client, USER + "x") as socket:
        codes = []
        for i in range(15):
            socket.send_text(f'{{"text": "第{i}条"}}')
            codes.append(socket.receive_json().get("code", "ok"))
        assert codes.count("rate_limited") >= 3 and codes[:10] == ["ok"] * 10


def test_new_conversations_are_limited_per_client_address(api_settings: Settings, bot: FakeBot) -> None:
    settings = api_settings.model_copy(update={"new_conversations_per_client_minute": 3})
    with TestClient(create_app(settings, bot=bot)) as client:
        codes = []
        for i in range(5):
            with widget_socket(client, f"fresh-visitor-{i:020d}") as socket:
                socket.send_json({"text": "你好"})
                frame = socket.receive_json()
                codes.append(frame.get("code", "ok"))
                if frame.get("code"):
                    assert "咨询人数较多" in frame["message"]
        assert codes == ["ok", "ok", "ok", "too_many_conversations", "too_many_conversations"]
        with widget_socket(client, "fresh-visitor-00000000000000000000") as socket:
            socket.send_json({"text": "还在吗"})  # an open conversation goes on
            assert socket.receive_json()["type"] == "replies"
        with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            assert session.scalar(select(func.count()).select_from(Conversation)) == 3  # nothing half-made


def test_the_demo_page_lists_demo_accounts_only_on_a_demo_database(client: TestClient) -> None:
    import datetime as dt

    from core.db import transaction
    from core.models import Customer
    from core.models_billing import DemoState

    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    with transaction(sessions) as session:
        session.add(
            Customer(
                account_no="3309990001",
                name="演示客户",
                phone="13900001234",
                address="西湖区文三路1号",
                area="西湖",
                customer_category="residential",
                tariff_category="residential_tiered",
                opened_on=dt.date(2020, 1, 1),
            )
        )
    assert "3309990001" not in client.get("/").text  # not a demo database: no account is shown
    with transaction(sessions) as session:
        day = dt.date(2026, 1, 1)
        session.add(DemoState(seed=1, customers=1, fingerprint="x" * 64, first_day=day, last_day=day))
    page = client.get("/").text
    assert "<code>3309990001</code>" in page and "<code>1234</code>" in page and "居民" in page


@contextlib.contextmanager
def freeze_time_shift(seconds: float) -> Iterator[None]:
    """Time as itsdangerous sees it, `seconds` later."""
    later = time.time() + seconds
    with mock.patch("itsdangerous.timed.time.time", return_value=later):
        yield


def test_a_message_the_database_could_not_store_is_refused_clearly(client: TestClient) -> None:
    from sqlalchemy.exc import OperationalError

    store = client.app.state.store  # type: ignore[attr-defined]

    def database_away(*_: object, **__: object) -> None:
        raise OperationalError("INSERT", {}, ConnectionRefusedError("connection refused"))

    with mock.patch.object(store, "store_inbound", database_away):
        with widget_socket(client, USER + "db") as socket:
            socket.send_json({"text": "电费怎么交"})
            frame = socket.receive_json()
            assert frame["code"] == "not_stored" and "没有发送成功" in frame["message"]
            assert frame["text"] == "电费怎么交"  # the widget sends it again
        answer = client.post("/api/v1/messages", json={"user_id": "db-away", "text": "你好"})
        assert answer.status_code == 503 and answer.json()["error"] == "database_unavailable"
        assert answer.headers["retry-after"] == "5"
    assert client.post("/api/v1/messages", json={"user_id": "db-away", "text": "你好"}).status_code == 200


def test_a_bound_visitor_sees_their_notices_once(client: TestClient) -> None:
    from core.db import transaction
    from core.models_recommend import CustomerNotice
    from services.customers import bind
    from tests.outage_helpers import add_customers

    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    add_customers(sessions, 2)
    with transaction(sessions) as session:
        customer = session.scalars(select(Customer).order_by(Customer.account_no)).first()
        assert customer is not None
        bind(session, "widget", USER, customer)
        session.add(CustomerNotice(customer_id=customer.id, channel="widget", text="【计划停电通知】明天停电"))
        session.add(CustomerNotice(customer_id=customer.id + 1, channel="widget", text="别人的通知"))
    assert widget_history(client, "someone_else_0123").json()["notices"] == []
    first = widget_history(client, USER).json()
    assert [n["text"] for n in first["notices"]] == ["【计划停电通知】明天停电"] and first["messages"] == []
    assert widget_history(client, USER).json()["notices"] == []  # read now
