"""Tariff-plan recommendation and energy-saving advice in the conversation, with the customer's own numbers."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events, PowerDeskAction, find_bound_customer, start_binding_then
from actions.services import Services
from analytics.recommend.wording import advice_text, plan_text
from core.errors import NotFound
from services.recommend import CustomerView, customer_advice, customer_view, plan_comparison


def _view(services: Services, tracker: Tracker) -> CustomerView | None:
    with services.sessions() as session:
        customer = find_bound_customer(session, tracker)
    if customer is None:
        return None
    return customer_view(services.sessions, services.recommend_kit(), customer, services.recommend_estimates())


class _RecommendAction(PowerDeskAction):
    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        try:
            view = _view(services, tracker)
        except NotFound:
            dispatcher.utter_message(response="utter_recommend_no_data")
            return []
        if view is None:
            return start_binding_then(self.name(), dispatcher)
        self.answer(services, dispatcher, view)
        return []

    def answer(self, services: Services, dispatcher: CollectingDispatcher, view: CustomerView) -> None:
        raise NotImplementedError


class ActionRecommendPlan(_RecommendAction):
    def name(self) -> str:
        return "action_recommend_plan"

    def answer(self, services: Services, dispatcher: CollectingDispatcher, view: CustomerView) -> None:
        kit = services.recommend_kit()
        comparison = plan_comparison(kit, view)
        text = plan_text(comparison, kit.wording, view.estimates.valley_share)
        dispatcher.utter_message(response="utter_plan_comparison", plan_text=text)


class ActionEnergySaving(_RecommendAction):
    def name(self) -> str:
        return "action_energy_saving"

    def answer(self, services: Services, dispatcher: CollectingDispatcher, view: CustomerView) -> None:
        kit = services.recommend_kit()
        advices = customer_advice(kit, view, plan_comparison(kit, view).current)
        dispatcher.utter_message(response="utter_energy_advice", advice_text=advice_text(advices, kit.wording))
