"""The outage and ticket apis: API key, validation, bad input on every edge (never a 500)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.clock import local_now, local_today
from core.db import make_engine, make_session_factory, transaction
from core.settings import Settings
from services.tickets import create_ticket
from tests.api.fakes import FakeBot
from tests.outage_helpers import add_customers

KEY = {"X-API-Key": "s3cret-outage-key"}
TOMORROW = (local_today() + dt.timedelta(days=1)).isoformat()
EVENT = {
    "kind": "planned",
    "start": f"{TOMORROW}T08:00",
    "end": f"{TOMORROW}T17:00",
    "reason": "10kV线路检修",
    "feeder": "10kV文三路1号线",
}


@pytest.fixture
def api(api_settings: Settings) -> Iterator[tuple[TestClient, str]]:
    """A client with an API key over 10,000 customers on one feeder, and an outage ticket's number."""
    settings = api_settings.model_copy(update={"api_key": KEY["X-API-Key"]})
    engine = make_engine(settings.effective_database_url)
    sessions = make_session_factory(engine)
    add_customers(sessions, 10_000)
    with transaction(sessions) as session:
        ticket_no = create_ticket(session, "outage", description="停电了").ticket_no
    engine.dispose()
    with TestClient(create_app(settings, bot=FakeBot())) as client:
        yield client, ticket_no


def test_the_key_is_required(api: tuple[TestClient, str]) -> None:
    client, ticket_no = api
    for method, path in (
        ("post", "/api/v1/outages"),
        ("get", "/api/v1/outages"),
        ("get", "/api/v1/outages/1"),
        ("patch", "/api/v1/outages/1"),
        ("patch", f"/api/v1/tickets/{ticket_no}"),
    ):
        response = client.request(method, path, json=EVENT, headers={"X-API-Key": "wrong"})
        assert response.status_code == 401 and response.json()["error"] == "unauthorized", path


def test_create_update_close_and_list(api: tuple[TestClient, str]) -> None:
    client, _ = api
    created = client.post("/api/v1/outages", json=EVENT, headers=KEY)
    assert created.status_code == 201, created.text
    event = created.json()
    assert event["status"] == "announced" and event["affected"] == 10_000 and event["start"] == f"{TOMORROW}T08:00"
    path = f"/api/v1/outages/{event['id']}"
    patched = client.patch(path, json={"estimated_restoration": f"{TOMORROW}T19:00", "by": "调度员"}, headers=KEY)
    assert patched.status_code == 200 and patched.json()["end"] == f"{TOMORROW}T19:00"
    assert [h["action"] for h in patched.json()["history"]] == ["created", "updated"]
    assert patched.json()["history"][1]["by"] == "调度员"
    moved = client.patch(path, json={"start": f"{TOMORROW}T09:00"}, headers=KEY)
    assert moved.status_code == 200 and moved.json()["start"] == f"{TOMORROW}T09:00"
    assert moved.json()["history"][2]["changes"] == {"start": [f"{TOMORROW}T08:00", f"{TOMORROW}T09:00"]}
    late = client.patch(path, json={"start": f"{TOMORROW}T20:00"}, headers=KEY)
    assert late.status_code == 422 and "is not after start" in late.json()["message"]
    coming = client.get("/api/v1/outages?which=coming", headers=KEY).json()
    assert [e["id"] for e in coming] == [event["id"]]
    assert client.get("/api/v1/outages?active=true", headers=KEY).json() == []
    fault = {
        **EVENT,
        "kind": "fault",
        "start": local_now().isoformat(timespec="minutes"),
        "end": f"{TOMORROW}T03:00",
    }
    fault_id = client.post("/api/v1/outages", json=fault, headers=KEY).json()["id"]
    assert [e["id"] for e in client.get("/api/v1/outages?active=true", headers=KEY).json()] == [fault_id]
    closed = client.patch(f"/api/v1/outages/{fault_id}", json={"status": "closed"}, headers=KEY)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = client.patch(f"/api/v1/outages/{fault_id}", json={"reason": "改"}, headers=KEY)
    assert again.status_code == 409 and "was closed at" in again.json()["message"]
    assert client.patch(f"/api/v1/outages/{fault_id}", json={"status": "closed"}, headers=KEY).status_code == 409
    shown = client.get(path, headers=KEY).json()
    assert shown["version"] == 3 and len(shown["history"]) == 3  # the refused change left nothing


