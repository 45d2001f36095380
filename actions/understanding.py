"""The understanding step, pure: from the intent ranking, what the text says about itself and the knowledge base's
own match, decide what this turn is — a knowledge answer, a task, a clarifying question, small talk, a safety
emergency or something outside what we serve.

A question *about* a process ("投诉一般几天答复") is answered; a request to *do* it ("我要投诉") starts it; when a
message is both ("我家停电了，一般多久能修好"), one short question with two buttons lets the customer choose.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path

from actions.parsing import normalise
from core.datafiles import read_yaml_mapping
from core.errors import DataError
from knowledge.retriever import Result

# the intents that start a task, and the task each starts
TASK_OF_INTENT = {
    "query_bill": "bill",
    "query_usage": "usage",
    "explain_bill": "explain",
    "recommend_plan": "plan",
    "energy_saving": "saving",
    "load_risk": "load_risk",
    "report_outage": "repair",
    "bind_account": "binding",
    "complain": "complaint",
    "request_human": "human",
    "query_outage_plan": "outage_info",
    "query_ticket": "ticket_status",
}
# tasks about the customer's own data: a period or "我家" makes them a request, never a clarifying question
DATA_TASKS = frozenset({"bill", "usage", "explain", "plan", "saving", "load_risk"})
# tasks about the customer's own situation where a plain question (吗, 会不会) asks for it: outages, tickets
OWN_SITUATION_TASKS = frozenset({"outage_info", "ticket_status"})
# a person: asked for, or a complaint — only a question about the process itself is answered instead
PERSON_TASKS = frozenset({"complaint", "human"})
KNOWLEDGE_INTENTS = frozenset(
    {"ask_tariff", "query_balance", "pay_bill", "new_connection", "account_change", "invoice"} | {"meter_issue"}
)
SMALL_TALK_INTENTS = frozenset({"affirm", "deny", "inform"})
# a task intent this unsure, with nothing that makes it a request, is checked against the knowledge base
UNSURE_TASK = 0.6
RUNNER_UP_TASK = 0.1  # a task this far down the ranking still counts when the text asks to act
MAX_CANCEL_CHARS = 20  # "算了" inside a long message is part of a story, not a wish to leave (at its start it is)
_COMPLAINT = re.compile(r"(要|想|我|必须|再)投诉|投诉(你们|他|她|抄表员|工作人员)")
OUTAGE_FOLLOW_UP = 20  # characters: a follow-up to an outage answer is short ("预计几点能送电？我这边要安排工人")
# the NLU this sure of an intent whose topics include one of the index's best guesses: that guess answers
AGREE = 0.7
AGREE_AMONG = 3  # the guesses looked at


class Route(StrEnum):
    KNOWLEDGE = "knowledge"
    TASK = "task"
    CLARIFY = "clarify"
    SMALL_TALK = "small_talk"
    SAFETY = "safety"
    DECLINE = "decline"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class TaskButton:
    label: str
    payload: str


@dataclass(frozen=True)
class Lexicon:
    about: re.Pattern[str]
    asking: re.Pattern[str]
    doing: re.Pattern[str]
    hypothetical: re.Pattern[str]
    future: re.Pattern[str]
    rhetorical: re.Pattern[str]
    withdrawn: re.Pattern[str]
    other_bills: re.Pattern[str]
    period: re.Pattern[str]
    possessive: re.Pattern[str]
    outage: re.Pattern[str]
    safety: re.Pattern[str]
    prevention: re.Pattern[str]
    cancel: re.Pattern[str]
    compare: re.Pattern[str]
    address: re.Pattern[str]
    soon: re.Pattern[str]
    ticket_no: re.Pattern[str]
    progress: re.Pattern[str]
    energy: re.Pattern[str]
    outage_words: re.Pattern[str]
    outage_follow_up: re.Pattern[str]
    request: re.Pattern[str]
    person: re.Pattern[str]
    tasks: dict[str, TaskButton]
    intent_topics: dict[str, tuple[str, ...]]  # the knowledge topics (or topic prefixes "tariff.") of an intent


@dataclass(frozen=True)
class Reading:
    """What the text says about itself, before any model."""

    about: bool  # asks how something works (时限, 流程, 费用, 地点…), or is phrased as a question (吗, ？)
    strong_about: bool  # the first kind: a process word, not only a question mark
    doing: bool  # asks to act now (帮我, 我要, 我家停电了…)
    period: bool  # names a period or an account (上个月, 9月, 昨天, a 户号): the customer's own data
    possessive: bool  # 我家, 我的…
    outage: bool  # names an outage (停电, 没电, 跳闸)
    safety: bool  # a safety emergency (冒烟, 起火, 电线断落, 触电) rather than a question about safety
    cancel: bool  # leaves what is going on (算了, 取消)
    payload: bool  # a button's payload (/intent{...}): the customer chose, nothing to interpret
    hypothetical: bool = False  # 万一 / 如果 / 明天…: not happening now
    future: bool = False  # an outage to come (明天, 这几天, 停不停电): also hypothetical
    complaint: bool = False  # a complaint said in so many words (我要投诉, 就要投诉)
    withdrawn: bool = False  # takes a report back, or power is back (算了不报了, 推上去就有电了)
    other_bills: bool = False  # names another utility's bill (水费, 燃气费, 话费)
    soon: bool = False  # names the days ahead or the customer's place (明天, 这周, 我们小区): their own outages
    ticket_no: bool = False  # carries a ticket number (GZ20261207000042): its progress is asked for
    progress: bool = False  # asks how a repair is going (派人来修了没有, 还要多久): the event, for one under it
    energy: bool = True  # names electricity or its bills (电, 费, 账单, 峰谷…)
    request: bool = False  # an explicit request (帮我, 我要, 请帮)
    outage_words: bool = True  # names an outage itself (停电, 来电, 检修…)
    outage_follow_up: bool = False  # short, about an outage's times or repair (几点开始停, 那要等多久啊)
    person: bool = True  # names a person to talk to (人工, 客服)


@dataclass(frozen=True)
class KnowledgeMatch:
    """The knowledge base's verdict on the text: answerable, or placed outside every topic."""

    answerable: bool
    out_of_scope: bool


