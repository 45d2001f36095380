"""Knowledge answers in the conversation, with a stub retriever (the real one is tested in tests/knowledge)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dialogue import ActionFallback
from actions.knowledge import ActionAnswerKnowledge
from actions.services import Services
from core.settings import Settings
from knowledge.documents import Entry
from knowledge.retriever import Hit, Result

ENTRY = Entry(
    "pay-1",
    "billing.payment_methods",
    "交电费的渠道",
    ("怎么交电费",) * 3,
    "网上国网App……",
    "网上国网App功能说明",
    dt.date(2026, 1, 1),
    "b.yml",
)
OTHER = Entry(
    "inv-1",
    "billing.invoice",
    "电子发票",
    ("发票",) * 3,
    "工商业示例价……",
    "参考工商业电价表（示例数据，非正式电价）",
    dt.date(2026, 1, 1),
    "b.yml",
)


class StubRetriever:
    def __init__(self, answerable: bool, out_of_scope: bool = False) -> None:
        self.answerable, self.out_of_scope = answerable, out_of_scope
        self.entries = [ENTRY, OTHER]

    def search(self, query: str, k: int = 5) -> Result:
        hits = [Hit(ENTRY, 0.95, 0.9, 3.0), Hit(OTHER, 0.9, 0.88, 1.0)][:k]
        return Result(self.answerable, hits, self.out_of_scope)


def services(retriever: Any) -> Services:
    s = Services(Settings(_env_file=None), sessions=None)  # type: ignore[arg-type]
    s._retriever = retriever
    s._retriever_failed = retriever is None
    return s


def run(  # type: ignore[no-untyped-def]
    action: Any, svc: Services, text: str, intent: str, slots: dict | None = None, entities: list | None = None
):
    events = [{"event": "user", "parse_data": {"intent": {"name": intent}}}]
    tracker = Tracker(
        "widget:x",
        slots or {},
        {"text": text, "intent": {"name": intent}, "entities": entities or []},
        events,
        False,
        None,
        {},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    events = action.act(svc, dispatcher, tracker, {"responses": {"utter_pay_bill": []}})
    return dispatcher.messages, events


def test_confident_answer_names_its_source() -> None:
    messages, events = run(ActionAnswerKnowledge(), services(StubRetriever(True)), "电费在哪交", "pay_bill")
    assert messages[0]["response"] == "utter_knowledge_answer" and messages[0]["source"] == "网上国网App功能说明"
    assert messages[0]["custom"]["knowledge"] == {
        "id": "pay-1",
        "topic": "billing.payment_methods",
        "source": "网上国网App功能说明",
        "sample": False,
    }
    assert {"event": "slot", "timestamp": None, "name": "kb_misses", "value": 0} in events


def test_unsure_offers_the_top_entries_then_a_person() -> None:
    svc = services(StubRetriever(False))
    messages, events = run(ActionAnswerKnowledge(), svc, "那个东西咋弄", "pay_bill")
    assert messages[0]["response"] == "utter_knowledge_unsure"
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/kb_select{"kb_entry":"pay-1"}',
        '/kb_select{"kb_entry":"inv-1"}',
    ]
    messages, events = run(ActionAnswerKnowledge(), svc, "还是不对", "pay_bill", slots={"kb_misses": 1})
    assert messages[0]["response"] == "utter_handoff_low_confidence"
    assert messages[0]["custom"] == {"handoff": {"reason": "low_confidence"}}
    assert any(e["event"] == "pause" for e in events)


def test_a_picked_button_answers_that_entry() -> None:
    svc = services(StubRetriever(False))
    entities = [{"entity": "kb_entry", "value": "inv-1"}]
    messages, _ = run(ActionAnswerKnowledge(), svc, '/kb_select{"kb_entry":"inv-1"}', "kb_select", entities=entities)
    assert messages[0]["custom"]["knowledge"]["id"] == "inv-1"
    # its source names sample prices: the reply says so (the note is in the response's text)
    assert messages[0]["response"] == "utter_knowledge_answer_sample" and messages[0]["custom"]["knowledge"]["sample"]


def test_without_an_index_the_domain_answers() -> None:
    messages, _ = run(ActionAnswerKnowledge(), services(None), "电费在哪交", "pay_bill")
    assert messages[0]["response"] == "utter_pay_bill"


def test_fallback_tries_the_knowledge_base_first() -> None:
    messages, _ = run(ActionFallback(), services(StubRetriever(True)), "交费渠道有哪些啊", "nlu_fallback")
    assert messages[0]["response"] == "utter_knowledge_answer"
    messages, _ = run(ActionFallback(), services(StubRetriever(False)), "asdf", "nlu_fallback")
    assert messages[0]["response"] == "utter_ask_rephrase"


def test_out_of_scope_says_so_and_offers_a_person_instead_of_guesses() -> None:
    svc = services(StubRetriever(False, out_of_scope=True))
    for action, intent in ((ActionAnswerKnowledge(), "ask_tariff"), (ActionFallback(), "nlu_fallback")):
        messages, events = run(action, svc, "燃气费在哪交", intent)
        assert [m["response"] for m in messages] == ["utter_out_of_scope"] and events == []
    # the second fallback in a row still goes to a person (a misunderstanding, whatever the index says)
    miss = {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    tracker = Tracker(
        "widget:x",
        {},
        {"text": "燃气费", "intent": {"name": "nlu_fallback"}, "entities": []},
        [miss, {"event": "bot"}, miss],
        False,
        None,
        {},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    ActionFallback().act(svc, dispatcher, tracker, {"responses": {}})
    assert dispatcher.messages[0]["response"] == "utter_handoff_not_understood"
