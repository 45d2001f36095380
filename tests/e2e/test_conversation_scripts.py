"""A dozen of the development dialogues (data/eval/conversations_dev.yml) through the real stack, checked the way
`powerdesk eval conversations` checks them: topics, form questions, tickets, handoffs and values from the database.
The held-out set is never run here (it is for reporting only)."""

from __future__ import annotations

import asyncio

import pytest

from core.clock import local_today
from core.settings import REPO_ROOT
from ops.eval_runner import Api, dialogues_json, run_dialogues
from services.dialogue_eval import load_dialogues
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

IN_CI = (
    "问投诉处理时限，不转人工",
    "问解绑户号要不要去营业厅，不启动绑定表单",
    "说绑定户号就问户号",
    "报修时地址处反问抢修时间",
    "报修电话填成10位户号",
    "报修问电话时说不用了",
    "报修填地址时说冒烟了",
    "昨天和前天用电量",
    "纠正月份",
    "查完电费跟另一个月比",
    "上个月账单后问为什么这么贵",
    "这个月电费多少",
    "我要投诉直接转人工",
)


def test_a_dozen_scripted_dialogues_pass(stack: Stack) -> None:
    dialogues = [d for d in load_dialogues(REPO_ROOT / "data" / "eval" / "conversations_dev.yml") if d.name in IN_CI]
    assert len(dialogues) == len(IN_CI)
    results = asyncio.run(run_dialogues(Api(stack.base_url), stack.sessions(), dialogues, local_today()))
    report = dialogues_json(results)
    assert report["passed"] == report["dialogues"], report["failures"]


def test_outage_and_ticket_dialogues_pass(stack: Stack) -> None:
    """The demo's own fault and planned outages (seeded relative to today): a report during the fault files no
    ticket, the customer's own planned outages or none, binding first, a ticket's progress."""
    dialogues = load_dialogues(REPO_ROOT / "data" / "eval" / "conversations_outage_dev.yml")
    results = asyncio.run(run_dialogues(Api(stack.base_url), stack.sessions(), dialogues, local_today()))
    report = dialogues_json(results)
    assert report["passed"] == report["dialogues"], report["failures"]


def test_hostile_input_inside_the_repair_form_files_nothing_wrong(stack: Stack) -> None:
    import httpx
    from sqlalchemy import func, select

    from core.models import Conversation, Ticket

    user = "e2e-hostile-form"

    def say(text: str) -> dict:
        response = httpx.post(f"{stack.base_url}/api/v1/messages", json={"user_id": user, "text": text}, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()

    def asks(data: dict) -> str:
        marks = [r["custom"]["asks"] for r in data["replies"] if (r.get("custom") or {}).get("asks")]
        return marks[-1] if marks else "none"

    assert asks(say("我家停电了")) == "address"
    for hostile in (
        "停电" * 1000,
        "😡🔥💡" * 50,
        "my power is out since this morning",
        "3301234567",  # (a phone typed here is kept as the contact phone: the form maps the entity)
        "你们一般多久能修好",
    ):
        assert asks(say(hostile)) == "address", hostile  # answered (or refused) and asked again
    assert asks(say("西湖区文三路100号3幢2单元501")) == "phone"
    assert asks(say("3301234567")) == "phone"  # a 户号 is not a contact phone
    assert asks(say("13812345678")) == "description"
    assert asks(say("取消")) == "none"
    with stack.sessions()() as session:
        conversation = session.scalars(select(Conversation).where(Conversation.external_user_id == user)).one()
        tickets = session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.conversation_id == conversation.id)
        )
        assert tickets == 0  # cancelled before the description: nothing filed