@dataclass(frozen=True)
class Decision:
    route: Route
    task: str | None = None  # TASK: the task to start; CLARIFY / KNOWLEDGE: the task to offer as a button


def _pattern(raw: dict[str, object], key: str, path: Path) -> re.Pattern[str]:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{path}: `{key}` must be a non-empty regular expression")
    try:
        return re.compile("".join(value.split()))
    except re.error as exc:
        raise DataError(f"{path}: `{key}` is not a valid regular expression ({exc}); fix the pattern") from exc


def load_lexicon(path: Path) -> Lexicon:
    raw = read_yaml_mapping(path)
    tasks_raw = raw.get("tasks")
    if not isinstance(tasks_raw, dict):
        raise DataError(f"{path}: `tasks` must map each task to {{label, payload}}")
    tasks: dict[str, TaskButton] = {}
    for task in set(TASK_OF_INTENT.values()):
        entry = tasks_raw.get(task)
        if not isinstance(entry, dict) or not entry.get("label") or not str(entry.get("payload", "")).startswith("/"):
            raise DataError(f"{path}: task {task!r} needs a label and a payload starting with '/'")
        tasks[task] = TaskButton(str(entry["label"]), str(entry["payload"]))
    topics_raw = raw.get("intent_topics")
    if not isinstance(topics_raw, dict) or not all(
        isinstance(v, list) and v and all(isinstance(t, str) for t in v) for v in topics_raw.values()
    ):
        raise DataError(f'{path}: `intent_topics` must map each intent to a list of topics or prefixes ("tariff.")')
    intent_topics = {str(k): tuple(v) for k, v in topics_raw.items()}
    names = [f.name for f in fields(Lexicon) if f.name not in ("tasks", "intent_topics")]
    return Lexicon(**{name: _pattern(raw, name, path) for name in names}, tasks=tasks, intent_topics=intent_topics)


