"""The understanding step in the conversation: every turn outside a form that is not plain small talk comes here
(rules.yml), is read (actions.understanding), and is answered by the knowledge base, a task, a clarifying
question, the safety advice or a polite refusal — in this one action, so a turn costs one call to this server.

Follow-ups in context are resolved first: a month for the look-up under discussion ("那8月呢", "不对，是9月"),
a comparison ("跟8月比呢", "为什么9月比8月多"), an explanation of the bill just shown ("为什么这么贵").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events, PowerDeskAction, find_bound_customer, known_conversation, latest_text
from actions.bills import ActionExplainBill, ActionQueryBill
from actions.binding import ActionStartBinding
from actions.dialogue import ActionAffirm, ActionDeny, ActionInform, not_understood
from actions.handoff import handoff
from actions.knowledge import answer_entry, answer_from_knowledge, search_latest
from actions.load_risk import ActionLoadRisk
from actions.outage_info import ActionOutageInfo, ActionTicketStatus, known_outage_instead_of_repair
from actions.parsing import parse_days, parse_months, shift_month
from actions.recommend import ActionEnergySaving, ActionRecommendPlan
from actions.services import Services
from actions.understanding import (
    Decision,
    KnowledgeMatch,
    Lexicon,
    Reading,
    Route,
    agreeing,
    compact,
    decide,
    needs_knowledge,
    read_text,
    revised_intent,
)
from actions.usage import ActionQueryUsage, MonthlyLookup, topic_month
from core.clock import local_now
from core.db import transaction
from knowledge.retriever import Result
from services import tickets

Month = tuple[int, int]
Task = Callable[[Services, CollectingDispatcher, Tracker, dict[str, Any]], Events]
MONTHLY: dict[str, type[MonthlyLookup]] = {
    "bill": ActionQueryBill,
    "usage": ActionQueryUsage,
    "explain": ActionExplainBill,
}
# a follow-up may come with any intent but these (a request to act, or small talk Rasa answers itself)
NOT_FOLLOW_UPS = frozenset(
    {"complain", "request_human", "bind_account", "report_outage", "query_outage_plan", "query_ticket"}
    | {"greet", "goodbye", "thank"}
)
_STEP_BACK = re.compile(r"(再)?往前(一|1)?个?月|前一个月|前个月|再早一个月|再前一个月")
_STEP_ON = re.compile(r"(再)?往后(一|1)?个?月|后一个月|下一个月")
_HOW_COMPUTED = re.compile(
    r"怎么算|怎么来的|怎么计算|贵在哪|为什么这么|为啥这么|咋这么|怎么这么|太贵|这么贵|(为啥|为什么|咋回事)[?？]?$"
)
# a longer message that opens with surprise at the bill just shown ("怎么这么多 我们白天都不在家的")
_SURPRISED = re.compile(r"^(啊|哎|诶|唉|天哪|我去|不是吧)?[,，!！]?(怎么|咋|为什么|为啥)(会)?(这么|那么)(多|贵|高)")
_TARIFF_WORDS = re.compile(r"电价|阶梯|峰谷|分时|政策|规定|标准")
_USAGE_WORDS = ("用电", "电量", "度")
_BILL_WORDS = ("电费", "账单", "钱", "元")
# words that name what is looked up: a month with none of them continues the look-up under discussion
_DATA_WORDS = ("电费", "账单", "用电", "电量", "度电", "多少度", "多少电", "用了", "花了", "交了", "缴了")
_TASK_WORDS = (
    (("为什么", "为啥", "贵", "高"), "explain"),
    (("电费", "账单", "多少钱"), "bill"),
    (("用电", "电量", "度"), "usage"),
)
# a correction ("不对，我问的是7月的电费", "不是电量，我是问那个月电费多少钱"), not "是不是…" (a yes/no question)
_CORRECTING = re.compile(r"(?<!是)不是|不对|我问的是|我说的是|是问|错了")
CORRECTION_MAX = 24  # characters: a longer message is a question of its own
_NOT_ABOUT_OUTAGES = ("bill", "usage", "explain", "plan", "saving", "load_risk")  # tasks that never tell an outage
SHORT_FOLLOW_UP = 12  # characters: a follow-up is short ("那电费呢"); a long message is a question of its own


def _after_outage_answer(tracker: Tracker) -> bool:
    """Whether the bot's previous turn told the customer their outages (a fault, planned ones or none)."""
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users == 2:
                return False
        elif users == 1 and event.get("event") == "bot":
            custom = (event.get("data") or {}).get("custom")
            if isinstance(custom, dict) and "outages" in custom:
                return True
    return False


