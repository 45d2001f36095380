"""The understanding step's decisions (pure): questions about a process answered, requests started, both → a
clarifying question; the customer's own data by period or binding; safety first; forms screen their input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from actions.form_input import FormInput, looks_like_address, screen_form_input, situation_told
from actions.understanding import (
    Decision,
    KnowledgeMatch,
    Lexicon,
    Route,
    agreeing,
    decide,
    load_lexicon,
    needs_knowledge,
    read_text,
    revised_intent,
)
from core.errors import DataError
from core.settings import REPO_ROOT
from knowledge.documents import Entry
from knowledge.retriever import Hit, Result

ANSWERABLE = KnowledgeMatch(answerable=True, out_of_scope=False)
UNSURE = KnowledgeMatch(answerable=False, out_of_scope=False)
OUTSIDE = KnowledgeMatch(answerable=False, out_of_scope=True)


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon(REPO_ROOT / "data" / "dialogue" / "understanding.yml")


def route(
    lexicon: Lexicon,
    text: str,
    intent: str,
    match: KnowledgeMatch | None = ANSWERABLE,
    bound: bool = False,
    confidence: float = 0.9,
    ranking: tuple[tuple[str, float], ...] = (),
) -> Decision:
    return decide(intent, confidence, read_text(lexicon, text), match, bound, ranking)


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        # questions about a process: answered, the task one button away
        ("投诉一般几天给答复", "complain", Decision(Route.KNOWLEDGE, "complaint")),
        ("每个月什么时候能查到账单", "query_bill", Decision(Route.KNOWLEDGE, "bill")),
        ("解绑要去营业厅吗", "bind_account", Decision(Route.KNOWLEDGE, "binding")),
        ("报修以后多久能来人", "report_outage", Decision(Route.KNOWLEDGE, "repair")),
        ("万一家里停电了应该打哪个电话", "report_outage", Decision(Route.KNOWLEDGE, "repair")),
        # requests: started
        ("我要投诉", "complain", Decision(Route.TASK, "complaint")),
        ("绑定户号", "bind_account", Decision(Route.TASK, "binding")),
        ("我家停电了", "report_outage", Decision(Route.TASK, "repair")),
        ("帮我查上个月电费", "query_bill", Decision(Route.TASK, "bill")),
        ("上个月用了多少电", "query_usage", Decision(Route.TASK, "usage")),
        ("我家开峰谷电划算吗", "recommend_plan", Decision(Route.TASK, "plan")),
        # both readings: one question with two buttons
        ("我家停电了，一般多久能修好", "report_outage", Decision(Route.CLARIFY, "repair")),
        # a bare 吗 is politeness, not a question about the process
        ("能帮我报修一下吗", "report_outage", Decision(Route.TASK, "repair")),
        # a person asked for is never refused or lectured
        ("有没有人工啊", "request_human", Decision(Route.TASK, "human")),
        # a knowledge intent that is a request to act takes the task from the ranking (or names an outage)
        ("我们小区停电了", "query_outage_plan", Decision(Route.TASK, "repair")),
        # out of scope, yet covered by the knowledge base
        ("停电了该找谁", "out_of_scope", Decision(Route.KNOWLEDGE)),
    ],
)
def test_questions_are_answered_and_requests_started(
    lexicon: Lexicon, text: str, intent: str, expected: Decision
) -> None:
    assert route(lexicon, text, intent) == expected


@pytest.mark.parametrize(
    ("text", "intent", "expected", "match"),
    [
        # the customer's own outages: a plain question asks for them
        ("明天会不会停电", "query_outage_plan", Decision(Route.TASK, "outage_info"), ANSWERABLE),
        ("我们小区这周有计划停电吗", "query_outage_plan", Decision(Route.TASK, "outage_info"), ANSWERABLE),
        ("什么时候来电", "query_outage_plan", Decision(Route.TASK, "outage_info"), ANSWERABLE),
        ("明天几点开始停电", "query_outage_plan", Decision(Route.TASK, "outage_info"), ANSWERABLE),
        # a general question about planned outages is a knowledge answer, the look-up one button away
        ("计划停电一般提前几天通知", "query_outage_plan", Decision(Route.KNOWLEDGE, "outage_info"), ANSWERABLE),
        # …unless the knowledge base has no sure answer: then the look-up
        ("计划停电一般提前几天通知", "query_outage_plan", Decision(Route.TASK, "outage_info"), UNSURE),
        # not understood by the NLU, yet about outages in the days ahead
        ("这几天会不会停电", "nlu_fallback", Decision(Route.TASK, "outage_info"), ANSWERABLE),
        ("停电了该找谁", "out_of_scope", Decision(Route.KNOWLEDGE), ANSWERABLE),
        # no power now is a report, whatever the intent says
        ("我家停电了", "query_outage_plan", Decision(Route.TASK, "repair"), ANSWERABLE),
        # tickets: asked for, or named by number whatever the intent
        ("我的工单到哪一步了", "query_ticket", Decision(Route.TASK, "ticket_status"), ANSWERABLE),
        ("GZ20261207000042怎么样了", "report_outage", Decision(Route.TASK, "ticket_status"), ANSWERABLE),
        ("gz20261207000042", "nlu_fallback", Decision(Route.TASK, "ticket_status"), ANSWERABLE),
        ("报修以后怎么查进度", "query_ticket", Decision(Route.KNOWLEDGE, "ticket_status"), ANSWERABLE),
        # …but asked to look it up, it is looked up
        ("工单号是多少？帮我查下进度", "query_ticket", Decision(Route.TASK, "ticket_status"), ANSWERABLE),
        # an outage to come (要停电, 听说…) at the customer's place is their own planned outage, not a report
        ("听说我们小区要停电，是哪天啊？", "query_outage_plan", Decision(Route.TASK, "outage_info"), ANSWERABLE),
        ("这几天我家要不要停电", "nlu_fallback", Decision(Route.TASK, "outage_info"), ANSWERABLE),
        # "是不是停电了" asks about now: a report (a typo'd 没点 too)
        ("家里没点了 是不是停电了", "report_outage", Decision(Route.TASK, "repair"), ANSWERABLE),
    ],
)
def test_outages_and_tickets_are_the_customers_own(
    lexicon: Lexicon, text: str, intent: str, expected: Decision, match: KnowledgeMatch
) -> None:
    assert route(lexicon, text, intent, match) == expected


def test_repair_progress_is_read_unless_it_is_a_complaint(lexicon: Lexicon) -> None:
    assert read_text(lexicon, "那你们派人来修了没有").progress
    assert read_text(lexicon, "停电三个小时了还要多久").progress
    assert not read_text(lexicon, "三个小时了还没人来修，我要投诉").progress
    assert not read_text(lexicon, "上个月电费多少").progress


def test_the_customers_own_data_depends_on_the_period_and_the_binding(lexicon: Lexicon) -> None:
    text = "我家电费为什么这么高"
    assert route(lexicon, text, "explain_bill", bound=False) == Decision(Route.KNOWLEDGE, "explain")
    assert route(lexicon, text, "explain_bill", bound=True) == Decision(Route.TASK, "explain")
    # a period makes it a look-up even as a question, unless it asks how things work and nobody is bound
    assert route(lexicon, "这个月要交多少电费", "query_bill") == Decision(Route.TASK, "bill")
    assert route(lexicon, "我们这个月要交多少电费", "pay_bill", bound=True, ranking=(("query_bill", 0.2),)) == Decision(
        Route.TASK, "bill"
    )


def test_safety_comes_first_but_prevention_questions_are_answered(lexicon: Lexicon) -> None:
    assert route(lexicon, "楼下配电箱冒烟了", "report_outage").route is Route.SAFETY
    assert route(lexicon, "有人触电了怎么办啊", "greet").route is Route.SAFETY
    assert route(lexicon, "怎么预防触电", "ask_tariff").route is Route.KNOWLEDGE


def test_outside_every_topic_is_declined_and_the_unknown_asks_to_rephrase(lexicon: Lexicon) -> None:
    assert route(lexicon, "热水器漏水怎么办", "report_outage", OUTSIDE).route is Route.DECLINE
    assert route(lexicon, "今天天气怎么样", "out_of_scope", OUTSIDE).route is Route.DECLINE
    assert route(lexicon, "asdfgh", "nlu_fallback", UNSURE).route is Route.FALLBACK
    assert route(lexicon, "qwpoeiru", "nlu_fallback", OUTSIDE).route is Route.FALLBACK  # the second one hands over
    assert route(lexicon, "asdfgh", "nlu_fallback", None).route is Route.FALLBACK
    # the index unavailable: a task still starts
    assert route(lexicon, "报修以后多久能来人", "report_outage", None) == Decision(Route.TASK, "repair")


def test_a_button_payload_is_a_choice_made(lexicon: Lexicon) -> None:
    reading = read_text(lexicon, "/complain")
    assert reading.payload and not needs_knowledge("complain", 1.0, reading, False)
    assert route(lexicon, "/complain", "complain") == Decision(Route.TASK, "complaint")


def test_searching_the_index_only_when_the_decision_needs_it(lexicon: Lexicon) -> None:
    assert not needs_knowledge("query_usage", 0.9, read_text(lexicon, "上个月用了多少电"), False)
    assert needs_knowledge("query_bill", 0.9, read_text(lexicon, "每个月什么时候出账单"), False)
    assert not needs_knowledge("request_human", 0.3, read_text(lexicon, "转人工"), False)
    assert needs_knowledge("ask_tariff", 0.9, read_text(lexicon, "阶梯电价"), False)


@pytest.mark.parametrize(
    ("text", "match", "expected"),
    [
        ("算了", None, FormInput.CANCEL),
        ("哦来电了，不用了", None, FormInput.CANCEL),
        ("楼下配电箱冒烟了", None, FormInput.SAFETY),
        ("你们一般多久能修好", ANSWERABLE, FormInput.QUESTION),
        # a question about how things work that no entry answers is not an address either
        ("你们一般多久能派人过来？", UNSURE, FormInput.UNANSWERED),
        ("你们一般多久能派人过来？", OUTSIDE, FormInput.UNANSWERED),
        ("西湖区文三路100号3幢2单元501", None, FormInput.VALUE),
        # a long story that mentions 算了 is not a wish to leave
        ("上次报修说算了不用来了结果又停了，这次是整栋楼都没电，麻烦尽快派人来看看", None, FormInput.VALUE),
    ],
)
def test_forms_screen_what_they_are_given(
    lexicon: Lexicon, text: str, match: KnowledgeMatch | None, expected: FormInput
) -> None:
    assert screen_form_input(read_text(lexicon, text), match) is expected


def test_a_story_may_ask_in_passing(lexicon: Lexicon) -> None:
    story = read_text(lexicon, "整栋楼都没电了，一般多久能修好？")
    assert screen_form_input(story, UNSURE, free_text=True) is FormInput.VALUE  # the repair form's description
    assert screen_form_input(story, UNSURE) is FormInput.UNANSWERED  # where an address is asked for


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("西湖区文三路100号3幢2单元501", True),
        ("杭州市拱墅区莫干山路88号", True),
        ("你们一般多久能修好", False),
        ("😭😭😭", False),
        ("my house has no power", False),
        ("13812345678", False),
        ("x" * 300, False),
    ],
)
def test_an_address_names_a_place(lexicon: Lexicon, text: str, ok: bool) -> None:
    assert looks_like_address(lexicon, text) is ok


def test_a_broken_lexicon_says_what_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "understanding.yml"
    source = (REPO_ROOT / "data" / "dialogue" / "understanding.yml").read_text(encoding="utf-8")
    path.write_text(source.replace("cancel: >-", "cancel: >-\n  (unclosed"), encoding="utf-8")
    with pytest.raises(DataError, match="cancel.*not a valid regular expression"):
        load_lexicon(path)
    path.write_text("about: 怎么\n", encoding="utf-8")
    with pytest.raises(DataError, match="tasks"):
        load_lexicon(path)


def _hit(topic: str) -> Hit:
    entry = Entry(topic + "-1", topic, topic, (), "答", "来源", dt.date(2026, 1, 1), "f.md")
    return Hit(entry, 1.0, 0.9, 1.0)


def test_the_nlu_agreeing_with_one_of_the_indexs_guesses_makes_it_the_answer(lexicon: Lexicon) -> None:
    topics = lexicon.intent_topics["account_change"]
    unsure = Result(False, [_hit("meter.verification"), _hit("service.account_change"), _hit("tariff.tou")])
    agreed = agreeing(unsure, topics, 0.97)
    assert agreed.answerable and [h.entry.topic for h in agreed.hits][:2] == [
        "service.account_change",
        "meter.verification",
    ]
    assert not agreeing(unsure, topics, 0.5).answerable  # the NLU unsure: nothing to agree with
    assert not agreeing(unsure, lexicon.intent_topics["invoice"], 0.97).answerable  # no guess of its topics
    # a prefix covers its topics
    assert agreeing(Result(False, [_hit("tariff.tou")]), lexicon.intent_topics["ask_tariff"], 0.8).answerable
    # placed outside every topic by the topic model: the NLU does not overrule it ("燃气阶梯价格怎么算")
    outside = Result(False, [_hit("service.account_change")], out_of_scope=True)
    assert agreeing(outside, topics, 0.99) == outside


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        # a yes/no question about planned outages in general: the general answer, the look-up one button away
        ("计划停电会不会短信通知到户", "query_outage_plan", Decision(Route.KNOWLEDGE, "outage_info")),
        ("明天我家会不会停电", "query_outage_plan", Decision(Route.TASK, "outage_info")),
        # a question about complaints is answered; a complaint is registered
        ("能不能匿名投诉", "complain", Decision(Route.KNOWLEDGE, "complaint")),
        ("投诉处理结果不满意还能再申诉吗", "complain", Decision(Route.KNOWLEDGE, "complaint")),
        ("我要投诉抄表员", "complain", Decision(Route.TASK, "complaint")),
        ("有没有人工客服", "request_human", Decision(Route.TASK, "human")),
    ],
)
def test_yes_no_questions_about_outages_and_complaints_are_answered(
    lexicon: Lexicon, text: str, intent: str, expected: Decision
) -> None:
    assert route(lexicon, text, intent) == expected


def test_a_period_without_electricity_is_checked_against_the_index(lexicon: Lexicon) -> None:
    # "今天" makes a look-up only when electricity or its bills are named; the index judges the rest
    assert needs_knowledge("query_usage", 0.86, read_text(lexicon, "温州今天气温多少度"), False)
    assert not needs_knowledge("query_bill", 0.9, read_text(lexicon, "上个月电费多少"), False)
    assert route(lexicon, "温州今天气温多少度", "query_usage", OUTSIDE) == Decision(Route.DECLINE)
    assert not needs_knowledge("query_usage", 0.9, read_text(lexicon, "今天用了多少度电"), False)
    assert route(lexicon, "今天用了多少度电", "query_usage", None) == Decision(Route.TASK, "usage")
    # digits read as an account in a question that is not ours
    assert route(lexicon, "18650电池能带上飞机吗", "inform", OUTSIDE) == Decision(Route.DECLINE)
    assert route(lexicon, "3301234567", "inform", OUTSIDE) == Decision(Route.SMALL_TALK)


def test_explicit_requests_unsure_person_requests_and_bound_periods(lexicon: Lexicon) -> None:
    # asked for in so many words, even with a question about it: started, no two-button question
    assert route(lexicon, "户号怎么绑，帮我绑上", "bind_account", confidence=1.0) == Decision(Route.TASK, "binding")
    assert route(lexicon, "我家停电了，一般多久能修好", "report_outage") == Decision(Route.CLARIFY, "repair")
    # an unsure request for a person that names none is not one; one that names a person is
    assert revised_intent("request_human", 0.47, read_text(lexicon, "昨天呢")) == "nlu_fallback"
    assert revised_intent("request_human", 0.47, read_text(lexicon, "找个人工")) == "request_human"
    assert revised_intent("request_human", 0.9, read_text(lexicon, "在吗在吗")) == "request_human"
    # a bound customer naming a period asks for their own data, even with 是多少
    ranking = (("query_bill", 0.42),)
    assert route(lexicon, "那上个月的是多少钱", "nlu_fallback", bound=True, ranking=ranking) == Decision(
        Route.TASK, "bill"
    )


def test_a_request_about_someone_elses_bill_is_not_a_look_up(lexicon: Lexicon) -> None:
    assert not read_text(lexicon, "帮我查一下燃气费欠了多少").energy
    assert read_text(lexicon, "帮我查一下电费欠了多少").energy
    assert read_text(lexicon, "帮我check一下上个月的bill").energy
    ranking = (("query_bill", 0.3),)
    assert route(lexicon, "帮我查一下燃气费欠了多少", "nlu_fallback", OUTSIDE, ranking=ranking).route is not Route.TASK
    assert route(lexicon, "帮我查一下电费欠了多少", "nlu_fallback", OUTSIDE, ranking=ranking) == Decision(
        Route.TASK, "bill"
    )


def test_an_outage_question_that_names_no_outage_goes_by_the_index(lexicon: Lexicon) -> None:
    assert route(lexicon, "供电营业厅周末上班吗", "query_outage_plan") == Decision(Route.KNOWLEDGE)
    assert route(lexicon, "自来水停水了，什么时候来水", "query_outage_plan", OUTSIDE) == Decision(Route.DECLINE)
    assert route(lexicon, "钱塘江大潮什么时候看最好", "query_outage_plan", OUTSIDE) == Decision(Route.DECLINE)
    # one that names it is the customer's own, whatever the index says
    assert route(lexicon, "什么时候来电", "query_outage_plan", OUTSIDE) == Decision(Route.TASK, "outage_info")
    assert route(lexicon, "这周末有没有检修", "query_outage_plan", UNSURE) == Decision(Route.TASK, "outage_info")
    assert route(lexicon, "明天会不会停点啊", "query_outage_plan", UNSURE) == Decision(Route.TASK, "outage_info")
    assert route(lexicon, "晓得了，那停多长时间", "query_outage_plan", OUTSIDE) == Decision(Route.TASK, "outage_info")


def test_the_situation_already_told_is_the_reports_description(lexicon: Lexicon) -> None:
    assert situation_told(lexicon, "电话13957108846，就是家里整个没电，麻烦快点") == "就是家里整个没电麻烦快点"
    assert situation_told(lexicon, "13867450921") is None
    assert situation_told(lexicon, "手机13655819023，好的") is None
    assert situation_told(lexicon, "电话13957108846，一般多久能修好啊") is None  # a question


@pytest.mark.parametrize(
    ("text", "follow_up"),
    [("几点开始停", True), ("那要等多久啊", True), ("那今天晚上呢 会不会停", True), ("你们有人过去修没有啊", True)]
    + [("啥原因停的", True), ("为什么停电啊", True)]
    + [("三个小时了还没人来修，我要投诉", False), ("阶梯电价怎么算的", False)],
)
def test_outage_follow_ups(lexicon: Lexicon, text: str, follow_up: bool) -> None:
    assert read_text(lexicon, text).outage_follow_up is follow_up


@pytest.mark.parametrize(
    "text",
    ["我家这几天有停电安排吗", "想问下我们家最近会停电不", "下礼拜一我家停不停电？那天要在家开会", "这周我家停电吗"]
    + ["近期停电通知查一下"],
)
def test_asking_about_outages_to_come_is_not_a_report(lexicon: Lexicon, text: str) -> None:
    assert route(lexicon, text, "query_outage_plan") == Decision(Route.TASK, "outage_info")
    assert route(lexicon, text, "report_outage", UNSURE).task != "repair"


def test_a_complaint_in_so_many_words_and_long_stories(lexicon: Lexicon) -> None:
    text = "那我现在就要投诉，报修报了一天了都没人来"
    assert revised_intent("query_ticket", 0.8, read_text(lexicon, text)) == "complain"
    assert revised_intent("complain", 0.9, read_text(lexicon, "投诉一般几天给答复")) == "complain"
    assert revised_intent("query_ticket", 0.9, read_text(lexicon, "我的投诉处理到哪一步了")) == "query_ticket"
    story = "我跟你说啊，昨天晚上十点多突然就黑了，我以为是跳闸，下去看了空开也没跳，邻居好像也没电，孩子明天还要上学，住在西湖区文三路"
    assert not looks_like_address(lexicon, story)
    assert looks_like_address(lexicon, "浙江省杭州市西湖区文三路翠苑小区3幢2单元501室")


def test_rhetorical_reports_withdrawn_reports_and_other_bills(lexicon: Lexicon) -> None:
    reading = read_text(lexicon, "怎么突然停电了 家里一点电都没有")
    assert reading.doing and not reading.about
    assert route(lexicon, "怎么突然停电了 家里一点电都没有", "report_outage", confidence=0.68) == Decision(
        Route.TASK, "repair"
    )
    assert route(lexicon, "算了不报了，好像是我家空开跳了，推上去就有电了", "report_outage") == Decision(
        Route.SMALL_TALK
    )
    assert route(lexicon, "顺便帮我查下水费", "query_bill", UNSURE) == Decision(Route.DECLINE)
    assert route(lexicon, "水费和电费一起交可以吗", "pay_bill").route is Route.KNOWLEDGE


def test_leaving_a_form_at_the_start_of_a_long_message_and_days_that_are_not_outages(lexicon: Lexicon) -> None:
    assert read_text(lexicon, "算了不报了，好像是我家空开跳了，推上去就有电了").cancel
    assert not read_text(lexicon, "我跟你说，上次报修你们说算了不用来了，结果今天又停了，这次一定要来").cancel
    assert read_text(lexicon, "查下我们店这几天用了多少度电").doing
    assert not read_text(lexicon, "我家这几天有停电安排吗").doing
    assert read_text(lexicon, "你们有人过去修没有啊").outage_follow_up
    assert not read_text(lexicon, "你们有人过去修没有啊").person


def test_dialect_homes_investments_and_usage_in_degrees(lexicon: Lexicon) -> None:
    assert route(lexicon, "屋头没得电了", "report_outage", UNSURE) == Decision(Route.TASK, "repair")
    assert route(lexicon, "国网相关的电力股最近能不能买", "query_bill", UNSURE) == Decision(Route.DECLINE)
    assert read_text(lexicon, "昨天用了几度点啊").energy  # 点 for 电: the degrees say it
    assert not read_text(lexicon, "温州今天气温多少度").energy
    assert not read_text(lexicon, "这周我家停电了两次").future  # it happened: not one to come


def test_own_data_asked_plainly_binding_asked_for_and_a_dark_home(lexicon: Lexicon) -> None:
    assert read_text(lexicon, "上个月电费是多少钱？").doing  # the customer's own bill, bound or not
    assert read_text(lexicon, "我想在这里绑个户号，以后查电费方便点").doing
    assert not read_text(lexicon, "第一档电价是多少").doing
    assert read_text(lexicon, "刚才啪的一声全黑了，是不是你们线路出问题了").outage


def test_outages_happening_now_bill_questions_and_prices_are_not_misread(lexicon: Lexicon) -> None:
    for text in ("这周又停电了", "这周停电好几次了", "近期又停电了", "这两天一直停电"):
        assert not read_text(lexicon, text).future, text  # it is happening: a report, not an outage to come
    assert not read_text(lexicon, "那电费怎么回事").outage_follow_up  # after an outage answer: the bill
    for text in ("这个月电费是多少钱一度", "本月电费多少号扣款", "上个月用电量多少算正常"):
        assert not read_text(lexicon, text).doing, text  # questions about prices and rules, not a look-up