def _of_topics(topic: str, topics: Sequence[str]) -> bool:
    return any(topic == t or (t.endswith(".") and topic.startswith(t)) for t in topics)


def agreeing(result: Result, topics: Sequence[str], confidence: float) -> Result:
    """The index's result, made answerable when the NLU agrees with one of its best guesses: two independent
    readings of the question ("办退费需要提供什么材料": the NLU sure of its intent, the index's guesses close
    together) are stronger than either alone. The agreeing guess comes first."""
    if result.answerable or not topics or not result.hits:
        return result
    if result.out_of_scope or confidence < AGREE:
        # placed outside every topic: the NLU is no judge of that ("燃气阶梯价格怎么算" is ask_tariff at 0.98)
        return result
    for i, hit in enumerate(result.hits[:AGREE_AMONG]):
        if _of_topics(hit.entry.topic, topics):
            return Result(True, [hit, *result.hits[:i], *result.hits[i + 1 :]], out_of_scope=False)
    return result


def compact(text: str) -> str:
    return normalise(text).replace(" ", "")


def read_text(lexicon: Lexicon, text: str) -> Reading:
    s = compact(text)
    payload = s.startswith("/")
    if payload:
        return Reading(False, False, True, False, False, False, False, False, True)
    safety = bool(lexicon.safety.search(s)) and not lexicon.prevention.search(s)
    rhetorical = bool(lexicon.rhetorical.search(s))  # "怎么突然停电了": says the power is off, asks nothing
    asked = lexicon.rhetorical.sub("", s) if rhetorical else s
    strong = bool(lexicon.about.search(asked))
    future = bool(lexicon.future.search(s)) and bool(lexicon.outage.search(s))  # "这几天用了多少度电" is no outage
    hypothetical = future or bool(lexicon.hypothetical.search(s))
    return Reading(
        about=strong or bool(lexicon.asking.search(asked)),
        strong_about=strong,
        doing=(rhetorical or bool(lexicon.doing.search(s))) and not hypothetical,
        period=bool(lexicon.period.search(s)),
        possessive=bool(lexicon.possessive.search(s)),
        outage=bool(lexicon.outage.search(s)),
        safety=safety,
        cancel=bool(lexicon.cancel.match(s)) or (len(s) <= MAX_CANCEL_CHARS and bool(lexicon.cancel.search(s))),
        payload=False,
        hypothetical=hypothetical,
        future=future,
        complaint=bool(_COMPLAINT.search(s)),
        withdrawn=bool(lexicon.withdrawn.search(s)),
        other_bills=bool(lexicon.other_bills.search(s)) and "电费" not in s,
        soon=bool(lexicon.soon.search(s)),
        ticket_no=bool(lexicon.ticket_no.search(s)),
        progress=bool(lexicon.progress.search(s)) and "投诉" not in s,
        energy=bool(lexicon.energy.search(s)),
        request=bool(lexicon.request.search(s)),
        outage_follow_up=len(s) <= OUTAGE_FOLLOW_UP
        and bool(lexicon.outage_follow_up.search(s))
        and not re.search("投诉|电费|账单|电价", s),  # "那电费怎么回事" asks about the bill
        outage_words=bool(lexicon.outage_words.search(s)) and not re.search("停水|来水|停气|供水|供气", s),
        person=bool(lexicon.person.search(s)),
    )


def _asks_for_own_data(reading: Reading, task: str, bound: bool) -> bool:
    """A data task the customer asks for (帮我查…) or names: a period (上个月, 这个月用了多少), or 我家 from a bound
    customer or in a plain question ("我家开峰谷电划算吗") — but a question about how things work from a customer
    not bound yet is not ("这个月电费怎么这么高": the general answer, their own analysis one button away)."""
    names = reading.period or (reading.possessive and (bound or not reading.about or task == "plan"))
    return reading.doing or (names and (bound or not reading.strong_about))


