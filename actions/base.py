"""Shared plumbing for actions: error translation, the channel user, the bound customer."""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.services import Services, get_services
from core.identity import parse_sender_id
from core.models import Conversation, Customer
from services.customers import bound_customer, reverify_since

log = logging.getLogger(__name__)
Events = list[dict[str, Any]]


def channel_user(tracker: Tracker) -> tuple[str, str]:
    """The (channel, external user id) behind a Rasa sender id; `api` for unknown senders."""
    return parse_sender_id(tracker.sender_id) or ("api", tracker.sender_id)


def conversation_id(tracker: Tracker) -> int | None:
    """The api's conversation id, passed to Rasa in the message metadata."""
    metadata = tracker.latest_message.get("metadata") or {}
    value = metadata.get("conversation_id")
    return value if isinstance(value, int) else None


def known_conversation(session: Session, tracker: Tracker) -> int | None:
    """The api's conversation id when it names a stored conversation (metadata from an unknown caller is not
    linked: what it files is kept, without the link)."""
    value = conversation_id(tracker)
    return value if value is not None and session.get(Conversation, value) is not None else None


def latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def latest_entity(tracker: Tracker, name: str) -> str | None:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value") is not None:
            return str(entity["value"])
    return None


def find_bound_customer(session: Session, tracker: Tracker) -> Customer | None:
    """The customer this channel user verified as, within BINDING_REVERIFY_DAYS (an older binding is asked for
    the account number and phone digits again, like a new one)."""
    channel, user = channel_user(tracker)
    return bound_customer(
        session, channel, user, verified_since=reverify_since(get_services().settings.binding_reverify_days)
    )


def start_binding_then(action_name: str, dispatcher: CollectingDispatcher) -> Events:
    """Ask the customer to bind first, and come back to `action_name` once bound."""
    dispatcher.utter_message(response="utter_need_binding")
    return [SlotSet("pending_action", action_name), FollowupAction("bind_account_form")]


class PowerDeskAction(Action):
    """An action whose unexpected failures become an apology plus a log line, never a crash."""

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        """`act` runs in a worker thread: its database queries and index searches never hold up rasa-sdk's
        event loop, so one customer's turn does not wait for another's."""
        return await asyncio.to_thread(self._act_safely, dispatcher, tracker, domain)

    def _act_safely(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        try:
            return self.act(get_services(), dispatcher, tracker, domain)
        except Exception:
            log.exception("action %s failed for sender %s", self.name(), tracker.sender_id)
            dispatcher.utter_message(response="utter_service_error")
            return []
