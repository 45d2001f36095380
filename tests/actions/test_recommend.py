"""recommend_plan and energy_saving in the conversation answer with the bound customer's own numbers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.recommend import ActionEnergySaving, ActionRecommendPlan
from actions.services import Services
from analytics.recommend.wording import money
from core.db import transaction
from core.models import Customer
from services.customers import bind
from services.recommend import customer_view, plan_comparison
from tests.actions.seeded import seeded_services


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    yield from seeded_services(tmp_path_factory, "recommend-actions", customers=120, seed=9, batch=60)


def run(action: Any, sender: str, intent: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    latest = {"text": "", "intent": {"name": intent, "confidence": 0.9}, "entities": [], "metadata": {}}
    tracker = Tracker(f"widget:{sender}", {}, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def _customer(services: Services, category: str) -> Customer:
    with services.sessions() as session:
        customer = session.scalars(select(Customer).where(Customer.tariff_category == category)).first()
        assert customer is not None
        return customer


def _bound(services: Services, customer: Customer) -> str:
    sender = f"rec-{customer.id}"
    with transaction(services.sessions) as session:
        bind(session, "widget", sender, session.get_one(Customer, customer.id))
    return sender


def test_plan_recommendation_shows_the_customers_own_numbers(services: Services) -> None:
    customer = _customer(services, "residential")
    [message], _ = run(ActionRecommendPlan(), _bound(services, customer), "recommend_plan")
    assert message["response"] == "utter_plan_comparison"
    comparison = plan_comparison(
        services.recommend_kit(),
        customer_view(services.sessions, services.recommend_kit(), customer, services.recommend_estimates()),
    )
    text = message["plan_text"]
    for option in comparison.options:
        assert money(option.annual_cost) in text
    if comparison.reason == "switch":
        assert f"节省 {money(comparison.saving)} 元" in text and "估算" in text


def test_energy_advice_gives_savings_in_yuan(services: Services) -> None:
    customer = _customer(services, "commercial_tou")
    [message], _ = run(ActionEnergySaving(), _bound(services, customer), "energy_saving")
    assert message["response"] == "utter_energy_advice"
    assert "错峰用电" in message["advice_text"] and "元" in message["advice_text"]


def test_an_unbound_customer_is_asked_to_bind_first(services: Services) -> None:
    messages, events = run(ActionRecommendPlan(), "nobody", "recommend_plan")
    assert [m["response"] for m in messages] == ["utter_need_binding"]
    assert {"event": "slot", "timestamp": None, "name": "pending_action", "value": "action_recommend_plan"} in events
