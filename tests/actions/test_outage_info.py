"""Outages and tickets in the conversation (no Rasa needed): a bound customer's own outages, "停电了" during a known
fault (told, linked, no ticket), an address in the repair form that lies in a fault, and a ticket's progress."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select, update

from actions.binding import ActionBindAccountSubmit
from actions.outage import ActionSubmitOutageReport, ValidateOutageReportForm
from actions.router import ActionUnderstand
from actions.services import Services
from core.clock import local_now, utc_now
from core.db import transaction
from core.models import Conversation, Customer, Ticket
from core.models_outages import OutageContact, OutageEvent
from services.customers import bind
from services.outage_status import place_key
from services.outages import NewOutage, create_outage
from services.ticket_lifecycle import move
from tests.actions.seeded import seeded_services


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    for s in seeded_services(tmp_path_factory, "outage_info", customers=40, seed=11):
        with transaction(s.sessions) as session:  # the demo's own events: closed, so each test sets its own
            session.execute(update(OutageEvent).values(closed_at=utc_now()))
        yield s


def tracker(text: str, intent: str, sender: str, slots: dict[str, Any] | None = None, conversation: int = 0) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.95},
        "intent_ranking": [{"name": intent, "confidence": 0.95}],
        "entities": [],
        "metadata": {"conversation_id": conversation} if conversation else {},
    }
    return Tracker(sender, slots or {}, latest, [], False, None, {}, "action_listen")


def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages, events


def said(messages: list[dict[str, Any]]) -> list[str]:
    return [m["response"] for m in messages if m.get("response")]


def customs(messages: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in messages:
        out |= m.get("custom") or {}
    return out


def customer(services: Services, nth: int) -> Customer:
    with services.sessions() as session:
        rows = session.scalars(
            select(Customer).where(Customer.phone.is_not(None), Customer.feeder.is_not(None)).order_by(Customer.id)
        ).all()
        return rows[nth]


def bound(services: Services, who: Customer, user: str) -> str:
    with transaction(services.sessions) as session:
        bind(session, "widget", user, session.get(Customer, who.id))  # type: ignore[arg-type]
    return f"widget:{user}"


def outage(services: Services, kind: str, scope: str, value: str, start: dt.datetime, end: dt.datetime) -> int:
    with transaction(services.sessions) as session:
        new = NewOutage(kind, start, end, "10kV线路故障跳闸" if kind == "fault" else "台区变压器更换", scope, value)
        return create_outage(session=session, new=new, by="test").id


def close(services: Services, event_id: int) -> None:
    with transaction(services.sessions) as session:
        session.execute(update(OutageEvent).where(OutageEvent.id == event_id).values(closed_at=utc_now()))


def tickets_of(services: Services, customer_id: int) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).where(Ticket.customer_id == customer_id)) or 0)


def test_a_report_during_a_known_fault_is_told_and_linked_not_ticketed(services: Services) -> None:
    who = customer(services, 0)
    now = local_now()
    event_id = outage(
        services, "fault", "feeder", who.feeder or "", now - dt.timedelta(hours=1), now + dt.timedelta(hours=3)
    )
    sender = bound(services, who, "fault-1")
    before = tickets_of(services, who.id)
    try:
        messages, events = run(ActionUnderstand(), tracker("我家停电了", "report_outage", sender))
        assert said(messages) == ["utter_outage_fault_account"] and events == []
        told = customs(messages)
        assert told["outages"][0]["id"] == event_id and told["outages"][0]["kind"] == "fault"
        assert told["outage_report"] == "first" and "10kV线路故障跳闸" == messages[0]["reason"]
        # the estimated restoration, with its day named
        assert f"{(now + dt.timedelta(hours=3)):%H:%M}" in messages[0]["end"]
        # writing again counts the report, files nothing
        messages, _ = run(ActionUnderstand(), tracker("怎么还没来电，停电了", "report_outage", sender))
        assert customs(messages)["outage_report"] == "again"
        # "停电了，要多久才能来电" (both readings) during the fault: the fault, not the two-button question
        messages, _ = run(ActionUnderstand(), tracker("停电了，一般多久能修好", "report_outage", sender))
        assert said(messages) == ["utter_outage_fault_account"]
        # "怎么又停电了" read as a question about outage notices: the fault all the same
        messages, _ = run(ActionUnderstand(), tracker("怎么又停电了", "ask_tariff", sender))
        assert said(messages) == ["utter_outage_fault_account"]
        # "那你们派人来修了没有" read as a complaint: how the repair is going, not a complaint ticket
        messages, _ = run(ActionUnderstand(), tracker("那你们派人来修了没有", "complain", sender))
        assert said(messages) == ["utter_outage_fault_account"]
        assert tickets_of(services, who.id) == before
        with services.sessions() as session:
            contact = session.scalars(select(OutageContact).where(OutageContact.event_id == event_id)).one()
            assert (contact.customer_id, contact.matched_by, contact.reports) == (who.id, "account", 5)
        # asked about, the fault is told as the customer's situation
        messages, _ = run(ActionUnderstand(), tracker("什么时候来电", "query_outage_plan", sender))
        assert said(messages)[0] == "utter_outage_fault_info"
        assert [e["kind"] for e in customs(messages)["outages"]] == ["fault"]
    finally:
        close(services, event_id)
    # power back: a new report opens the repair form again
    messages, events = run(ActionUnderstand(), tracker("我家停电了", "report_outage", sender))
    assert said(messages) == ["utter_outage_self_check"]
    assert {"event": "followup", "timestamp": None, "name": "outage_report_form"} in events


def test_the_customers_own_planned_outages_or_none(services: Services) -> None:
    who, other = customer(services, 1), customer(services, 2)
    day = local_now().date() + dt.timedelta(days=2)
    start, end = dt.datetime.combine(day, dt.time(9)), dt.datetime.combine(day, dt.time(12))
    event_id = outage(services, "planned", "transformer_area", who.transformer_area or "", start, end)
    try:
        messages, _ = run(
            ActionUnderstand(), tracker("这周会不会停电", "query_outage_plan", bound(services, who, "p-1"))
        )
        assert said(messages) == ["utter_outage_planned_list"]
        item = messages[0]["items"]
        assert "后天" in item and "09:00—12:00" in item and "台区变压器更换" in item
        assert [e["id"] for e in customs(messages)["outages"]] == [event_id]
        if other.transformer_area != who.transformer_area:
            messages, _ = run(
                ActionUnderstand(), tracker("明天会停电吗", "query_outage_plan", bound(services, other, "p-2"))
            )
            assert said(messages) == ["utter_outage_none"] and customs(messages)["outages"] == []
    finally:
        close(services, event_id)


def test_a_customer_not_bound_is_asked_to_bind_then_answered(services: Services) -> None:
    who = customer(services, 3)
    sender = "widget:p-unbound"
    messages, events = run(ActionUnderstand(), tracker("明天要停电吗", "query_outage_plan", sender))
    assert said(messages) == ["utter_need_binding"]
    assert {"event": "slot", "timestamp": None, "name": "pending_action", "value": "action_outage_info"} in events
    slots = {
        "account_no": who.account_no,
        "phone_last4": (who.phone or "")[-4:],
        "pending_action": "action_outage_info",
    }
    messages, _ = run(ActionBindAccountSubmit(), tracker(slots["phone_last4"], "inform", sender, slots=slots))
    assert said(messages)[0] == "utter_bind_success"
    assert said(messages)[1] in ("utter_outage_none", "utter_outage_planned_list", "utter_outage_fault_info")
    assert "outages" in customs(messages)


def test_an_address_in_a_fault_ends_the_repair_form_without_a_ticket(services: Services) -> None:
    who = customer(services, 4)
    key = place_key(who.address or "")
    assert key is not None
    now = local_now()
    event_id = outage(
        services, "fault", "feeder", who.feeder or "", now - dt.timedelta(minutes=30), now + dt.timedelta(hours=2)
    )
    form = ValidateOutageReportForm()
    try:
        d = CollectingDispatcher()
        t = tracker(key, "inform", "wechat:o-address-1")
        assert asyncio.run(form.validate_address(f"  {key}3幢 ", d, t, {})) == {
            "address": None,
            "phone": None,
            "description": None,
            "requested_slot": None,
        }
        assert said(d.messages) == ["utter_outage_fault_address"] and customs(d.messages)["outage_report"] == "first"
        assert d.messages[0]["promise"] == "恢复供电后我们会在这里通知您。"  # WeChat reaches them (outage notices)
        api = CollectingDispatcher()
        asyncio.run(form.validate_address(key, api, tracker(key, "inform", "api:integrator-7"), {}))
        assert api.messages[0]["promise"] == "绑定户号后，来电时我们会主动通知您。"  # nothing reaches the HTTP api
        with services.sessions() as session:
            contact = session.scalars(
                select(OutageContact).where(OutageContact.event_id == event_id, OutageContact.channel == "wechat")
            ).one()
            assert (contact.channel, contact.user_id, contact.customer_id, contact.matched_by) == (
                "wechat",
                "o-address-1",
                None,
                "address",
            )
        # an address elsewhere is taken as it is
        d = CollectingDispatcher()
        assert asyncio.run(form.validate_address("余杭区仓前街道不存在路9999号", d, t, {})) == {
            "address": "余杭区仓前街道不存在路9999号"
        }
        assert said(d.messages) == []
    finally:
        close(services, event_id)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("杭州市西湖区文三路88号3幢2单元1502室", "文三路88号"),
        ("天目山路 12 号", "目山路12号"),
        ("转塘街道123号", "转塘街道123号"),
        ("江南大道588号", "江南大道588号"),
        ("我家在小区里面", None),
        ("", None),
    ],
)
def test_a_place_is_its_road_and_number(address: str, key: str | None) -> None:
    assert place_key(address) == key


def test_a_tickets_progress_is_told_to_its_owner_only(services: Services) -> None:
    with transaction(services.sessions) as session:
        conv = Conversation(channel="widget", external_user_id="t-owner")
        session.add(conv)
        session.flush()
        conversation = conv.id
    owner = "widget:t-owner"
    messages, _ = run(
        ActionUnderstand(), tracker("我的工单到哪一步了", "query_ticket", owner, conversation=conversation)
    )
    assert said(messages) == ["utter_ticket_none"]
    slots = {"address": "西湖区文三路100号3幢", "phone": "13812345678", "description": "整栋楼停电"}
    messages, _ = run(
        ActionSubmitOutageReport(), tracker("整栋楼停电", "inform", owner, slots=slots, conversation=conversation)
    )
    ticket_no = messages[0]["ticket_no"]
    messages, _ = run(
        ActionUnderstand(), tracker("我的工单到哪一步了", "query_ticket", owner, conversation=conversation)
    )
    assert said(messages) == ["utter_ticket_status_repair"]
    assert messages[0]["status"] == "受理" and "受理" in messages[0]["steps"]
    assert customs(messages)["ticket_status"]["ticket_no"] == ticket_no
    with transaction(services.sessions) as session:
        move(session, ticket_no=ticket_no, to="dispatched", by="调度员", note="抢修一班")
    messages, _ = run(ActionUnderstand(), tracker(f"{ticket_no.lower()}进度", "report_outage", owner))
    assert messages[0]["status"] == "派单" and "派单" in messages[0]["steps"]
    assert [s["status"] for s in customs(messages)["ticket_status"]["steps"]] == ["accepted", "dispatched"]
    with transaction(services.sessions) as session:
        move(session, ticket_no=ticket_no, to="repaired", by="抢修一班")
        move(session, ticket_no=ticket_no, to="visited", by="回访")
    messages, _ = run(ActionUnderstand(), tracker(ticket_no, "inform", owner))
    assert said(messages) == ["utter_ticket_status_done"] and messages[0]["status"] == "回访"
    # somebody else with the number sees nothing of it
    messages, _ = run(ActionUnderstand(), tracker(f"{ticket_no}到哪一步了", "query_ticket", "widget:t-stranger"))
    assert said(messages) == ["utter_ticket_not_found"] and "ticket_status" not in customs(messages)


class CountingRetriever:
    """A knowledge base that only counts the searches asked of it (and finds nothing)."""

    def __init__(self) -> None:
        self.searches = 0

    def search(self, query: str, k: int = 5) -> Any:
        self.searches += 1
        raise AssertionError(f"searched the knowledge base for {query!r}")


STORM_TEXTS = (
    ("停电了", "report_outage"),
    ("家里没电了", "report_outage"),
    ("我家停电了", "report_outage"),
    ("怎么又停电了", "report_outage"),
    ("突然没电了，怎么回事", "report_outage"),
    ("停电了 快来修", "report_outage"),
    ("怎么又停电了", "ask_tariff"),
    ("突然没电了，怎么回事", "nlu_fallback"),
)


def test_a_report_during_a_known_fault_needs_no_knowledge_search(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outage storm's reports from customers affected by a known fault: the fault, with no search (the answer
    is the fault whatever the knowledge base would say)."""
    who = customer(services, 2)
    now = local_now()
    event_id = outage(
        services, "fault", "feeder", who.feeder or "", now - dt.timedelta(hours=1), now + dt.timedelta(hours=3)
    )
    sender = bound(services, who, "storm-1")
    retriever = CountingRetriever()
    monkeypatch.setattr(services, "knowledge", lambda: retriever)
    try:
        for text, intent in STORM_TEXTS:
            messages, events = run(ActionUnderstand(), tracker(text, intent, sender))
            assert said(messages) == ["utter_outage_fault_account"] and events == [], text
        assert retriever.searches == 0
    finally:
        close(services, event_id)


def test_a_question_that_only_mentions_an_outage_is_still_searched(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a known outage, or when the knowledge base's verdict decides the answer, the search is made."""
    who = customer(services, 3)
    sender = bound(services, who, "storm-2")
    retriever = CountingRetriever()
    monkeypatch.setattr(services, "knowledge", lambda: retriever)
    messages, _ = run(ActionUnderstand(), tracker("突然没电了，怎么回事", "report_outage", sender))
    assert retriever.searches == 1  # no known outage: as before, the index is asked (the fake's failure apologises)
    assert said(messages) == ["utter_service_error"]
