"""POST /api/v1/anomaly/readings and GET /api/v1/anomaly/alerts: key, validation, hostile input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.db import make_engine, make_session_factory
from core.settings import REPO_ROOT, Settings
from demo.config import load_demo_config
from ops.demo_seed import seed_demo
from services.anomalies import score_database
from tests.api.fakes import FakeBot
from tests.conftest import DEMO_TODAY


@pytest.fixture
def keyed(api_settings: Settings) -> Iterator[tuple[TestClient, str]]:
    settings = api_settings.model_copy(update={"api_key": "s3cret"})
    engine = make_engine(settings.effective_database_url)
    sessions = make_session_factory(engine)
    seed_demo(sessions, load_demo_config(REPO_ROOT / "data", today=DEMO_TODAY, customers=20, seed=9), batch=20)
    score_database(sessions, settings)
    from sqlalchemy import select

    from core.models import Customer

    with sessions() as session:
        account = session.scalars(select(Customer.account_no)).first()
    engine.dispose()
    with TestClient(create_app(settings, bot=FakeBot())) as client:
        yield client, str(account)


def test_readings_update_the_score_and_need_the_key(keyed: tuple[TestClient, str]) -> None:
    client, account = keyed
    body = {"readings": [{"customer_id": account, "date": "2026-11-01", "kwh": 7.5}]}
    assert client.post("/api/v1/anomaly/readings", json=body).status_code == 401
    wrong = client.post("/api/v1/anomaly/readings", json=body, headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401 and "X-API-Key" in wrong.json()["message"]
    ok = client.post("/api/v1/anomaly/readings", json=body, headers={"X-API-Key": "s3cret"})
    assert ok.status_code == 200, ok.text
    updated = ok.json()["updated"]
    assert updated[0]["customer_id"] == account and 0 <= updated[0]["score"] < 1 and updated[0]["kind"]
    assert 0 < updated[0]["risk"] < 1 and isinstance(updated[0]["risk_reasons"], list)
    alerts = client.get("/api/v1/anomaly/alerts?status=all", headers={"X-API-Key": "s3cret"})
    assert alerts.status_code == 200 and isinstance(alerts.json(), list)
    assert client.get("/api/v1/anomaly/alerts?status=bogus", headers={"X-API-Key": "s3cret"}).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"readings": []},
        {"readings": [{"customer_id": "1; DROP TABLE customers", "date": "2026-11-01", "kwh": 1}]},
        {"readings": [{"customer_id": "123", "date": "yesterday", "kwh": 1}]},
        {"readings": [{"customer_id": "123", "date": "2026-11-01", "kwh": "NaN"}]},
        {"readings": [{"customer_id": "123", "date": "2026-11-01", "kwh": 1e300}]},
        {"readings": [{"customer_id": "123", "date": "2026-11-01", "kwh": 1}] * 1001},
        {"nothing": 1},
    ],
)
def test_hostile_readings_are_refused_clearly(keyed: tuple[TestClient, str], body: dict) -> None:
    client, _ = keyed
    response = client.post("/api/v1/anomaly/readings", json=body, headers={"X-API-Key": "s3cret"})
    assert response.status_code in (413, 422), response.text
    assert response.json()["error"] in ("invalid_input", "payload_too_large")


def test_unknown_customers_are_reported_not_fatal(keyed: tuple[TestClient, str]) -> None:
    client, _ = keyed
    body = {"readings": [{"customer_id": "9999999999", "date": "2026-11-01", "kwh": 1}]}
    response = client.post("/api/v1/anomaly/readings", json=body, headers={"X-API-Key": "s3cret"})
    assert response.status_code == 200 and response.json()["updated"] == []
    assert "no such customer" in response.json()["problems"][0]
