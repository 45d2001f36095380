"""What starts a handoff, in what order the queue serves it, and what happens when nobody can answer."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from api.app import create_app
from core.clock import local_now
from core.db import make_engine, make_session_factory, transaction
from core.models import Customer, Handoff, Message, Ticket
from core.settings import Settings
from services.customers import bind
from services.outages import NewOutage, create_outage
from tests.api.console_helpers import login
from tests.api.fakes import FakeBot
from tests.api.stored import stored_rows
from tests.outage_helpers import add_customers


def _handoffs(settings: Settings) -> list[Handoff]:
    return stored_rows(settings, Handoff)


def _send(client: TestClient, user: str, text: str) -> dict:
    response = client.post("/api/v1/messages", json={"user_id": user, "text": text})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_strongly_negative_message_goes_to_a_person_without_the_bot(
    agent_online: str, client: TestClient, api_settings: Settings, bot: FakeBot
) -> None:
    body = _send(client, "angry", "你们这什么破服务，气死我了！！！")
    assert body["state"] == "waiting_agent" and "人工客服" in body["replies"][0]["text"]
    assert bot.sent == [] and "api:angry" in bot.paused  # Rasa never saw it, and is paused
    assert _handoffs(api_settings)[0].reason == "sentiment"
    # a mild complaint about a bill is the bot's to answer
    assert _send(client, "calm", "我对这个月电费不太满意，能解释一下吗")["state"] == "bot"


def test_an_upset_report_of_a_known_outage_is_told_the_outage_by_the_bot(
    agent_online: str, client: TestClient, api_settings: Settings, bot: FakeBot
) -> None:
    """In a storm, an angry "又停电！！…啥时候来电" from a customer the fault affects gets the fault and its
    restoration time from the bot, not a person (hundreds of callbacks for one known fault); asking for a person or
    complaining still reaches one, and the same words from a customer no outage affects go to a person."""
    sessions = make_session_factory(make_engine(api_settings.effective_database_url))
    add_customers(sessions, 2, feeder="10kV文三路1号线")
    now = local_now().replace(tzinfo=None)
    with transaction(sessions) as session:
        affected = session.scalars(select(Customer).order_by(Customer.account_no)).first()
        assert affected is not None
        bind(session, "api", "storm", affected)
        bind(session, "api", "storm-person", affected)
        fault = NewOutage(
            "fault", now - dt.timedelta(hours=1), now + dt.timedelta(hours=3), "线路故障", "feeder", "10kV文三路1号线"
        )
        create_outage(session=session, new=fault, by="test", now=now)
    upset = "又停电！！冰箱里东西全要坏了 你们到底啥时候来电？？"
    assert _send(client, "storm", upset)["state"] == "bot"
    assert bot.sent[-1][:2] == ("api:storm", upset) and not _handoffs(api_settings)
    assert _send(client, "storm-person", "又停电了！！气死我了 转人工！！")["state"] == "waiting_agent"
    assert _send(client, "elsewhere", upset)["state"] == "waiting_agent"  # not bound: no outage known for them
    assert [h.reason for h in _handoffs(api_settings)] == ["sentiment", "sentiment"]


def test_an_angry_complaint_is_registered_as_a_complaint_before_it_goes_to_a_person(
    agent_online: str, client: TestClient, api_settings: Settings, bot: FakeBot
) -> None:
    body = _send(client, "furious", "你们这什么破服务，气死我了，我要投诉！！！")
    assert body["state"] == "waiting_agent" and bot.sent == []
    registered, transferring = body["replies"]
    ticket = registered["custom"]["ticket"]
    assert (
        ticket["kind"] == "complaint"
        and ticket["ticket_no"].startswith("TS")
        and ticket["ticket_no"] in registered["text"]
    )
    assert "12398" in registered["text"] and "contact_by" in ticket and "reply_by" in ticket
    assert "正在为您转接" in transferring["text"]
    [handoff] = _handoffs(api_settings)
    assert handoff.reason == "complaint" and handoff.priority == 10  # served first, as a complaint
    [stored] = stored_rows(api_settings, Ticket)
    assert stored.description == "你们这什么破服务，气死我了，我要投诉！！！" and stored.conversation_id is not None


def test_complaints_are_served_first_then_the_longest_waiting(
    agent_online: str, client: TestClient, api_settings: Settings
) -> None:
    _send(client, "first", "转人工")
    _send(client, "second", "转人工")
    _send(client, "complainer", "我要投诉")
    login(client, agent_online)
    waiting = client.get("/console/api/queue").json()["waiting"]
    assert [c["reason"] for c in waiting] == ["complaint", "asked", "asked"]
    assert waiting[1]["handoff_id"] < waiting[2]["handoff_id"]


def test_nobody_online_books_a_callback_and_gives_the_bot_back(
    client: TestClient, api_settings: Settings, bot: FakeBot
) -> None:
    body = _send(client, "late", "转人工")
    assert body["state"] == "bot"
    texts = [r["text"] for r in body["replies"]]
    assert texts and "回电工单" in texts[-1] and "正在为您转接" not in "".join(texts)
    handoff = _handoffs(api_settings)[0]
    assert handoff.status == "callback" and handoff.ticket_id is not None
    engine = create_engine(api_settings.effective_database_url)
    with Session(engine) as session:
        ticket = session.get_one(Ticket, handoff.ticket_id)
        assert ticket.kind == "callback" and ticket.ticket_no in texts[-1] and "无客服在线" in ticket.description
    engine.dispose()
    assert bot.resumed == ["api:late"]
    assert _send(client, "late", "你好")["state"] == "bot"  # the bot answers again


def test_outside_service_hours_the_customer_is_told_when(
    agent_online: str, api_settings: Settings, bot: FakeBot
) -> None:
    closed = api_settings.model_copy(
        update={"service_hours_workday": "08:00-20:00", "service_hours_restday": "08:00-20:00"}
    )
    app = create_app(closed, bot=bot)
    with TestClient(app) as client:
        app.state.handoffs.local_now = lambda: dt.datetime(2026, 11, 24, 22, 30)  # a Tuesday evening
        body = _send(client, "night", "转人工")
    assert body["state"] == "bot"
    assert "非人工服务时间" in body["replies"][-1]["text"] and "11月25日10:00" in body["replies"][-1]["text"]
    assert _handoffs(api_settings)[0].status == "callback"


def test_a_volunteered_rating_in_a_bot_conversation_is_stored_without_a_human(
    client: TestClient, api_settings: Settings, bot: FakeBot
) -> None:
    from api.bot_client import BotTurn
    from core.models import Rating

    async def rate(sender: str, text: str, metadata: dict) -> BotTurn:
        return BotTurn([{"text": "感谢您的评价"}], "rate_service", 0.9)

    bot.send = rate  # type: ignore[method-assign]
    _send(client, "happy", "给你们打5分")
    engine = create_engine(api_settings.effective_database_url)
    with Session(engine) as session:
        rating = session.scalars(select(Rating)).one()
        assert (rating.score, rating.human_involved, rating.agent) == (5, False, None)
        assert len(session.scalars(select(Message).where(Message.text == "给你们打5分")).all()) == 1
    engine.dispose()


def test_handoffs_over_the_limits_stay_with_the_bot(agent_online: str, api_settings: Settings, bot: FakeBot) -> None:
    settings = api_settings.model_copy(update={"handoffs_per_minute": 2})
    with TestClient(create_app(settings, bot=bot)) as client:
        states = [_send(client, f"flood{i}", "我要转人工") for i in range(3)]
        assert [s["state"] for s in states] == ["waiting_agent", "waiting_agent", "bot"]
        refused = states[2]["replies"]
        assert len(refused) == 1 and "转人工的请求较多" in refused[0]["text"] and "95598" in refused[0]["text"]
        assert "api:flood2" in bot.resumed and "api:flood2" not in bot.paused  # the bot has the conversation
        assert _send(client, "flood2", "电费怎么算")["replies"][0]["text"] == "收到：电费怎么算"
    assert len(_handoffs(settings)) == 2


def test_the_client_address_reaches_the_bot_for_the_binding_checks(api_settings: Settings, bot: FakeBot) -> None:
    from tests.api.widget_helpers import widget_socket

    with (
        TestClient(create_app(api_settings, bot=bot)) as client,
        widget_socket(client, "addr-visitor-0000000001") as ws,
    ):
        ws.send_json({"text": "绑定户号"})
        ws.receive_json()
    assert bot.sent[-1][2]["client"] == "testclient" and bot.sent[-1][2]["channel"] == "widget"