def test_bad_input_is_a_clear_4xx(api: tuple[TestClient, str]) -> None:
    client, _ = api
    accounts = [f"{3301000000 + i}" for i in range(10_000)]
    cases = [
        ({**EVENT, "feeder": None, "area": "月球区"}, 422, "unknown area '月球区'"),
        ({**EVENT, "end": f"{TOMORROW}T07:00"}, 422, "is not after start"),
        ({**EVENT, "area": "西湖区"}, 422, "exactly one of area, feeder"),
        ({**EVENT, "kind": "drill"}, 422, "kind"),
        ({**EVENT, "start": "tomorrow"}, 422, "start"),
        ({**EVENT, "status": "closed"}, 422, "Extra inputs"),
        ({**EVENT, "feeder": None, "accounts": [*accounts, "3301999999"]}, 422, "at most 10000"),
        ({**EVENT, "feeder": None, "accounts": ["3301000000", "42"]}, 422, "not customers: 42"),
    ]
    for body, status, message in cases:
        response = client.post("/api/v1/outages", json=body, headers=KEY)
        assert response.status_code == status and message in response.json()["message"], (body.keys(), response.text)
    ok = client.post("/api/v1/outages", json={**EVENT, "feeder": None, "accounts": accounts}, headers=KEY)
    assert ok.status_code == 201 and ok.json()["affected"] == 10_000
    malformed = client.post(
        "/api/v1/outages", content=b'{"kind": "planned",', headers={**KEY, "content-type": "application/json"}
    )
    assert malformed.status_code == 422 and malformed.json()["error"] == "invalid_input"
    for path in ("/api/v1/outages/0", f"/api/v1/outages/{2**63}", "/api/v1/outages/abc"):
        assert client.get(path, headers=KEY).status_code == 422, path
        assert client.patch(path, json={"reason": "x"}, headers=KEY).status_code == 422, path
    for path in (f"/api/v1/outages/{2**63 - 1}", "/api/v1/outages/424242"):
        assert client.get(path, headers=KEY).status_code == 404
        assert client.patch(path, json={"reason": "x"}, headers=KEY).status_code == 404
    event_id = ok.json()["id"]
    assert client.patch(f"/api/v1/outages/{event_id}", json={}, headers=KEY).status_code == 422
    back = client.patch(f"/api/v1/outages/{event_id}", json={"end": f"{TOMORROW}T07:00"}, headers=KEY)
    assert back.status_code == 422 and "is not after start" in back.json()["message"]


def test_ticket_lifecycle_over_http(api: tuple[TestClient, str]) -> None:
    client, ticket_no = api
    path = f"/api/v1/tickets/{ticket_no}"
    event_id = client.post("/api/v1/outages", json=EVENT, headers=KEY).json()["id"]
    shown = client.get(path, headers=KEY).json()
    assert shown["status"] == "accepted" and shown["next"][0] == "dispatched"
    moved = client.patch(path, json={"status": "dispatched", "note": "抢修一班", "outage_id": event_id}, headers=KEY)
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["status"] == "dispatched" and body["outage_id"] == event_id
    assert [(s["from_status"], s["to_status"]) for s in body["history"]] == [
        (None, "accepted"),
        ("accepted", "dispatched"),
    ]
    back = client.patch(path, json={"status": "accepted"}, headers=KEY)
    assert back.status_code == 409 and "cannot go to accepted" in back.json()["message"]
    assert client.patch(path, json={"status": "fixed"}, headers=KEY).status_code == 422
    assert client.patch(path, json={"outage_id": 2**63}, headers=KEY).status_code == 422
    assert client.patch(path, json={"outage_id": 999}, headers=KEY).status_code == 404
    assert client.patch("/api/v1/tickets/GZ0", json={"status": "visited"}, headers=KEY).status_code == 404
    assert client.get("/api/v1/tickets/" + "G" * 21, headers=KEY).status_code == 422
    assert client.patch(path, json={"status": "cancelled"}, headers=KEY).json()["closed_at"] is not None
    assert client.patch(path, json={"status": "visited"}, headers=KEY).status_code == 409
