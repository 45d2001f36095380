"""The widget's script, history and websocket."""

from __future__ import annotations

from fastapi.testclient import TestClient

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
    with client.websocket_connect(f"/api/v1/widget/ws?user_id={USER}") as socket:
        socket.send_text('{"text": "你好"}')
        reply = socket.receive_json()
        assert reply["type"] == "replies" and reply["replies"][0]["text"] == "收到：你好"
        socket.send_text("not json")
        assert socket.receive_json()["code"] == "invalid_input"
        socket.send_text('{"text": ""}')
        assert socket.receive_json()["code"] == "invalid_input"
        socket.send_text('{"text": "<img src=x onerror=alert(1)>"}')
        assert socket.receive_json()["replies"][0]["text"] == "收到：<img src=x onerror=alert(1)>"
    history = client.get(f"/api/v1/widget/history?user_id={USER}").json()
    assert [m["direction"] for m in history["messages"]] == ["in", "out", "in", "out"]
    assert history["messages"][1]["buttons"] == [{"title": "查电费", "payload": "/query_bill"}]


def test_widget_user_ids_must_be_unguessable(client: TestClient) -> None:
    assert client.get("/api/v1/widget/history?user_id=short").status_code == 422
    assert client.get("/api/v1/widget/history?user_id=" + "z" * 20).json()["messages"] == []


def test_websocket_rate_limit_is_a_message_not_a_disconnect(client: TestClient) -> None:
    with client.websocket_connect(f"/api/v1/widget/ws?user_id={USER}x") as socket:
        codes = []
        for i in range(15):
            socket.send_text(f'{{"text": "第{i}条"}}')
            codes.append(socket.receive_json().get("code", "ok"))
        assert codes.count("rate_limited") >= 3 and codes[:10] == ["ok"] * 10


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
