"""What every form does before its own checks: leave on "算了 / 取消", give the safety advice at once, and answer a
question asked in the middle, or say that it cannot (the form then asks its question again). Nothing typed is lost
or misfiled."""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events, latest_text
from actions.form_input import FormInput, needs_knowledge_in_form, screen_form_input
from actions.knowledge import answer_entry, search_latest
from actions.services import get_services
from actions.understanding import KnowledgeMatch, agreeing, read_text


def _screen(dispatcher: CollectingDispatcher, tracker: Tracker, free_text: bool) -> FormInput:
    """What the latest message is (a question is answered here) — in a worker thread (index search)."""
    services = get_services()
    parsed = tracker.latest_message.get("intent") or {}
    intent, confidence = str(parsed.get("name") or ""), float(parsed.get("confidence") or 0.0)
    reading = read_text(services.lexicon(), latest_text(tracker))
    result = None
    if needs_knowledge_in_form(intent, confidence, reading):
        retriever = services.knowledge()
        if retriever is not None:  # the NLU agreeing with one of the index's guesses makes it the answer
            result = agreeing(
                search_latest(retriever, tracker, k=3), services.lexicon().intent_topics.get(intent, ()), confidence
            )
    match = KnowledgeMatch(result.answerable, result.out_of_scope) if result else None
    verdict = screen_form_input(reading, match, free_text)
    if verdict is FormInput.QUESTION and result is not None:
        answer_entry(dispatcher, result.hits[0].entry)
    elif verdict is FormInput.UNANSWERED:
        dispatcher.utter_message(response="utter_form_question_unanswered")
    return verdict


class CheckedForm(FormValidationAction):
    """A form validation that screens the message first. Subclasses list the slots a cancel clears, and say whether
    a safety emergency is also a valid answer to a slot (the repair form's description), and which slots take a
    story that may ask something in passing."""

    cleared_on_cancel: tuple[str, ...] = ()
    safety_is_answer: tuple[str, ...] = ()
    free_text: tuple[str, ...] = ()

    @abstractmethod
    def name(self) -> str: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        requested = tracker.get_slot("requested_slot")
        if not requested or tracker.latest_message.get("text") is None:
            return await super().run(dispatcher, tracker, domain)
        verdict = await asyncio.to_thread(_screen, dispatcher, tracker, requested in self.free_text)
        if verdict is FormInput.CANCEL:
            dispatcher.utter_message(response="utter_form_cancelled")
            cleared = [SlotSet(name, None) for name in self.cleared_on_cancel]
            return [*cleared, SlotSet("requested_slot", None), ActiveLoop(None)]
        if verdict is FormInput.SAFETY:
            dispatcher.utter_message(response="utter_safety_emergency")
            if requested in self.safety_is_answer:
                return await super().run(dispatcher, tracker, domain)
            return [SlotSet(requested, None)]
        if verdict in (FormInput.QUESTION, FormInput.UNANSWERED):
            return [SlotSet(requested, None)]  # answered, or said it cannot be; the form asks its question again
        return await super().run(dispatcher, tracker, domain)
