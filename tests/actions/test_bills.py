"""query_bill and explain_bill against seeded bills; a bill the audit finds wrong gets an apology and a ticket."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.bills import ActionExplainBill, ActionQueryBill
from actions.services import Services
from core.db import transaction
from core.models import Customer, Ticket
from core.models_billing import Bill, DemoFault
from services.customers import bind
from tests.actions.seeded import seeded_services


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    yield from seeded_services(tmp_path_factory, "bills", customers=120, seed=9, batch=60)


def ask(action: Any, services: Services, customer_id: int, text: str, intent: str) -> list[dict[str, Any]]:
    sender = f"user-{customer_id}"
    with transaction(services.sessions) as session:
        bind(session, "widget", sender, session.get_one(Customer, customer_id))
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": [],
        "metadata": {"conversation_id": None},
    }
    t = Tracker(f"widget:{sender}", {}, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages


def _clean_bill(services: Services, category: str) -> Bill:
    with services.sessions() as session:
        faulty = set(session.scalars(select(DemoFault.customer_id)))
        for bill in session.scalars(
            select(Bill).where(Bill.category == category, Bill.period_start == dt.date(2026, 8, 1))
        ):
            if bill.customer_id not in faulty:
                return bill
    raise AssertionError(f"no clean {category} bill")


def test_query_bill_shows_the_lines_and_total(services: Services) -> None:
    bill = _clean_bill(services, "residential_tou")
    [message] = ask(ActionQueryBill(), services, bill.customer_id, "2026年8月电费多少", "query_bill")
    assert message["response"] == "utter_bill_detail"
    text = message["bill_text"]
    assert "2026年8月" in text and f"合计 {bill.total:,.2f} 元" in text
    for line in bill.lines:
        assert f"{line['amount']:,.2f} 元" in text
    assert "峰时段" in text and "谷时段" in text


def test_explain_bill_compares_with_last_month(services: Services) -> None:
    bill = _clean_bill(services, "commercial_tou")
    [message] = ask(ActionExplainBill(), services, bill.customer_id, "8月电费为什么这么高", "explain_bill")
    assert message["response"] == "utter_bill_explained"
    text = message["explanation"]
    assert f"电费 {bill.total:,.2f} 元" in text and "比上月" in text
    assert "去年同月没有账单记录" in text  # the demo starts in October 2025


def test_a_wrong_bill_is_shown_with_a_check_ticket_and_a_person(services: Services) -> None:
    with services.sessions() as session:
        fault = session.scalars(select(DemoFault).where(DemoFault.reason == "WRONG_PRICE")).first()
        assert fault is not None and fault.bill_id is not None
        bill = session.get_one(Bill, fault.bill_id)
    label = f"{bill.period_start.year}年{bill.period_start.month}月"
    for _ in range(2):  # asking twice keeps one ticket
        [shown, message] = ask(ActionQueryBill(), services, bill.customer_id, f"{label}的电费", "query_bill")
        assert shown["response"] == "utter_bill_detail" and f"{bill.total:,.2f}" in shown["bill_text"]
        assert message["response"] == "utter_bill_under_review"
        assert message["ticket_no"].startswith("JZ")
    with services.sessions() as session:
        tickets = session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.customer_id == bill.customer_id, Ticket.kind == "correction")
        )
        assert tickets == 1


def test_a_month_not_billed_yet_says_so_and_shows_the_latest_issued_bill(services: Services) -> None:
    bill = _clean_bill(services, "residential")
    messages = ask(ActionQueryBill(), services, bill.customer_id, "2026年11月的电费", "query_bill")
    assert [m["response"] for m in messages] == ["utter_bill_not_issued_latest", "utter_bill_detail"]
    assert messages[0]["latest_label"] == "2026年10月"  # the demo's last complete month (DEMO_TODAY 2026-11-01)
    assert "2026年10月" in messages[1]["bill_text"]


def test_a_customer_with_no_bill_at_all_gets_the_usage_instead(services: Services) -> None:
    bill = _clean_bill(services, "residential")
    messages = ask(ActionQueryBill(), services, bill.customer_id, "2024年3月的电费", "query_bill")
    assert [m["response"] for m in messages] == ["utter_bill_not_issued", "utter_usage_no_data"]


def test_a_comparison_states_both_months(services: Services) -> None:
    bill = _clean_bill(services, "residential")
    with services.sessions() as session:
        july = session.scalars(
            select(Bill).where(Bill.customer_id == bill.customer_id, Bill.period_start == dt.date(2026, 7, 1))
        ).one()
    [message] = ask(
        ActionExplainBill(compare_with=(2026, 7)), services, bill.customer_id, "8月比7月多多少", "explain_bill"
    )
    text = message["explanation"]
    assert f"{bill.total:,.2f}" in text and f"{july.total:,.2f}" in text and "2026年7月" in text
