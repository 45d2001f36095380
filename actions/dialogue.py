"""Fallback, handoff offers, affirm/deny in context, and tariff answers by type."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events, PowerDeskAction, latest_entity
from actions.handoff import handoff
from actions.knowledge import answer_entry, search_latest
from actions.services import Services


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the latest user messages in a row were not understood."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent") or {}
        if intent.get("name") != "nlu_fallback":
            break
        count += 1
    return count


def not_understood(dispatcher: CollectingDispatcher, tracker: Tracker, out_of_scope: bool) -> Events:
    """The first miss in a row: outside what we serve, or please rephrase; the second goes to a person."""
    if consecutive_fallbacks(tracker) % 2 == 1:
        dispatcher.utter_message(response="utter_out_of_scope" if out_of_scope else "utter_ask_rephrase")
        return []
    return handoff(dispatcher, tracker, reason="misunderstanding", response="utter_handoff_not_understood")


class ActionFallback(PowerDeskAction):
    """Two-stage fallback: first ask to rephrase, on the second miss in a row hand over to a person."""

    def name(self) -> str:
        return "action_fallback"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        retriever = services.knowledge()
        out_of_scope = False
        if retriever is not None:  # a free question the intents do not cover may still be in the knowledge base
            result = search_latest(retriever, tracker, k=1)
            if result.answerable:
                return answer_entry(dispatcher, result.hits[0].entry)
            out_of_scope = result.out_of_scope
        return not_understood(dispatcher, tracker, out_of_scope)


class ActionHandoff(PowerDeskAction):
    def name(self) -> str:
        return "action_handoff"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        return handoff(dispatcher, tracker)


class ActionAffirm(PowerDeskAction):
    def name(self) -> str:
        return "action_affirm"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        if tracker.get_slot("pending_offer") == "human":
            return handoff(dispatcher, tracker)
        dispatcher.utter_message(response="utter_ok")
        dispatcher.utter_message(response="utter_anything_else")
        return []


class ActionDeny(PowerDeskAction):
    def name(self) -> str:
        return "action_deny"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        dispatcher.utter_message(response="utter_ok")
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet("pending_offer", None), SlotSet("handoff_reason", None)]


class ActionInform(PowerDeskAction):
    """A bare piece of information outside a form (a month for the look-up under discussion is the understanding
    step's follow-up): a 户号 starts binding, anything else asks what the customer needs."""

    def name(self) -> str:
        return "action_inform"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        if latest_entity(tracker, "account_no"):
            return [FollowupAction("bind_account_form")]
        dispatcher.utter_message(response="utter_anything_else")
        return []
