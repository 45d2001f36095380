"""Every console page, api and websocket refuses strangers and wrong roles; CSRF; escaping; login limits; cookies."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from core.db import make_engine, make_session_factory, transaction
from core.settings import Settings
from services import agents
from tests.api.console_helpers import PASSWORD, login
from tests.api.widget_helpers import widget_socket

PAGES = ["/console", "/console/cases/1", "/console/supervisor"]
API_GET = [
    "/console/api/queue",
    "/console/api/cases/1/messages",
    "/console/api/cases/1/suggestions",
    "/console/api/agents",
    "/console/api/supervisor",
]
API_POST = [
    ("/console/api/cases/1/claim", None),
    ("/console/api/cases/1/reply", {"text": "x"}),
    ("/console/api/cases/1/transfer", {"to": "li"}),
    ("/console/api/cases/1/close", {"resolution": "resolved"}),
]


def _add(settings: Settings, username: str, role: str) -> None:
    engine = make_engine(settings.effective_database_url)
    with transaction(make_session_factory(engine)) as session:
        agents.create_agent(session, username, username.upper(), PASSWORD, role)
    engine.dispose()


def test_strangers_are_refused_everywhere(client: TestClient) -> None:
    for path in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/login"), path
    for path in API_GET:
        assert client.get(path).status_code == 401, path
    for path, body in API_POST:
        assert client.post(path, json=body).status_code == 401, path
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/console/ws") as ws:
        ws.receive_json()
    assert refused.value.code == 4401
    client.cookies.set("pd_console", "forged-token")
    assert client.get("/console/api/queue").status_code == 401


def test_agents_are_refused_the_supervisor_view_and_others_cases(
    agent_online: str, client: TestClient, api_settings: Settings
) -> None:
    _add(api_settings, "li", "supervisor")
    _add(api_settings, "zhao", "agent")
    csrf = login(client, agent_online)
    assert client.get("/console/supervisor").status_code == 403
    assert client.get("/console/api/supervisor").status_code == 403
    # a case claimed by zhao is not wang's to read or answer
    client.post("/api/v1/messages", json={"user_id": "c-1", "text": "转人工"})
    handoff_id = client.get("/console/api/queue").json()["waiting"][0]["handoff_id"]
    other = TestClient(client.app)
    other_csrf = login(other, "zhao")
    assert other.post(f"/console/api/cases/{handoff_id}/claim", headers={"X-CSRF-Token": other_csrf}).status_code == 200
    assert client.get(f"/console/api/cases/{handoff_id}/messages").status_code == 403
    assert client.get(f"/console/cases/{handoff_id}").status_code == 403
    reply = client.post(f"/console/api/cases/{handoff_id}/reply", json={"text": "hi"}, headers={"X-CSRF-Token": csrf})
    assert reply.status_code == 403
    with client.websocket_connect("/console/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "watch", "handoff_id": handoff_id})
        assert ws.receive_json()["code"] == "forbidden"
    # claiming a claimed case is a conflict, not a takeover
    assert client.post(f"/console/api/cases/{handoff_id}/claim", headers={"X-CSRF-Token": csrf}).status_code == 409
    supervisor = TestClient(client.app)
    login(supervisor, "li")
    assert supervisor.get("/console/api/supervisor").json()["claimed"] == 1
    assert supervisor.get(f"/console/api/cases/{handoff_id}/messages").status_code == 200


def test_posts_need_the_csrf_token_and_the_same_origin(agent_online: str, client: TestClient) -> None:
    csrf = login(client, agent_online)
    client.post("/api/v1/messages", json={"user_id": "c-2", "text": "转人工"})
    handoff_id = client.get("/console/api/queue").json()["waiting"][0]["handoff_id"]
    url = f"/console/api/cases/{handoff_id}/claim"
    assert client.post(url).status_code == 403
    assert client.post(url, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post(url, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}).status_code == 403
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/console/ws", headers={"Origin": "https://evil.example"}) as ws,
    ):
        ws.receive_json()
    assert refused.value.code == 4403
    assert client.post("/console/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert client.post(url, headers={"X-CSRF-Token": csrf}).status_code == 200
    # the login form itself carries a token bound to a cookie
    fresh = TestClient(client.app)
    response = fresh.post("/console/login", data={"username": agent_online, "password": PASSWORD, "csrf_token": "x"})
    assert response.status_code == 403


def test_customer_markup_is_text_in_the_console(agent_online: str, client: TestClient) -> None:
    login(client, agent_online)
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">转人工'
    client.post("/api/v1/messages", json={"user_id": "c-3", "text": hostile})
    handoff_id = client.get("/console/api/queue").json()["waiting"][0]["handoff_id"]
    page = client.get(f"/console/cases/{handoff_id}")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<img src=x" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    queue_page = client.get("/console")
    assert "<script>alert(1)" not in queue_page.text


def test_login_is_rate_limited(agent_online: str, client: TestClient, api_settings: Settings) -> None:
    statuses = []
    for _ in range(api_settings.console_login_attempts + 2):
        page = client.get("/console/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post(
            "/console/login", data={"username": agent_online, "password": "wrong password", "csrf_token": token}
        )
        statuses.append(response.status_code)
    assert statuses[: api_settings.console_login_attempts] == [401] * api_settings.console_login_attempts
    assert statuses[-1] == 429 and "Retry-After" in response.headers
    # even the right password is refused while limited
    page = client.get("/console/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    right = client.post("/console/login", data={"username": agent_online, "password": PASSWORD, "csrf_token": token})
    assert right.status_code == 429


def test_session_cookie_is_httponly_and_samesite(agent_online: str, client: TestClient) -> None:
    page = client.get("/console/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/console/login",
        data={"username": agent_online, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("pd_console="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite"} <= attributes and "samesite=strict" in cookie.lower()
    # logging out ends the session on the server, not only in the browser
    stolen = response.cookies.get("pd_console") or cookie.split(";")[0].split("=", 1)[1]
    csrf = client.get("/console").text.split('data-csrf="')[1].split('"')[0]
    assert client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    replay = TestClient(client.app)
    replay.cookies.set("pd_console", stolen)
    assert replay.get("/console/api/queue").status_code == 401


def test_disabled_agents_and_wrong_passwords_get_the_same_answer(
    agent_online: str, client: TestClient, api_settings: Settings
) -> None:
    page = client.get("/console/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    unknown = client.post("/console/login", data={"username": "nobody", "password": PASSWORD, "csrf_token": token})
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text
    csrf = login(client, agent_online)
    engine = make_engine(api_settings.effective_database_url)
    with transaction(make_session_factory(engine)) as session:
        agents.set_active(session, agent_online, False)
    engine.dispose()
    assert client.get("/console/api/queue", headers={"X-CSRF-Token": csrf}).status_code == 401


@pytest.mark.parametrize("bad_id", [str(2**63), str(2**64), "99999999999999999999999", "0", "-1"])
def test_out_of_range_ids_are_422_on_every_console_route(agent_online: str, client: TestClient, bad_id: str) -> None:
    csrf = login(client, agent_online)
    for path in [*PAGES[1:2], *API_GET[1:3]]:
        got = client.get(path.replace("/1", f"/{bad_id}"))
        assert got.status_code == 422, (path, got.status_code)
    for path, body in API_POST:
        got = client.post(path.replace("/1", f"/{bad_id}"), json=body, headers={"X-CSRF-Token": csrf})
        assert got.status_code == 422, (path, got.status_code)
    ack = client.post(f"/console/alerts/{bad_id}/ack", data={"csrf": csrf}, headers={"X-CSRF-Token": csrf})
    assert ack.status_code == 422


def test_bad_websocket_frames_get_an_error_and_the_socket_stays_usable(agent_online: str, client: TestClient) -> None:
    login(client, agent_online)
    with client.websocket_connect("/console/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        for frame in (b"\xff\xfe\x00binary", "x" * 5000, '{"type": "watch", "handoff_id": 18446744073709551616}'):
            if isinstance(frame, bytes):
                ws.send_bytes(frame)
            else:
                ws.send_text(frame)
            assert ws.receive_json()["type"] == "error"
        ws.send_text('{"type": "watch", "handoff_id": 9223372036854775808}')
        assert ws.receive_json()["type"] == "error"
        ws.send_text('{"type": "ping"}')
        assert ws.receive_json()["type"] == "pong"  # still usable
    widget_user = "widgetuser-frames-0001"
    with widget_socket(client, widget_user) as ws:
        ws.send_bytes(b"\xc3\x28 not utf-8")
        assert ws.receive_json()["code"] == "invalid_frame"
        ws.send_text('{"text": "\\ud800你好\\udfff"}')  # lone surrogates in a JSON escape
        assert ws.receive_json()["replies"][0]["text"] == "收到：你好"
        ws.send_bytes('{"text": "二进制帧里的文字"}'.encode())
        assert ws.receive_json()["replies"][0]["text"] == "收到：二进制帧里的文字"
