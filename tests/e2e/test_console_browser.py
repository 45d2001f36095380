"""Two pages in headless Chromium against the real stack: the customer's widget and the agent's console.

The customer asks for a person → the case appears in the console without a reload → the agent claims it
and replies → the customer sees the reply → the bot stays silent → the agent closes → the customer rates
with the stars → the rating is stored with human_involved.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.db import transaction
from core.models import Message, Rating
from services import agents
from tests.e2e.conftest import Stack
from tests.e2e.test_widget_browser import browser  # noqa: F401 - the shared Chromium fixture

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PASSWORD = "e2e console password"


def test_customer_widget_and_agent_console(stack: Stack, browser) -> None:  # noqa: F811
    sessions = stack.sessions()
    with transaction(sessions) as session:
        agents.create_agent(session, "wangmin", "王敏", PASSWORD)

    agent_ctx = browser.new_context()
    console = agent_ctx.new_page()
    console.goto(stack.base_url + "/console")
    console.fill("input[name=username]", "wangmin")
    console.fill("input[name=password]", PASSWORD)
    console.click("button[type=submit]")
    expect(console.locator("#live")).to_have_class("live on", timeout=15_000)  # online: the websocket is up
    before = int(console.locator("#waiting-count").inner_text())

    customer_ctx = browser.new_context(viewport={"width": 390, "height": 844})
    widget = customer_ctx.new_page()
    widget.goto(stack.base_url + "/")
    widget.locator("#powerdesk-widget .pd-launch").click()
    expect(widget.locator("#powerdesk-widget .pd-out").first).to_contain_text("电力智能客服", timeout=30_000)
    box = widget.locator("#powerdesk-widget .pd-input")
    box.fill("转人工")
    box.press("Enter")
    expect(widget.locator("#powerdesk-widget .pd-out").last).to_contain_text("人工客服", timeout=30_000)

    # the case appears in the agent's queue without a reload (the newest of its priority comes last)
    row = console.locator("#waiting li")
    expect(row).to_have_count(before + 1, timeout=15_000)
    expect(row.last).to_contain_text("客户要求人工")  # the reason `asked`, by its Chinese name
    row.last.locator("button.claim").click()
    expect(console.locator("#case-status")).to_have_text("处理中", timeout=15_000)  # `claimed`, by its Chinese name
    expect(console.locator("#transcript")).to_contain_text("转人工")
    expect(widget.locator("#powerdesk-widget .pd-out").last).to_contain_text("王敏", timeout=15_000)

    console.fill("#reply-text", "您好，我是客服王敏，请问有什么可以帮您？")
    console.press("#reply-text", "Enter")
    expect(widget.locator("#powerdesk-widget .pd-agent").last).to_have_text(
        "您好，我是客服王敏，请问有什么可以帮您？", timeout=15_000
    )

    # the customer writes again: it reaches the agent, as text, and the bot says nothing
    bot_replies_before = _bot_messages(stack)
    hostile = "电费好像多扣了<script>window.__pwned=true</script>"
    box.fill(hostile)
    box.press("Enter")
    expect(console.locator("#transcript li").last).to_contain_text(hostile, timeout=15_000)
    console.wait_for_timeout(1500)
    assert console.evaluate("window.__pwned === undefined")
    assert console.locator("#transcript script").count() == 0
    assert _bot_messages(stack) == bot_replies_before  # the bot stayed silent

    console.select_option("#resolution", "answered")
    console.click("#close-form button[type=submit]")
    expect(console.locator("#case-status")).to_have_text("已结束", timeout=15_000)  # `closed`

    stars = widget.locator("#powerdesk-widget .pd-star")
    expect(stars).to_have_count(5, timeout=15_000)
    stars.nth(4).click()
    widget.locator("#powerdesk-widget .pd-comment").fill("很耐心")
    widget.locator("#powerdesk-widget .pd-rating .pd-btn").click()
    expect(widget.locator("#powerdesk-widget .pd-out").last).to_contain_text("感谢您的评价", timeout=15_000)

    # the bot has the conversation back (Rasa resumed)
    box.fill("你好")
    box.press("Enter")
    expect(widget.locator("#powerdesk-widget .pd-out").last).to_contain_text("电力智能客服", timeout=30_000)

    with sessions() as session:
        rating = session.scalars(select(Rating)).one()
        assert (rating.score, rating.comment, rating.human_involved, rating.agent) == (5, "很耐心", True, "wangmin")
    agent_ctx.close()
    customer_ctx.close()


def _bot_messages(stack: Stack) -> int:
    with stack.sessions()() as session:
        return len(session.scalars(select(Message).where(Message.sender == "bot")).all())
