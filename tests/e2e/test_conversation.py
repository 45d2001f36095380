"""A whole Chinese conversation over HTTP through the real api, Rasa and action server."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, update

from core.clock import local_today
from core.identity import mask_account
from core.models import ChannelBinding, Conversation, Handoff, Message, Ticket
from core.models_console import Agent
from core.models_reports import BrokerEvent
from demo.config import history_start
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def say(stack: Stack, user: str, text: str) -> list[dict]:
    response = httpx.post(f"{stack.base_url}/api/v1/messages", json={"user_id": user, "text": text}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["replies"]


def texts(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies)


def test_bind_usage_outage_goodbye(stack: Stack) -> None:
    user = "e2e-customer-1"
    customer = stack.customer("residential")
    replies = say(stack, user, "你好")
    assert "电力智能客服" in texts(replies) and any(b["payload"] == "/query_usage" for b in replies[0]["buttons"])

    assert "户号" in texts(say(stack, user, "我想查一下上个月用了多少电"))
    assert "后4位" in texts(say(stack, user, customer.account_no))
    replies = texts(say(stack, user, customer.phone[-4:]))
    assert "绑定成功" in replies and customer.account_no[:4] + "****" in replies
    assert "千瓦时" in replies  # the question asked before binding is answered right away

    earlier = history_start(local_today(), 4)  # inside the demo history whatever day the tests run
    replies = texts(say(stack, user, f"那{earlier.year}年{earlier.month}月呢"))
    assert f"{earlier.year}年{earlier.month}月" in replies and "千瓦时" in replies

    assert "地址" in texts(say(stack, user, "我家停电了，快来修"))
    assert "手机" in texts(say(stack, user, "西湖区文三路100号3幢2单元501"))
    assert "现场情况" in texts(say(stack, user, "13812345678"))
    replies = texts(say(stack, user, "整栋楼都没电了"))
    assert "工单号" in replies and "45分钟" in replies

    assert "再见" in texts(say(stack, user, "没事了，再见"))

    with stack.sessions()() as session:
        conversation = session.scalars(select(Conversation).where(Conversation.external_user_id == user)).one()
        assert conversation.state == "bot"
        rows = list(session.scalars(select(Message).where(Message.conversation_id == conversation.id)))
        inbound = [m for m in rows if m.direction == "in"]
        assert len(inbound) == 10 and all(m.status == "processed" for m in inbound)
        assert inbound[0].intent == "greet" and inbound[0].confidence and inbound[0].confidence > 0.5
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == conversation.id)).one()
        assert ticket.kind == "outage" and ticket.phone == "13812345678" and ticket.customer_id is not None
        # transcripts and Rasa's events keep no account number, binding digits or phone number
        assert [m.text for m in inbound[2:4]] == [mask_account(customer.account_no), "****"]
        events = " ".join(session.scalars(select(BrokerEvent.data).where(BrokerEvent.sender_id == f"api:{user}")).all())
        assert '"text": "\\u4f60\\u597d"' in events or "你好" in events  # the broker did write this conversation
        for secret in (customer.account_no, "13812345678", f'"{customer.phone[-4:]}"'):
            assert secret not in events, secret
        assert session.scalars(select(ChannelBinding).where(ChannelBinding.external_user_id == user)).one()


def test_knowledge_questions_answer_from_the_index(stack: Stack) -> None:
    user = "e2e-customer-2"
    replies = say(stack, user, "阶梯电价是怎么收费的")
    assert "0.538" in texts(replies) and "（依据：" in texts(replies)
    assert replies[0]["custom"]["knowledge"]["topic"].startswith("tariff.")
    assert "帮不了" in texts(say(stack, user, "今天杭州天气咋样"))
    assert "网上国网" in texts(say(stack, user, "电费可以在哪里交"))


def test_fallback_then_person(stack: Stack) -> None:
    stack.agent_online("e2e-fallback")
    user = "e2e-customer-3"
    first = texts(say(stack, user, "qwpoeiru zmxncb"))
    second = texts(say(stack, user, "lkjhgf asdfgh"))  # the second miss in a row goes to a person
    assert first and "没能理解" in second and "人工客服" in second
    response = httpx.post(f"{stack.base_url}/api/v1/messages", json={"user_id": user, "text": "还在吗"}, timeout=30)
    assert response.json()["state"] == "waiting_agent"
    with stack.sessions()() as session:
        conversation_id = response.json()["conversation_id"]
        handoff = session.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id)).one()
        assert handoff.reason == "misunderstanding" and handoff.status == "waiting"


def test_nobody_online_means_a_callback_ticket(stack: Stack) -> None:
    user = "e2e-customer-4"
    with stack.sessions()() as session:  # nobody's console has been open for a while
        session.execute(update(Agent).values(last_seen_at=None))
        session.commit()
    replies = texts(say(stack, user, "我要找人工客服"))
    assert "回电工单" in replies and "HF" in replies
    assert "电力智能客服" in texts(say(stack, user, "你好"))  # the bot answers again


def test_cli_chat_prints_json(stack: Stack) -> None:
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "cli", "chat", "你好", "--user", "e2e-cli", "--json", "--url", stack.base_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    replies = json.loads(out.stdout)
    assert replies[0]["text"] and set(replies[0]) == {"text", "buttons", "custom"}