def _continues(text: str) -> bool:
    return text.startswith("那") or text.endswith(("呢", "呢?", "呢？")) or "那个月" in text or "同一个月" in text


def _repair(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
    """A repair report: a bound customer without power because of an event we know is told about it and linked to
    it (no ticket); anyone else gets the self-check advice and the repair form."""
    if known_outage_instead_of_repair(services, dispatcher, tracker):
        return []
    dispatcher.utter_message(response="utter_outage_self_check")
    # a slot set to None counts as filled in this turn and would be validated: reset only what holds a value
    cleared = [SlotSet(s, None) for s in ("address", "phone", "description") if tracker.get_slot(s) is not None]
    return [*cleared, FollowupAction("outage_report_form")]


def _complaint(
    services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
) -> Events:
    """A complaint is registered as a ticket carrying the commitment's times, told to the customer, then handed
    to a person (who sees the ticket in the case view)."""
    with transaction(services.sessions) as session:
        customer = find_bound_customer(session, tracker)
        filed = tickets.file_complaint(
            session,
            text=latest_text(tracker),
            accepted_local=local_now(),
            customer_id=customer.id if customer else None,
            conversation_id=known_conversation(session, tracker),
        )
    dispatcher.utter_message(
        response="utter_complain_ack", ticket_no=filed.ticket_no, **filed.said, json_message=filed.payload
    )
    return handoff(dispatcher, tracker, reason="complaint")


def _human(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
    return handoff(dispatcher, tracker, reason="asked")


TASKS: dict[str, Task] = {
    "bill": ActionQueryBill().act,
    "usage": ActionQueryUsage().act,
    "explain": ActionExplainBill().act,
    "plan": ActionRecommendPlan().act,
    "saving": ActionEnergySaving().act,
    "load_risk": ActionLoadRisk().act,
    "binding": ActionStartBinding().act,
    "repair": _repair,
    "complaint": _complaint,
    "human": _human,
    "outage_info": ActionOutageInfo().act,
    "ticket_status": ActionTicketStatus().act,
}


def _both_usages(
    services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, first: Month, second: Month
) -> Events:
    events = ActionQueryUsage().lookup(services, dispatcher, tracker, first)
    return [*events, *ActionQueryUsage().lookup(services, dispatcher, tracker, second)]


def follow_up(services: Services, lexicon: Lexicon, tracker: Tracker, intent: str) -> Callable[..., Events] | None:
    """A follow-up about the month under discussion, as a ready-to-run look-up; None when this turn is not one."""
    if intent in NOT_FOLLOW_UPS:
        return None
    text = compact(latest_text(tracker))
    today = services.today()
    months = parse_months(text, today)
    current = topic_month(tracker)
    last = str(tracker.get_slot("last_task") or "")
    if lexicon.compare.search(text) and (len(months) >= 2 or (current is not None and months)):
        this, other = (months[0], months[1]) if len(months) >= 2 else (current, months[0])
        if this is not None and this != other:
            if any(w in text for w in _USAGE_WORDS) and not any(w in text for w in _BILL_WORDS):
                return lambda s, d, t, dom: _both_usages(s, d, t, other, this)  # "上个月用电比上上个月多了多少度"
            lookup = ActionExplainBill(compare_with=other)
            return lambda s, d, t, dom: lookup.lookup(s, d, t, this)
    if lexicon.compare.search(text) and not months and current is not None and _STEP_BACK.search(text):
        # "比前一个月贵了吗" after a bill: the month under discussion against the one before it
        before = shift_month(*current, -1)
        if any(w in text for w in _USAGE_WORDS) and not any(w in text for w in _BILL_WORDS):
            return lambda s, d, t, dom: _both_usages(s, d, t, before, current)
        compared = ActionExplainBill(compare_with=before)
        return lambda s, d, t, dom: compared.lookup(s, d, t, current)
    same_month = months[0] if len(months) == 1 else current  # "上个月用电跟去年同期比" names its month
    if lexicon.compare.search(text) and "去年同期" in text and same_month is not None:
        return lambda s, d, t, dom: ActionExplainBill().lookup(s, d, t, same_month)
    # "怎么这么多天还没来电" after a bill is about the outage, not the bill
    surprised = bool(_SURPRISED.search(text)) and not lexicon.outage_words.search(text)
    if (intent == "explain_bill" or surprised) and not months and current is not None and last in MONTHLY:
        return lambda s, d, t, dom: ActionExplainBill().lookup(s, d, t, current)
    if current is not None and last in MONTHLY and len(text) <= SHORT_FOLLOW_UP:
        step = -1 if _STEP_BACK.search(text) else (1 if _STEP_ON.search(text) else 0)
        if step:  # "再往前一个月呢"
            stepped = shift_month(*current, step)
            return lambda s, d, t, dom: MONTHLY[last]().lookup(s, d, t, stepped)
        if _HOW_COMPUTED.search(text) and not months and not _TARIFF_WORDS.search(text):
            # "这个钱是怎么算出来的" after a bill (but "阶梯电价是怎么算的" asks about the tariff)
            return lambda s, d, t, dom: ActionExplainBill().lookup(s, d, t, current)
    if (
        current is not None
        and last in MONTHLY
        and not months
        and len(text) <= CORRECTION_MAX
        and _CORRECTING.search(text)
        and not _TARIFF_WORDS.search(text)
    ):
        # "不是电量，我是问那个月电费多少钱": the month under discussion, the look-up the words name
        # the look-up named last is the one meant ("不是电费，我问用电量")
        named = [(text.rfind(w), task) for words, task in _TASK_WORDS[1:] for w in words if w in text]
        corrected = max(named)[1] if named else None
        if corrected is not None and corrected != last:
            return lambda s, d, t, dom: MONTHLY[corrected]().lookup(s, d, t, current)
    if last == "usage" and len(text) <= SHORT_FOLLOW_UP and parse_days(text, today) is not None:
        return lambda s, d, t, dom: ActionQueryUsage().act(s, d, t, dom)  # "前天呢" after yesterday's usage
    if current is not None and not months and len(text) <= SHORT_FOLLOW_UP and _continues(text):
        # "那电费呢" / "那个月用了多少度": the same month, the look-up the words name
        wanted_task = next((task for words, task in _TASK_WORDS if any(w in text for w in words)), None)
        if wanted_task is not None:
            return lambda s, d, t, dom: MONTHLY[wanted_task]().lookup(s, d, t, current)
    if last not in MONTHLY or len(months) != 1:
        return None
    names_what = any(w in text for w in _DATA_WORDS)
    if intent in ("inform", "deny", "affirm", "nlu_fallback", "out_of_scope") or not names_what:
        lookup_type = MONTHLY[last]
    elif _CORRECTING.search(text):  # "不对，我问的是7月的电费": the words say which look-up
        lookup_type = MONTHLY.get(
            {"query_usage": "usage", "explain_bill": "explain"}.get(intent, "bill"), MONTHLY[last]
        )
    else:
        return None  # a new question with its own month: the intent's task answers it
    wanted = months[0]
    return lambda s, d, t, dom: lookup_type().lookup(s, d, t, wanted)


def _outage_first(decision: Decision, reading: Reading) -> bool:
    """Whether the turn asks for the customer's known outage before carrying out the decision: no power now and
    we may know why ("怎么又停电了"), or how its repair is going ("那你们派人来修了没有")."""
    return (
        decision.route is not Route.SAFETY
        and not reading.hypothetical
        and (
            (decision.route is not Route.TASK and reading.outage)
            or (reading.progress and decision.task in (None, "repair", "complaint"))
            # "家里没电了，冰箱里一堆东西，要多久才能好啊" read as a request for saving advice: no power now comes first
            or (decision.task in _NOT_ABOUT_OUTAGES and reading.outage and reading.doing and not reading.future)
        )
    )


def _known_outage_whatever_matched(
    intent: str, confidence: float, reading: Reading, bound: bool, ranking: list[tuple[str, float]]
) -> bool:
    """Whether every verdict of the knowledge base (none, answerable or not, out of scope or not) leads to the
    customer's known outage: asked before the decision (`_outage_first`) or by the repair it decides on
    (`_repair`, or the repair's clarifying question in `carry_out`). Then the search cannot change the answer of
    a customer who has one."""
    verdicts = [None, *(KnowledgeMatch(a, o) for a in (True, False) for o in (True, False))]
    for match in verdicts:
        decision = decide(intent, confidence, reading, match, bound, ranking)
        repair = decision.route in (Route.TASK, Route.CLARIFY) and decision.task == "repair"
        if decision.route is Route.SAFETY or not (_outage_first(decision, reading) or repair):
            return False
    return True


class ActionUnderstand(PowerDeskAction):
    def name(self) -> str:
        return "action_understand"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        parsed = tracker.latest_message.get("intent") or {}
        intent, confidence = str(parsed.get("name") or "nlu_fallback"), float(parsed.get("confidence") or 0.0)
        lexicon: Lexicon = services.lexicon()
        reading = read_text(lexicon, latest_text(tracker))
        intent = revised_intent(intent, confidence, reading)
        if (
            reading.outage_follow_up
            and not (reading.safety or reading.payload or reading.person or reading.ticket_no)
            and intent not in ("bind_account", "query_ticket")
            and _after_outage_answer(tracker)
        ):  # "几点开始停" after the customer's outages were told: they again, with their times
            return ActionOutageInfo().act(services, dispatcher, tracker, domain)
        if not reading.safety and not reading.payload:
            continued = follow_up(services, lexicon, tracker, intent)
            if continued is not None:
                return continued(services, dispatcher, tracker, domain)
        bound = False  # whether the customer is bound matters only when the text names a period or 我家
        if reading.period or reading.possessive:
            with services.sessions() as session:
                bound = find_bound_customer(session, tracker) is not None
        ranking = [
            (str(r.get("name")), float(r.get("confidence") or 0.0))
            for r in tracker.latest_message.get("intent_ranking") or []
            if isinstance(r, dict)
        ]
        if _known_outage_whatever_matched(intent, confidence, reading, bound, ranking):
            # the answer is the customer's known outage if they have one, whatever the knowledge base would say:
            # asked first, so that a storm of "停电了" costs no search (the embedding is most of a turn's work)
            if known_outage_instead_of_repair(services, dispatcher, tracker):
                return []
        result: Result | None = None
        retriever = services.knowledge() if needs_knowledge(intent, confidence, reading, bound) else None
        if retriever is not None:
            result = agreeing(search_latest(retriever, tracker, k=3), lexicon.intent_topics.get(intent, ()), confidence)
        match = KnowledgeMatch(result.answerable, result.out_of_scope) if result is not None else None
        decision = decide(intent, confidence, reading, match, bound, ranking)
        if _outage_first(decision, reading) and known_outage_instead_of_repair(services, dispatcher, tracker):
            # no power now and we know why ("怎么又停电了", "停电了，要多久才能来电"), or how its repair is going
            # ("那你们派人来修了没有"): the event and its estimated restoration, whatever else the message asks
            return []
        return self.carry_out(decision, intent, result, lexicon, services, dispatcher, tracker, domain)

    def carry_out(
        self,
        decision: Decision,
        intent: str,
        result: Result | None,
        lexicon: Lexicon,
        services: Services,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        route, task = decision.route, decision.task
        if route is Route.SAFETY:
            dispatcher.utter_message(response="utter_safety_emergency")
            if result is not None and result.answerable:  # "有人触电了怎么急救": the advice, then the answer
                return answer_entry(dispatcher, result.hits[0].entry)
            return []
        if route is Route.TASK and task is not None:
            return TASKS[task](services, dispatcher, tracker, domain)
        if (
            route is Route.CLARIFY
            and task == "repair"
            and known_outage_instead_of_repair(services, dispatcher, tracker)
        ):
            return []  # "停电了，要多久才能来电" during a known fault: the fault and its estimated restoration
        if route is Route.CLARIFY and task is not None and result is not None and result.hits:
            entry = result.hits[0].entry
            button = lexicon.tasks[task]
            buttons = [
                {"title": entry.title, "payload": f'/kb_select{{"kb_entry":"{entry.id}"}}'},
                {"title": button.label, "payload": button.payload},
            ]
            dispatcher.utter_message(response="utter_clarify_question_or_task", buttons=buttons)
            return []
        if route is Route.KNOWLEDGE:
            events = answer_from_knowledge(services, dispatcher, tracker, result) if result is not None else None
            if events is None:  # the index is unavailable: the intent's domain response
                fallback = (
                    f"utter_{intent}" if f"utter_{intent}" in (domain.get("responses") or {}) else "utter_default"
                )
                dispatcher.utter_message(response=fallback)
                return []
            if task is not None and result is not None and result.answerable:
                button = lexicon.tasks[task]
                dispatcher.utter_message(
                    response="utter_offer_task", buttons=[{"title": button.label, "payload": button.payload}]
                )
            return events
        if route is Route.SMALL_TALK:
            small = {"affirm": ActionAffirm, "deny": ActionDeny}.get(intent, ActionInform)
            return small().act(services, dispatcher, tracker, domain)
        if route is Route.DECLINE:
            dispatcher.utter_message(response="utter_out_of_scope")
            return []
        return not_understood(dispatcher, tracker, result is not None and result.out_of_scope)
