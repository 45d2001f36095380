"""Actions against a seeded database, with hand-built trackers (no Rasa needed)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.binding import ActionBindAccountSubmit, ActionStartBinding, ValidateBindAccountForm
from actions.dialogue import ActionFallback, consecutive_fallbacks
from actions.outage import ActionSubmitOutageReport, ValidateOutageReportForm
from actions.router import ActionUnderstand
from actions.services import Services
from actions.usage import ActionQueryUsage
from core.clock import utc_now
from core.models import Customer, Ticket
from services.customers import bound_customer
from tests.actions.seeded import seeded_services


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    yield from seeded_services(tmp_path_factory, "actions", customers=30, seed=5)


def _customer(services: Services, tariff: str, nth: int = 0) -> Customer:
    with services.sessions() as session:
        customers = session.scalars(select(Customer).where(Customer.tariff_category == tariff)).all()
        assert len(customers) > nth
        return customers[nth]


def tracker(
    text: str = "",
    intent: str = "greet",
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    sender: str = "widget:user-0001",
    events: list[dict[str, Any]] | None = None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "metadata": {"conversation_id": 1},
    }
    return Tracker(sender, slots or {}, latest, events or [], False, None, {}, "action_listen")


def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages, events


def responses(messages: list[dict[str, Any]]) -> list[str]:
    return [m.get("response") for m in messages]


def test_usage_needs_binding_then_answers_after_it(services: Services) -> None:
    sender = "widget:user-bind-1"
    messages, events = run(ActionQueryUsage(), tracker("上个月用了多少电", "query_usage", sender=sender))
    assert responses(messages) == ["utter_need_binding"]
    assert {"event": "followup", "timestamp": None, "name": "bind_account_form"} in events
    customer = _customer(services, "residential")
    validator = ValidateBindAccountForm()
    assert asyncio.run(validator.validate_account_no("12345", CollectingDispatcher(), tracker(), {})) == {
        "account_no": None
    }
    # an unknown account is not told apart from a known one: the phone digits are checked with it
    assert asyncio.run(validator.validate_account_no("3399999999", CollectingDispatcher(), tracker(), {})) == {
        "account_no": "3399999999"
    }
    ok = asyncio.run(validator.validate_account_no(f"户号{customer.account_no}", CollectingDispatcher(), tracker(), {}))
    assert ok == {"account_no": customer.account_no}
    wrong = "0000" if not customer.phone.endswith("0000") else "1111"
    result = asyncio.run(
        validator.validate_phone_last4(
            wrong, CollectingDispatcher(), tracker(slots={"account_no": customer.account_no}), {}
        )
    )
    assert result == {"phone_last4": None}  # the digits are asked again, the account kept
    last4 = customer.phone[-4:]
    slots = {"account_no": customer.account_no, "phone_last4": last4, "pending_action": "action_query_usage"}
    messages, events = run(ActionBindAccountSubmit(), tracker(last4, "inform", slots=slots, sender=sender))
    assert responses(messages) == ["utter_bind_success", "utter_usage_month"]
    assert messages[0]["account_masked"] == customer.account_no[:4] + "****" + customer.account_no[-2:]
    assert messages[1]["month_label"] == "2026年10月" and float(messages[1]["kwh"]) > 0
    messages, _ = run(ActionStartBinding(), tracker("绑定户号", "bind_account", sender=sender))
    assert responses(messages) == ["utter_already_bound"]
    # a question about unbinding never unbinds: it asks to confirm
    messages, _ = run(ActionStartBinding(), tracker("解绑完了能马上绑新的户号吗", "bind_account", sender=sender))
    assert responses(messages) == ["utter_confirm_unbind"]
    messages, _ = run(ActionStartBinding(), tracker("绑定户号", "bind_account", sender=sender))
    assert responses(messages) == ["utter_already_bound"]
    messages, _ = run(ActionStartBinding(), tracker("解绑户号", "bind_account", sender=sender))
    assert responses(messages) == ["utter_unbind_done"]


def test_the_question_that_needed_the_binding_is_answered_as_it_was_asked(services: Services) -> None:
    """ "昨天用了多少电", then the account and the phone digits: yesterday's usage, not last month's."""
    customer = _customer(services, "residential", 1)
    sender = "widget:user-bind-yesterday"
    asked = [
        {"event": "user", "text": "昨天我家用了多少电"},
        {"event": "slot", "name": "pending_action", "value": "action_query_usage"},
        {"event": "user", "text": customer.account_no},
        {"event": "user", "text": customer.phone[-4:]},
    ]
    slots = {"account_no": customer.account_no, "phone_last4": customer.phone[-4:]}
    slots["pending_action"] = "action_query_usage"
    t = tracker(customer.phone[-4:], "inform", slots=slots, sender=sender, events=asked)
    messages, _ = run(ActionBindAccountSubmit(), t)
    assert responses(messages)[0] == "utter_bind_success"
    assert responses(messages)[1].startswith("utter_usage_days")  # the day asked about, with or without data


def test_usage_of_a_tou_household_has_peak_and_valley(services: Services) -> None:
    sender = "api:tou-1"
    customer = _customer(services, "residential_tou")
    slots = {"account_no": customer.account_no, "phone_last4": customer.phone[-4:]}
    run(ActionBindAccountSubmit(), tracker("x", "inform", slots=slots, sender=sender))
    messages, _ = run(ActionQueryUsage(), tracker("2026年7月用电量", "query_usage", sender=sender))
    m = messages[0]
    assert m["response"] == "utter_usage_month_tou" and m["month_label"] == "2026年7月"
    assert abs(float(m["peak_kwh"]) + float(m["valley_kwh"]) - float(m["kwh"])) < 0.05
    messages, _ = run(ActionQueryUsage(), tracker("2019年1月", "query_usage", sender=sender))
    assert responses(messages) == ["utter_usage_no_data"]
    messages, _ = run(ActionQueryUsage(), tracker("13月", "query_usage", slots={"month": "13月"}, sender=sender))
    assert responses(messages) == ["utter_month_not_understood"]
    # a bare month after a usage question continues it (the understanding step's follow-up)
    slots = {"last_task": "usage", "topic_month": "2026-07"}
    messages, events = run(
        ActionUnderstand(),
        tracker("那3月呢", "inform", entities=[{"entity": "month", "value": "3月"}], sender=sender, slots=slots),
    )
    assert messages[0]["response"] == "utter_usage_month_tou" and messages[0]["month_label"] == "2026年3月"
    assert {"event": "slot", "timestamp": None, "name": "topic_month", "value": "2026-03"} in events


def test_binding_locks_per_user_and_per_account_in_the_database(services: Services) -> None:
    """Three misses lock the user; a new user id does not start again on the same account once it has had
    five misses; an unknown account answers like a wrong phone; a filled-in tracker binds nothing."""
    customer = _customer(services, "residential", nth=2)  # locked for the rest of the module
    wrong = "0000" if not customer.phone.endswith("0000") else "1111"
    validator = ValidateBindAccountForm()

    def attempt(sender: str, account_no: str, digits: str) -> tuple[dict[str, Any], list[str]]:
        dispatcher = CollectingDispatcher()
        t = tracker(digits, "inform", slots={"account_no": account_no}, sender=sender)
        result = asyncio.run(validator.validate_phone_last4(digits, dispatcher, t, {}))
        return result, responses(dispatcher.messages)

    unknown = attempt("widget:probe-0", "3399999999", "1234")
    known = attempt("widget:probe-0b", customer.account_no, wrong)
    assert unknown[0] == known[0] == {"phone_last4": None}
    assert unknown[1] == known[1] == ["utter_phone_mismatch"]
    # after a mismatch a 10-digit number typed for the digits is a corrected account number
    corrected, said = attempt("widget:probe-0", "3399999999", f"户号是{customer.account_no}")
    assert corrected == {"account_no": customer.account_no, "phone_last4": None} and said == []

    for _ in range(2):
        assert attempt("widget:probe-1", customer.account_no, wrong)[1] == ["utter_phone_mismatch"]
    result, said = attempt("widget:probe-1", customer.account_no, wrong)  # the user's third miss
    assert said == ["utter_bind_locked"] and result["requested_slot"] is None
    # the account has had 1 + 3 misses; the fifth locks it for everyone, even with the right digits after
    assert attempt("widget:probe-2", customer.account_no, wrong)[1] == ["utter_bind_locked"]
    assert attempt("widget:probe-3", customer.account_no, customer.phone[-4:])[1] == ["utter_bind_locked"]
    # a restart of the conversation does not help: the lock is not in a slot
    messages, _ = run(ActionStartBinding(), tracker("绑定户号", "bind_account", sender="widget:probe-1"))
    assert responses(messages) == ["utter_bind_locked"]


def test_submit_checks_again_whatever_the_slots_say(services: Services) -> None:
    """A tracker that arrives with a one-digit "last4" or a wrong one (the slots of a forged call) binds nothing."""
    customer = _customer(services, "residential", nth=3)
    sender = "widget:forged-1"
    tries = (customer.phone[-1:], customer.phone[-3:], customer.phone[-5:], " " + customer.phone[-4:] + "x")
    for n, digits in enumerate(tries, start=1):
        slots = {"account_no": customer.account_no, "phone_last4": digits}
        messages, events = run(ActionBindAccountSubmit(), tracker(digits, "inform", slots=slots, sender=sender))
        expected = "utter_bind_failed" if n < 3 else "utter_bind_locked"  # the third miss locks the user
        assert responses(messages) == [expected], digits
        assert not any(e.get("name") == "bound_account" and e.get("value") for e in events)
    with services.sessions() as session:
        assert bound_customer(session, "widget", "forged-1") is None


def test_outage_report_creates_a_ticket(services: Services) -> None:
    v = ValidateOutageReportForm()
    d = CollectingDispatcher()
    assert asyncio.run(v.validate_address("家", d, tracker(), {})) == {"address": None}
    assert v.validate_phone("我电话是138 1234 5678", d, tracker(), {}) == {"phone": "13812345678"}
    assert v.validate_phone("12345", d, tracker(), {}) == {"phone": None}
    assert len(v.validate_description("闪" * 2000, d, tracker(), {})["description"]) == 500
    slots = {"address": "西湖区文三路100号3幢", "phone": "13812345678", "description": "整栋楼停电"}
    messages, events = run(ActionSubmitOutageReport(), tracker("整栋楼停电", "inform", slots=slots))
    assert messages[0]["response"] == "utter_outage_ticket_created"
    ticket_no = messages[0]["ticket_no"]
    with services.sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.ticket_no == ticket_no)).one()
        assert (
            ticket.kind == "outage" and ticket.address == slots["address"] and ticket.conversation_id is None
        )  # no such conversation
    assert {"event": "slot", "timestamp": None, "name": "address", "value": None} in events


def test_a_complaint_is_registered_with_its_commitment_times_then_handed_to_a_person(services: Services) -> None:
    messages, events = run(ActionUnderstand(), tracker("我要投诉，抄表员态度很差", "complain"))
    assert responses(messages) == ["utter_complain_ack", "utter_handoff_queued"]
    ack = messages[0]
    assert ack["ticket_no"].startswith("TS") and "月" in ack["contact_by"] and ack["reply_by"].endswith("日")
    assert ack["custom"]["ticket"]["kind"] == "complaint" and messages[1]["custom"] == {
        "handoff": {"reason": "complaint"}
    }
    with services.sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.ticket_no == ack["ticket_no"])).one()
        assert ticket.kind == "complaint" and ticket.description == "我要投诉，抄表员态度很差"
        assert ticket.contact_by is not None and ticket.reply_by is not None and ticket.reply_by > ticket.contact_by
    assert any(e["event"] == "pause" for e in events)


def test_two_stage_fallback(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    # the index's part is tested in tests/actions/test_knowledge.py
    monkeypatch.setattr(services, "knowledge", lambda: None)
    miss = {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    hit = {"event": "user", "parse_data": {"intent": {"name": "greet"}}}
    first = tracker("asdf", "nlu_fallback", events=[hit, miss])
    assert consecutive_fallbacks(first) == 1
    messages, events = run(ActionFallback(), first)
    assert responses(messages) == ["utter_ask_rephrase"] and events == []
    second = tracker("qwer", "nlu_fallback", events=[hit, miss, {"event": "bot"}, miss])
    messages, events = run(ActionFallback(), second)
    assert responses(messages) == ["utter_handoff_not_understood"]
    assert messages[0]["custom"] == {"handoff": {"reason": "misunderstanding"}}
    assert any(e["event"] == "pause" for e in events)


def test_action_failure_becomes_an_apology(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "sessions", broken)
    messages, events = run(ActionQueryUsage(), tracker("上个月", "query_usage"))
    assert responses(messages) == ["utter_service_error"] and events == []


def test_an_old_binding_is_verified_again_before_personal_data(services: Services) -> None:
    from core.db import transaction
    from core.models import ChannelBinding

    sender = "wechat:openid-old-binding"
    customer = _customer(services, "residential", nth=1)
    slots = {"account_no": customer.account_no, "phone_last4": customer.phone[-4:]}
    run(ActionBindAccountSubmit(), tracker("x", "inform", slots=slots, sender=sender))
    assert responses(run(ActionQueryUsage(), tracker("上个月用了多少电", "query_usage", sender=sender))[0]) == [
        "utter_usage_month"
    ]
    days = services.settings.binding_reverify_days
    with transaction(services.sessions) as session:
        binding = session.scalar(select(ChannelBinding).where(ChannelBinding.external_user_id == "openid-old-binding"))
        assert binding is not None
        binding.verified_at -= dt.timedelta(days=days + 1)
    messages, events = run(ActionQueryUsage(), tracker("上个月用了多少电", "query_usage", sender=sender))
    assert responses(messages) == ["utter_need_binding"]
    assert {"event": "followup", "timestamp": None, "name": "bind_account_form"} in events
    run(ActionBindAccountSubmit(), tracker("x", "inform", slots=slots, sender=sender))  # verified again
    with services.sessions() as session:
        assert bound_customer(session, "wechat", "openid-old-binding", verified_since=utc_now()) is None
        fresh = utc_now() - dt.timedelta(minutes=5)
        assert bound_customer(session, "wechat", "openid-old-binding", verified_since=fresh) is not None


def test_phone_digits_read_as_an_account_number_keep_the_account_given(services: Services) -> None:
    """The NLU may tag "2688" as an account number while the form asks for the phone digits: the account typed in
    the turn before stands, and the digits are checked against it."""
    events = [
        {"event": "user", "text": "3301000001"},
        {"event": "slot", "name": "account_no", "value": "3301000001"},
        {"event": "slot", "name": "requested_slot", "value": "phone_last4"},
        {"event": "user", "text": "2688"},
        {"event": "slot", "name": "account_no", "value": "2688"},
    ]
    t = tracker("2688", "inform", slots={"requested_slot": "phone_last4", "account_no": "2688"}, events=events)
    result = asyncio.run(ValidateBindAccountForm().validate_account_no("2688", CollectingDispatcher(), t, {}))
    assert result == {"account_no": "3301000001"}
    # asked for the account, four digits are still refused
    t = tracker("2688", "inform", slots={"requested_slot": "account_no"}, events=events)
    assert asyncio.run(ValidateBindAccountForm().validate_account_no("2688", CollectingDispatcher(), t, {})) == {
        "account_no": None
    }
