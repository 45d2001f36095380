"""The case page's customer view and knowledge suggestions, transfer, the supervisor view, and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.console.canned import load_console_data
from core.db import make_engine, make_session_factory, transaction
from core.errors import DataError
from core.models import Customer
from core.models_billing import Bill
from core.settings import REPO_ROOT, Settings
from demo.config import load_demo_config
from knowledge import store
from knowledge.documents import load_entries, load_topics
from knowledge.lexical import ChineseTokenizer, LexicalIndex
from knowledge.retriever import Fusion, Retriever
from ops.demo_seed import seed_demo
from services import agents
from services.anomaly_alerts import raise_alert
from services.customers import bind
from services.inspections import finding_labels, list_findings
from services.tickets import create_ticket
from tests.api.console_helpers import PASSWORD, login
from tests.api.fakes import FakeBot
from tests.api.widget_helpers import widget_socket
from tests.conftest import DEMO_TODAY
from tests.knowledge.fakes import HashingEmbedder

DATA = REPO_ROOT / "data"


@pytest.fixture
def retriever(tmp_path: Path) -> Retriever:
    entries = load_entries(DATA / "knowledge", load_topics(DATA))
    built = store.build(entries, HashingEmbedder(), "fake:1", tmp_path / "kb")
    tokenizer = ChineseTokenizer(
        [REPO_ROOT / "bot" / "dictionaries" / "powerdesk.txt"], DATA / "knowledge" / "stopwords.txt"
    )
    return Retriever(built, HashingEmbedder(), LexicalIndex(tokenizer, [u.text for u in built.units]), Fusion())


@pytest.fixture
def console(agent_online: str, api_settings: Settings, bot: FakeBot, retriever: Retriever) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, bot=bot, knowledge=retriever)) as client:
        yield client


def _bound_customer(settings: Settings, user: str) -> Customer:
    engine = make_engine(settings.effective_database_url)
    sessions = make_session_factory(engine)
    seed_demo(sessions, load_demo_config(DATA, today=DEMO_TODAY, customers=6, seed=5))
    with transaction(sessions) as session:
        customer = session.query(Customer).filter(Customer.tariff_category == "residential").first()
        assert customer is not None
        bind(session, "api", user, customer)
        create_ticket(session, "outage", description="整栋楼停电", customer_id=customer.id)
        raise_alert(
            session,
            f"customer:{customer.id}:theft",
            "customer",
            "theft",
            0.91,
            summary="用电量较同类用户骤降 70%",
            customer_id=customer.id,
        )
        agents.create_agent(session, "li", "李娜", PASSWORD, "supervisor")
    engine.dispose()
    return customer


def test_case_page_shows_the_customer_usage_tickets_bills_and_alerts(
    console: TestClient, api_settings: Settings
) -> None:
    customer = _bound_customer(api_settings, "bound-1")
    csrf = login(console, "wang")
    console.post("/api/v1/messages", json={"user_id": "bound-1", "text": "阶梯电价怎么算的，我要转人工"})
    handoff_id = console.get("/console/api/queue").json()["waiting"][0]["handoff_id"]
    assert console.post(f"/console/api/cases/{handoff_id}/claim", headers={"X-CSRF-Token": csrf}).status_code == 200
    page = console.get(f"/console/cases/{handoff_id}").text
    assert customer.account_no in page and customer.address in page
    assert page.count("<rect") == 12  # 12 months of usage
    assert "整栋楼停电" in page
    assert "尚未接入" not in page  # bills with audit findings and anomaly alerts are connected
    with make_session_factory(make_engine(api_settings.effective_database_url))() as session:
        latest = session.query(Bill).filter(Bill.customer_id == customer.id).order_by(Bill.period_start.desc()).first()
    assert latest is not None and f"{latest.total:,.2f}" in page and f"{latest.period_start:%Y-%m}" in page
    assert "用电量较同类用户骤降 70%" in page and "待处理" in page
    assert "解释电费" in page and "已解决" in page  # canned replies and resolution codes
    suggestions = console.get(f"/console/api/cases/{handoff_id}/suggestions").json()
    assert suggestions["question"].startswith("阶梯电价") and len(suggestions["hits"]) == 3
    assert {"title", "answer", "source", "score"} <= set(suggestions["hits"][0])


def test_transfer_and_the_supervisor_view(console: TestClient, api_settings: Settings) -> None:
    _bound_customer(api_settings, "bound-2")
    csrf = login(console, "wang")
    console.post("/api/v1/messages", json={"user_id": "bound-2", "text": "我要投诉"})
    handoff_id = console.get("/console/api/queue").json()["waiting"][0]["handoff_id"]
    headers = {"X-CSRF-Token": csrf}
    console.post(f"/console/api/cases/{handoff_id}/claim", headers=headers)
    boss = TestClient(console.app)
    login(boss, "li")
    with boss.websocket_connect("/console/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        moved = console.post(f"/console/api/cases/{handoff_id}/transfer", json={"to": "li"}, headers=headers)
        assert moved.status_code == 200 and moved.json()["agent"] == "li"
        frames = [ws.receive_json() for _ in range(2)]
        assert {"type": "transferred", "handoff_id": handoff_id, "by": "wang"} in frames
    assert (
        console.post(f"/console/api/cases/{handoff_id}/transfer", json={"to": "nobody"}, headers=headers).status_code
        == 403
    )
    assert [c["handoff_id"] for c in boss.get("/console/api/queue").json()["mine"]] == [handoff_id]
    numbers = boss.get("/console/api/supervisor").json()
    assert (
        numbers["claimed"] == 1
        and numbers["cases_per_agent"] == {"li": 1}
        and set(numbers["agents_online"]) == {"li", "wang"}
    )
    page = boss.get("/console/supervisor")
    assert page.status_code == 200 and "在线坐席" in page.text


def test_bad_input_is_refused_clearly_and_loses_nothing(console: TestClient) -> None:
    csrf = login(console, "wang")
    headers = {"X-CSRF-Token": csrf}
    console.post("/api/v1/messages", json={"user_id": "c-9", "text": "转人工"})
    handoff_id = console.get("/console/api/queue").json()["waiting"][0]["handoff_id"]
    # replying before claiming, to a case that does not exist, with nothing or too much
    assert (
        console.post(f"/console/api/cases/{handoff_id}/reply", json={"text": "hi"}, headers=headers).status_code == 403
    )
    assert console.post("/console/api/cases/999999/claim", headers=headers).status_code == 404
    console.post(f"/console/api/cases/{handoff_id}/claim", headers=headers)
    for text, status in (("   ", 422), ("\u200b\u202e", 422), ("长" * 3000, 422)):
        response = console.post(f"/console/api/cases/{handoff_id}/reply", json={"text": text}, headers=headers)
        assert response.status_code == status and response.json()["message"]
    assert console.post(f"/console/api/cases/{handoff_id}/reply", json={"wrong": 1}, headers=headers).status_code == 422
    too_big = console.post(f"/console/api/cases/{handoff_id}/reply", content=b"x" * 70_000, headers=headers)
    assert too_big.status_code == 413
    bad_close = console.post(f"/console/api/cases/{handoff_id}/close", json={"resolution": "whatever"}, headers=headers)
    assert bad_close.status_code == 422 and "resolved" in bad_close.json()["message"]
    with console.websocket_connect("/console/ws") as ws:
        ws.receive_json()
        for frame in ("not json", '{"type": "watch", "handoff_id": "1; drop"}', "x" * 5000, "[]"):
            ws.send_text(frame)
            assert ws.receive_json()["type"] == "error"
    # the widget's rating frame: only 1–5 for a conversation that asked for it
    with widget_socket(console, "abcdefghijklmnop") as widget:
        for frame in (
            {"type": "rating", "score": 9},
            {"type": "rating", "score": True},
            {"type": "rating", "score": "5"},
            {"type": "rating", "score": 5},
        ):
            widget.send_json(frame)
            assert widget.receive_json()["type"] == "error"


def test_console_data_files_are_validated(tmp_path: Path) -> None:
    assert len(load_console_data(DATA).canned) >= 10
    (tmp_path / "console").mkdir()
    (tmp_path / "console" / "canned_replies.yml").write_text("- {id: Bad Id, title: '', text: x}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"entry 1.*id 'Bad Id'.*title"):
        load_console_data(tmp_path)


def test_alert_list_and_acknowledge(console: TestClient, api_settings: Settings) -> None:
    customer = _bound_customer(api_settings, "bound-alerts")
    stranger = TestClient(console.app)
    assert stranger.get("/console/alerts", follow_redirects=False).status_code in (302, 303)
    csrf = login(console, "wang")
    page = console.get("/console/alerts").text
    assert "用电量较同类用户骤降 70%" in page and customer.account_no in page
    alert_id = int(page.split('data-alert="')[1].split('"')[0])
    refused = console.post(f"/console/alerts/{alert_id}/ack", data={"csrf_token": "wrong"}, follow_redirects=False)
    assert refused.status_code == 403
    done = console.post(f"/console/alerts/{alert_id}/ack", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert "没有待处理的告警" in console.get("/console/alerts").text
    acknowledged = console.get("/console/alerts?status=acknowledged").text
    assert "已确认（wang）" in acknowledged
    missing = console.post("/console/alerts/999999/ack", data={"csrf_token": csrf}, follow_redirects=False)
    assert missing.status_code == 404


def test_an_inspection_finding_from_the_alerts_page_becomes_a_label(
    console: TestClient, api_settings: Settings
) -> None:
    customer = _bound_customer(api_settings, "bound-finding")
    csrf = login(console, "wang")
    page = console.get("/console/alerts").text
    assert "记录稽查结果" in page and "查实窃电" in page
    alert_id = int(page.split('data-alert="')[1].split('"')[0])
    form = {"csrf_token": csrf, "finding": "theft", "note": "表箱封印被破坏"}
    refused = console.post(f"/console/alerts/{alert_id}/finding", data={**form, "csrf_token": "x"})
    assert refused.status_code == 403
    bad = console.post(f"/console/alerts/{alert_id}/finding", data={**form, "finding": "maybe"})
    assert bad.status_code == 422 and "theft" in bad.text
    done = console.post(f"/console/alerts/{alert_id}/finding", data=form, follow_redirects=False)
    assert done.status_code == 303
    engine = make_engine(api_settings.effective_database_url)
    with make_session_factory(engine)() as session:
        labels = finding_labels(session)
        found = list_findings(session)[0]
    engine.dispose()
    assert labels.to_dict() == {customer.account_no: 1}
    assert (found.inspector, found.alert_id, found.note) == ("wang", alert_id, "表箱封印被破坏")
    assert "已确认（wang）" in console.get("/console/alerts?status=acknowledged").text