def _names_own_situation(reading: Reading) -> bool:
    return reading.soon or reading.possessive or reading.period


def _general_question(reading: Reading, task: str) -> bool:
    """A question about outages or tickets in general ("计划停电会不会短信通知", "报修以后怎么查进度"), not about the
    customer's own: no place or days of theirs named, nothing asked to be done. A yes/no question is enough for
    outages (their own is asked with a day or a place: "明天会不会停电"); tickets need a process word."""
    asks = reading.about if task == "outage_info" else reading.strong_about
    return asks and not reading.doing and not _names_own_situation(reading)


def _questions_a_person_task(reading: Reading, task: str) -> bool:
    """A question about complaints ("能不能匿名投诉", "投诉了会不会被穿小鞋") rather than one: any question form;
    asking for a person needs a process word ("人工客服几点下班")."""
    return reading.about if task == "complaint" else reading.strong_about


def needs_knowledge(intent: str, confidence: float, reading: Reading, bound: bool) -> bool:
    """Whether the decision depends on the knowledge base's match (a search costs ~15 ms: skip it when not)."""
    if reading.payload:
        return False
    if reading.safety:  # the advice comes first; a question about it ("有人触电了怎么急救") is answered as well
        return reading.strong_about
    task = TASK_OF_INTENT.get(intent)
    if task is None:
        return True
    if task in OWN_SITUATION_TASKS:
        return _general_question(reading, task) or (task == "outage_info" and not reading.outage_words)
    if task in DATA_TASKS:  # a period with no word of electricity may be about anything: the index judges
        return not _asks_for_own_data(reading, task, bound) or not (reading.energy or reading.doing)
    if task in PERSON_TASKS:
        return _questions_a_person_task(reading, task)
    return reading.about or (confidence < UNSURE_TASK and not reading.doing)


def revised_intent(intent: str, confidence: float, reading: Reading) -> str:
    """The NLU's intent, unless the text contradicts it: an unsure request for a person that names none ("昨天呢"
    at 0.47) is not understood rather than a handoff."""
    if intent == "request_human" and confidence < UNSURE_TASK and not reading.person and not reading.payload:
        return "nlu_fallback"
    if reading.complaint and not reading.strong_about and not reading.payload:
        return "complain"  # "那我现在就要投诉，报修报了一天了都没人来" read as a ticket question
    return intent


