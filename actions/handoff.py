"""The handoff signal actions send: the customer is told a person is coming, Rasa's conversation pauses,
and the api (which sees the custom payload {"handoff": {"reason": ...}}) queues the case or books a callback."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events

REASON_BY_INTENT = {"complain": "complaint", "request_human": "asked", "affirm": "asked"}


def handoff(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    reason: str | None = None,
    response: str = "utter_handoff_queued",
) -> Events:
    """Tell the customer a person is coming and signal the api, which queues the case (or books a callback)."""
    intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
    reason = reason or tracker.get_slot("handoff_reason") or REASON_BY_INTENT.get(intent, "asked")
    dispatcher.utter_message(response=response, json_message={"handoff": {"reason": reason}})
    return [
        SlotSet("pending_offer", None),
        SlotSet("handoff_reason", None),
        SlotSet("kb_misses", 0),
        ConversationPaused(),
    ]
