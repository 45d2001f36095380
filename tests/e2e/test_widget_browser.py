"""The chat widget in headless Chromium (Debian's), driven by Playwright, against the real stack."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser():
    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is missing; `make setup` installs it")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def bubbles(page: Page):
    return page.locator("#powerdesk-widget .pd-msg")


def test_widget_conversation_history_and_escaping(stack: Stack, browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    page.goto(stack.base_url + "/")
    page.locator("#powerdesk-widget .pd-launch").click()
    # opening the widget greets the customer with quick replies
    expect(page.locator("#powerdesk-widget .pd-out").first).to_contain_text("电力智能客服", timeout=30_000)
    buttons = page.locator("#powerdesk-widget .pd-btn")
    expect(buttons.filter(has_text="停电报修")).to_be_visible()
    panel = page.locator("#powerdesk-widget .pd-panel").bounding_box()
    assert panel is not None and panel["width"] <= 390  # fits the phone screen

    # a quick reply sends its payload and shows its title
    buttons.filter(has_text="停电报修").first.click()
    expect(page.locator("#powerdesk-widget .pd-out").last).to_contain_text("地址", timeout=30_000)
    expect(page.locator("#powerdesk-widget .pd-in").last).to_have_text("停电报修")

    # hostile markup is shown as text, never executed
    page.evaluate("window.__pwned = false")
    box = page.locator("#powerdesk-widget .pd-input")
    box.fill('<img src=x onerror="window.__pwned=true">不用了')
    box.press("Enter")
    expect(page.locator("#powerdesk-widget .pd-in").last).to_have_text(
        '<img src=x onerror="window.__pwned=true">不用了'
    )
    expect(page.locator("#powerdesk-widget img")).to_have_count(0)
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is False
    count = bubbles(page).count()

    # history survives a reload (the user id lives in localStorage)
    page.reload()
    page.locator("#powerdesk-widget .pd-launch").click()
    expect(bubbles(page)).to_have_count(count, timeout=15_000)
    expect(page.locator("#powerdesk-widget .pd-in").last).to_have_text(
        '<img src=x onerror="window.__pwned=true">不用了'
    )
    context.close()
