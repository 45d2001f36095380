"""The conversation evaluation's own checks: scripts are validated with errors that say what to fix, and a turn's
expectations fail exactly when the replies do not show them."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import DataError
from ops.eval_runner import faq_outcome
from services.dialogue_eval import check_turn, load_dialogues, load_nlu_examples, task_start

KNOWLEDGE = {"text": "投诉受理后…", "buttons": [], "custom": {"knowledge": {"id": "x", "topic": "service.complaint"}}}
ASK_ADDRESS = {"text": "请告诉我停电的详细地址", "buttons": [], "custom": {"asks": "address"}}
ASK_ACCOUNT = {"text": "请输入您的10位用电户号", "buttons": [], "custom": {"asks": "account_no"}}
DECLINED = {"text": "抱歉，我只能解答用电相关的问题", "buttons": [{"title": "人工客服"}], "custom": {"declined": True}}
TICKET = {"text": "已为您生成抢修工单", "buttons": [], "custom": {"ticket": {"kind": "outage", "ticket_no": "QX1"}}}
BILL = {"text": "您2026年10月的电费账单：合计 1,234.50 元。", "buttons": [], "custom": None}


def test_each_expectation_holds_or_says_what_was_got() -> None:
    assert check_turn({"topic": "service.complaint", "handoff": False, "asks": "none"}, "bot", [KNOWLEDGE], []) == []
    failures = check_turn({"topic": "outage.report", "asks": "none", "ticket": "none"}, "bot", [ASK_ADDRESS], [])
    assert failures == ["topic outage.report expected, got no knowledge answer", "asks none expected, got address"]
    assert check_turn({"ticket": "outage"}, "bot", [TICKET], []) == []
    assert check_turn({"ticket": "none"}, "bot", [TICKET], []) == ["ticket none expected, got ['outage']"]
    assert check_turn({"declined": True, "no_knowledge": True, "buttons": True}, "bot", [DECLINED], []) == []
    assert check_turn({"handoff": True}, "waiting_agent", [], []) == []
    assert check_turn({"handoff": True}, "bot", [{"text": "回电", "custom": {"callback": {}}}], []) == []
    assert check_turn({"handoff": True}, "bot", [KNOWLEDGE], []) != []
    assert check_turn({"contains": ["95598"], "not_contains": ["请输入"]}, "bot", [ASK_ACCOUNT], []) == [
        "missing '95598'",
        "must not contain '请输入'",
    ]


def test_values_from_the_database_must_be_stated() -> None:
    assert check_turn({}, "bot", [BILL], [("bill_total", 1234.5)]) == []
    assert check_turn({}, "bot", [BILL], [("bill_total", 1234.0)]) == ["bill_total = 1234.00 not stated"]
    assert check_turn({}, "bot", [BILL], [("day_kwh", None)]) == ["day_kwh: no value in the database"]


def test_scripts_are_checked_when_loaded(tmp_path: Path) -> None:
    path = tmp_path / "d.yml"
    path.write_text("- {name: a, turns: [{say: 你好, expect: {topics: x}}]}\n", encoding="utf-8")
    with pytest.raises(DataError, match="unknown expectation"):
        load_dialogues(path)
    path.write_text("- {name: a, bound: true, turns: [{say: 你好}]}\n", encoding="utf-8")
    with pytest.raises(DataError, match="needs a `customer`"):
        load_dialogues(path)
    path.write_text("- {name: a, turns: [{say: 你好, expect: {facts: [{value: bill_total}]}}]}\n", encoding="utf-8")
    with pytest.raises(DataError, match="months_ago"):
        load_dialogues(path)


@pytest.mark.parametrize(
    "name", ["conversations_dev.yml", "conversations_dev2.yml", "conversations_dev3.yml", "conversations_holdout3.yml"]
)
def test_the_shipped_scripts_load(name: str) -> None:
    from core.settings import REPO_ROOT

    dialogues = load_dialogues(REPO_ROOT / "data" / "eval" / name)
    assert len(dialogues) >= 60 and len({d.name for d in dialogues}) == len(dialogues)
    assert len({d.pattern for d in dialogues}) == 12


def test_faq_outcomes() -> None:
    assert faq_outcome("service.complaint", "bot", [KNOWLEDGE]) == ("right", "service.complaint")
    assert faq_outcome("outage.report", "bot", [KNOWLEDGE]) == ("wrong_topic", "service.complaint")
    assert faq_outcome("billing.cycle", "bot", [ASK_ACCOUNT]) == ("account_check", None)
    assert faq_outcome("none", "bot", [DECLINED]) == ("right", None)
    assert faq_outcome("billing.cycle", "bot", [DECLINED]) == ("refused", None)
    assert faq_outcome("billing.cycle", "waiting_agent", []) == ("handed_off", None)


def test_task_starts(tmp_path: Path) -> None:
    assert task_start("query_bill", "bot", [ASK_ACCOUNT]) == "started"
    # the 户号 given in the message: the account check goes on to the phone digits
    ask_digits = {"text": "请输入手机号码后4位", "buttons": [], "custom": {"asks": "phone_last4"}}
    assert task_start("query_bill", "bot", [ask_digits]) == "started"
    assert task_start("report_outage", "bot", [ASK_ADDRESS]) == "started"
    assert task_start("complain", "waiting_agent", []) == "started"
    offer = {"text": "如需现在办理", "buttons": [{"title": "查询我的账单", "payload": "/query_bill"}], "custom": None}
    assert task_start("query_bill", "bot", [KNOWLEDGE, offer]) == "offered"
    assert task_start("query_bill", "bot", [KNOWLEDGE]) == "missed"
    path = tmp_path / "nlu.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n- intent: query_bill\n  examples: |\n    - 查[上个月](month)电费\n    - 电费多少\n',
        encoding="utf-8",
    )
    assert load_nlu_examples(path) == [("query_bill", "查上个月电费"), ("query_bill", "电费多少")]


@pytest.mark.parametrize("name", ["nlu_holdout3.yml", "nlu_holdout4.yml"])
def test_the_held_out_nlu_sets_are_disjoint_from_training(name: str) -> None:
    from core.settings import REPO_ROOT

    trained = {text for _, text in load_nlu_examples(REPO_ROOT / "bot" / "data" / "nlu.yml")}
    held_out = load_nlu_examples(REPO_ROOT / "bot" / "tests" / name)
    assert len(held_out) >= 300 and len({intent for intent, _ in held_out}) >= 25
    # short everyday replies (你好, 好的, 转人工, 查电费) are bound to coincide; nothing longer may
    shared = {text for _, text in held_out} & trained
    assert all(len(text) <= 12 for text in shared) and len(shared) < len(held_out) / 4
