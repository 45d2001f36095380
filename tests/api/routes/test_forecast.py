from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.db import make_engine, make_session_factory, transaction
from core.settings import Settings
from services import agents
from tests.api.console_helpers import PASSWORD, login
from tests.api.fakes import FakeBot


@pytest.fixture(scope="module")
def forecast_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The api with the default forecast series (the area1 sample in data/forecast)."""
    from core.migrate import upgrade

    path = tmp_path_factory.mktemp("forecast")
    url = f"sqlite:///{path / 'api.db'}"
    upgrade(url)
    settings = Settings(powerdesk_env="test", var_dir=path, database_url=url, forecast_capacity=12500, _env_file=None)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        agents.create_agent(session, "zhao", "赵雷", PASSWORD, "agent")
    engine.dispose()
    with TestClient(create_app(settings, bot=FakeBot())) as client:
        yield client


def test_today_has_the_band_and_the_risk(forecast_client: TestClient) -> None:
    body = forecast_client.get("/api/v1/forecast/today").json()
    assert body["date"] == "2014-09-01" and len(body["intervals"]) == 96
    first = body["intervals"][0]
    assert first["p10"] <= first["p50"] <= first["p90"] and first["actual"] is None
    assert body["risk"]["level"] in ("blue", "yellow") and body["alerts"][0]["previous"] is None


def test_posted_actuals_reanchor_within_a_second_and_show_in_the_console(forecast_client: TestClient) -> None:
    today = forecast_client.get("/api/v1/forecast/today").json()
    intervals = [
        {
            "timestamp": f"2014-09-01T{h:02d}:{m:02d}:00",
            "load": today["intervals"][h * 4 + m // 15]["day_ahead_p50"] * 1.25,
        }
        for h in range(10)
        for m in (0, 15, 30, 45)
    ]
    started = time.perf_counter()
    response = forecast_client.post("/api/v1/forecast/actuals", json={"intervals": intervals})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 40 and body["correction"] > 0.2 and elapsed < 1.0
    assert body["risk"]["level"] == "red" and body["alert"]["level"] == "red"
    after = forecast_client.get("/api/v1/forecast/today").json()
    assert (
        after["intervals"][0]["actual"] is not None
        and after["intervals"][50]["p50"] > after["intervals"][50]["day_ahead_p50"]
    )
    assert forecast_client.get("/api/v1/forecast/alerts").json()["alerts"][-1]["level"] == "red"
    stranger = TestClient(forecast_client.app)
    assert stranger.get("/console/forecast", follow_redirects=False).status_code == 303  # console agents only
    login(forecast_client, "zhao")
    page = forecast_client.get("/console/forecast")
    assert page.status_code == 200 and "<svg" in page.text and "红色预警" in page.text


@pytest.mark.parametrize(
    "payload, status, fragment",
    [
        ({"intervals": []}, 422, "intervals"),
        ({"intervals": [{"timestamp": "yesterday", "load": 1}]}, 422, "timestamp"),
        ({"intervals": [{"timestamp": "2014-09-01T01:00:00", "load": "lots"}]}, 422, "load"),
        ({"intervals": [{"timestamp": "2014-09-05T01:00:00", "load": 5000}]}, 422, "not on the forecast day"),
        ({"intervals": [{"timestamp": "2014-09-01T01:00:00", "load": 1e12}]}, 422, "positive number"),
        ({"intervals": [{"timestamp": "2014-09-01T01:00:00", "load": 1}] * 2001}, 413, "larger than"),
    ],
)
def test_bad_actuals_are_refused_clearly(
    forecast_client: TestClient, payload: dict, status: int, fragment: str
) -> None:  # type: ignore[type-arg]
    response = forecast_client.post("/api/v1/forecast/actuals", json=payload)
    assert response.status_code == status and fragment in response.json()["message"]


def test_actuals_need_the_api_key_when_one_is_set(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        powerdesk_env="test",
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        api_key="k",
        _env_file=None,
    )
    with TestClient(create_app(settings, bot=FakeBot())) as client:
        response = client.post(
            "/api/v1/forecast/actuals", json={"intervals": [{"timestamp": "2014-09-01T01:00:00", "load": 1}]}
        )
    assert response.status_code == 401