def decide(
    intent: str,
    confidence: float,
    reading: Reading,
    match: KnowledgeMatch | None,
    bound: bool,
    ranking: Sequence[tuple[str, float]] = (),
) -> Decision:
    """The route of one turn. `match` is None when the knowledge base was not asked or is unavailable; `bound`:
    the customer has bound an account (their own data is one step away); `ranking`: the NLU's intent ranking."""
    if reading.safety:
        return Decision(Route.SAFETY)  # with the knowledge answer too when `match` is answerable (carry_out)
    if reading.ticket_no and not reading.payload:
        return Decision(Route.TASK, "ticket_status")  # "GZ20261207000042到哪一步了"
    if intent in ("nlu_fallback", "out_of_scope") and reading.outage and reading.soon:
        intent = "query_outage_plan"  # "这几天会不会停电", not understood by the NLU: the customer's own outages
    if TASK_OF_INTENT.get(intent) == "repair" and reading.future and reading.outage and not reading.doing:
        intent = "query_outage_plan"  # "我家这几天有停电安排吗" read as a report: an outage to come is asked about
    if TASK_OF_INTENT.get(intent) == "outage_info" and reading.outage and reading.doing:
        intent = "report_outage"  # "我们小区停电了" read as a question about outages: no power now is a report
    asks_own_data = reading.doing or (reading.period and bound)  # "我们这个月要交多少电费" from a bound customer
    not_ours = match is not None and match.out_of_scope and not reading.energy  # "帮我查一下燃气费欠了多少"
    if (
        intent not in TASK_OF_INTENT
        and asks_own_data
        and not not_ours
        and (not reading.strong_about or (reading.period and bound))
    ):
        # "我们小区停电了" read as a planned-outage question: a request to act takes the best task in the ranking,
        # and one that names an outage is a repair report
        runner_up = next((n for n, c in ranking if n in TASK_OF_INTENT and c >= RUNNER_UP_TASK), None)
        if runner_up is None and reading.outage:
            runner_up = "report_outage"
        if runner_up is not None:
            intent, confidence = runner_up, dict(ranking).get(runner_up, RUNNER_UP_TASK)
    answerable = match is not None and match.answerable
    task = TASK_OF_INTENT.get(intent)
    if reading.other_bills and (task in DATA_TASKS or intent in KNOWLEDGE_INTENTS):
        return Decision(Route.DECLINE)  # "顺便帮我查下水费": another utility's bill
    if task == "repair" and reading.withdrawn and not reading.about:
        return Decision(Route.SMALL_TALK)  # "算了不报了，好像是我家空开跳了，推上去就有电了"
    if task is not None:
        if reading.payload or (match is None and not answerable):
            return Decision(Route.TASK, task)
        if task == "outage_info" and not reading.outage_words and match is not None:
            # "供电营业厅周末上班吗" read as an outage question, naming no outage: the index decides
            if answerable:
                return Decision(Route.KNOWLEDGE)
            if match.out_of_scope:
                return Decision(Route.DECLINE)
        if task in OWN_SITUATION_TASKS:
            # "明天会不会停电" asks for the customer's own situation; "计划停电一般提前几天通知" is a general question
            general = _general_question(reading, task)
            return Decision(Route.KNOWLEDGE, task) if general and answerable else Decision(Route.TASK, task)
        if task in PERSON_TASKS and (reading.doing or not (_questions_a_person_task(reading, task) and answerable)):
            return Decision(Route.TASK, task)  # asking for a person, or angry: never refused, never a lecture
        if match is not None and match.out_of_scope and not (reading.doing and reading.energy):
            return Decision(Route.DECLINE)  # "热水器漏水怎么办", "顺便帮我查下水费": not ours, whatever the intent
        if not answerable:
            general = task in DATA_TASKS and reading.strong_about and not reading.doing and not reading.period
            # "一般在哪些地方能查账单" with no sure answer: the best guess and the task, to choose from
            return Decision(Route.CLARIFY if general and match is not None else Route.TASK, task)
        if task in DATA_TASKS:
            if _asks_for_own_data(reading, task, bound):
                return Decision(Route.TASK, task)
            return Decision(Route.KNOWLEDGE, task)
        if reading.about and reading.doing:  # "我家停电了，一般多久能修好": both readings; a bare 吗 is politeness
            both = reading.strong_about and not reading.request  # "户号怎么绑，帮我绑上" asks for it
            return Decision(Route.CLARIFY, task) if both else Decision(Route.TASK, task)
        if reading.about:
            return Decision(Route.KNOWLEDGE, task)
        if confidence < UNSURE_TASK and not reading.doing:
            return Decision(Route.KNOWLEDGE, task)
        return Decision(Route.TASK, task)
    if intent in KNOWLEDGE_INTENTS:
        return Decision(Route.KNOWLEDGE) if match is None or not match.out_of_scope else Decision(Route.DECLINE)
    if intent in SMALL_TALK_INTENTS:
        if reading.about and answerable:
            return Decision(Route.KNOWLEDGE)
        if reading.about and match is not None and match.out_of_scope:
            return Decision(Route.DECLINE)  # "18650电池能带上飞机吗" read as digits given: a question, not ours
        return Decision(Route.SMALL_TALK)
    if answerable:  # out_of_scope or nlu_fallback, yet the knowledge base covers it ("停电了该找谁")
        return Decision(Route.KNOWLEDGE)
    if intent == "out_of_scope":
        return Decision(Route.DECLINE)
    return Decision(Route.FALLBACK)  # not understood: the first time asks again (or declines), the second hands over
