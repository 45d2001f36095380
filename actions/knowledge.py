"""Answers from the knowledge base (FAISS + BM25), citing the entry's source (and saying so when its prices
are sample data).

Unsure: the top three entries are offered as buttons. Two misses in a row: the case goes to a
person (the handoff signal `low_confidence`). When the index is unavailable the intent's domain
response answers instead, so the conversation never breaks.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events, PowerDeskAction, latest_entity, latest_text
from actions.handoff import handoff
from actions.services import Services
from knowledge.documents import Entry
from knowledge.retriever import MAX_QUERY_CHARS, Result

log = logging.getLogger(__name__)
MISSES_BEFORE_HUMAN = 2


def answer_entry(dispatcher: CollectingDispatcher, entry: Entry) -> Events:
    dispatcher.utter_message(
        response="utter_knowledge_answer_sample" if entry.sample else "utter_knowledge_answer",
        answer=entry.answer,
        source=entry.source,
        json_message={
            "knowledge": {"id": entry.id, "topic": entry.topic, "source": entry.source, "sample": entry.sample}
        },
    )
    return [SlotSet("kb_misses", 0)]


def search_latest(retriever: Any, tracker: Tracker, k: int) -> Result:
    """The index's answer to the customer's latest message (cut to the length a query may have)."""
    return retriever.search(latest_text(tracker)[:MAX_QUERY_CHARS] or "?", k=k)


def answer_from_knowledge(
    services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, result: Result | None = None
) -> Events | None:
    """Answer the latest message from the index (or from its `result`, already searched); None when the index is
    unavailable."""
    retriever = services.knowledge()
    if retriever is None:
        return None
    chosen = latest_entity(tracker, "kb_entry")
    if chosen:
        entry = next((e for e in retriever.entries if e.id == chosen), None)
        if entry is not None:
            return answer_entry(dispatcher, entry)
    result = result or search_latest(retriever, tracker, k=3)
    if result.answerable:
        return answer_entry(dispatcher, result.hits[0].entry)
    if result.out_of_scope:  # no topic covers it: say so and offer a person, rather than guesses
        dispatcher.utter_message(response="utter_out_of_scope")
        return []
    misses = int(tracker.get_slot("kb_misses") or 0) + 1
    if misses >= MISSES_BEFORE_HUMAN:
        return handoff(dispatcher, tracker, reason="low_confidence", response="utter_handoff_low_confidence")
    buttons = [{"title": h.entry.title, "payload": f'/kb_select{{"kb_entry":"{h.entry.id}"}}'} for h in result.hits[:3]]
    dispatcher.utter_message(response="utter_knowledge_unsure", buttons=buttons)
    return [SlotSet("kb_misses", misses)]


class ActionAnswerKnowledge(PowerDeskAction):
    def name(self) -> str:
        return "action_answer_knowledge"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        events = answer_from_knowledge(services, dispatcher, tracker)
        if events is not None:
            return events
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        fallback = f"utter_{intent}" if f"utter_{intent}" in (domain.get("responses") or {}) else "utter_default"
        dispatcher.utter_message(response=fallback)
        return []


class ActionWarmUp(PowerDeskAction):
    """Loads the database engine and the knowledge index (the embedder) before the first customer, and starts
    computing tomorrow's load risk of every area."""

    def name(self) -> str:
        return "action_warm_up"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        services.knowledge()
        services.prepare_load_risk()  # in the background: the first load-risk question reads it
        return []
