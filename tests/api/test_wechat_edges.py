"""The WeChat channel's edges: hostile input, a disabled channel, agents replying through the
customer-service API during a handoff, and `powerdesk wechat menu push` against the fake WeChat."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from api.app import create_app
from core.models import Handoff, Message
from core.settings import REPO_ROOT, Settings
from tests.api.console_helpers import login
from tests.api.fake_wechat import APP_ID, APP_SECRET, FakeWeChatState, fake_wechat_app, serve
from tests.api.fakes import FakeBot
from tests.api.wechat_env import Env, inbound_count, make_env, wait_until, wechat_settings
from tests.api.wechat_sim import FIXTURES, TOKEN, WeChatSim, fixture


@pytest.fixture
def env(api_settings: Settings) -> Iterator[Env]:
    yield from make_env(api_settings, aes=False)


def _raw(env: Env, body: bytes, content_type: str = "text/xml") -> httpx.Response:
    query, _ = env.sim.request("<xml/>")
    return env.http.post(f"{env.url}/wechat", params=query, content=body, headers={"Content-Type": content_type})


@pytest.mark.parametrize("name", ["xxe", "billion_laughs"])
def test_dtds_are_refused_before_parsing(env: Env, name: str) -> None:
    response = _raw(env, (FIXTURES / f"{name}.xml").read_bytes())
    assert response.status_code == 400 and "DOCTYPE" in response.json()["message"]
    assert env.bot.sent == []


def test_malformed_missing_fields_wrong_types_and_oversized_bodies_are_refused(env: Env) -> None:
    missing = _raw(env, (FIXTURES / "missing_from.xml").read_bytes())
    assert missing.status_code == 400 and "FromUserName" in missing.json()["message"]
    assert _raw(env, b"<xml><unclosed></xml>").status_code == 400
    assert _raw(env, b"not xml at all").status_code == 400
    assert _raw(env, b"<other><a>1</a></other>").status_code == 400
    bad_time = fixture("text", content="x", create_time="yesterday").encode()
    assert _raw(env, bad_time).status_code == 400
    wrong_type = _raw(env, fixture("text", content="x").encode(), content_type="application/json")
    assert wrong_type.status_code == 415
    big = fixture("text", content="电" * 40_000).encode()  # > MAX_BODY_BYTES (64 kB)
    assert _raw(env, big).status_code == 413
    assert env.bot.sent == []


def test_a_long_text_is_answered_politely_and_not_sent_to_the_bot(env: Env) -> None:
    reply = env.answer(fixture("text", openid="o_long", content="电" * 5000))  # over MAX_MESSAGE_CHARS
    assert reply is not None and "抱歉" in reply
    assert env.bot.sent == []


def test_the_channel_is_disabled_without_a_token(api_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with serve(create_app(api_settings, bot=FakeBot())) as url:
        response = httpx.post(f"{url}/wechat", content=fixture("text", content="x"))
        assert response.status_code == 503 and "WECHAT_TOKEN" in response.json()["message"]
        assert httpx.get(f"{url}/wechat", params={"echostr": "1"}).status_code == 503
    assert any("WECHAT_TOKEN" in r.getMessage() for r in caplog.records)


def test_agent_replies_reach_wechat_through_the_customer_service_api(agent_online: str, api_settings: Settings) -> None:
    for env in make_env(api_settings, aes=False):
        reply = env.answer(fixture("text", openid="o_handoff", content="转人工"))
        assert reply is not None and "人工" in reply
        with httpx.Client(base_url=env.url, timeout=30) as console:
            csrf = login(console, agent_online)  # type: ignore[arg-type]
            handoff_id = env.count(select(func.max(Handoff.id)))
            headers = {"X-CSRF-Token": csrf}
            assert console.post(f"/console/api/cases/{handoff_id}/claim", headers=headers).status_code == 200
            sent = console.post(
                f"/console/api/cases/{handoff_id}/reply", json={"text": "您好，我是王敏"}, headers=headers
            )
            assert sent.status_code == 200, sent.text
        pushed = env.wait_pushed("o_handoff", 2)
        assert pushed[-1] == "您好，我是王敏" and "已接入" in pushed[0]
        # while the agent has the case, the customer's message goes to the console and the bot is silent
        assert env.answer(fixture("text", openid="o_handoff", content="我家停电了")) is None
        assert [s[1] for s in env.bot.sent] == ["转人工"]
        delivered = (
            select(func.count()).select_from(Message).where(Message.sender == "agent", Message.status == "delivered")
        )
        assert env.count(delivered) == 1


def test_menu_push_creates_the_menu_from_the_data_file(tmp_path: Path) -> None:
    state = FakeWeChatState()
    with serve(fake_wechat_app(state)) as wechat_url:
        environment = {
            **os.environ,
            "VAR_DIR": str(tmp_path),
            "DATABASE_URL": "",
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": APP_SECRET,
            "WECHAT_API_BASE": wechat_url,
        }
        done = subprocess.run(
            [sys.executable, "-m", "cli", "wechat", "menu", "push"],
            cwd=REPO_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        no_secret = subprocess.run(
            [sys.executable, "-m", "cli", "wechat", "menu", "push"],
            cwd=REPO_ROOT,
            env={**environment, "WECHAT_APP_SECRET": ""},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert no_secret.returncode == 1 and "WECHAT_APP_SECRET" in no_secret.stderr
    assert len(state.menus) == 1
    labels = [b["name"] for top in state.menus[0]["button"] for b in top.get("sub_button") or [top]]
    assert sorted(labels) == sorted(["查电费", "缴费", "停电报修", "我的户号", "人工客服"])
    keys = [b.get("key") for top in state.menus[0]["button"] for b in top.get("sub_button") or [top]]
    assert "QUERY_BILL" in keys and "text" not in str(state.menus[0])


def test_the_simulator_signature_matches_wechatpy(env: Env) -> None:
    sim = WeChatSim()
    query, _ = sim.request("<xml/>")
    assert len(query["signature"]) == 40 and time.time() - int(query["timestamp"]) < 5


def test_retries_to_another_api_process_are_answered_once(api_settings: Settings) -> None:
    """Two api instances on one database (as two processes behind a load balancer): one answer in total."""
    import concurrent.futures

    from tests.api.fake_wechat import SlowBot

    state = FakeWeChatState()
    with serve(fake_wechat_app(state)) as wechat_url:
        settings = wechat_settings(api_settings, wechat_url, wechat_passive_reply_s=1.0)
        bots = [SlowBot(2.0), SlowBot(2.0)]
        with serve(create_app(settings, bot=bots[0])) as one, serve(create_app(settings, bot=bots[1])) as two:
            sim = WeChatSim()
            xml = fixture("text", openid="o_two", content="slow 两个进程", msg_id=99_000_001)

            def post(url: str) -> str:
                query, body = sim.request(xml)
                return httpx.post(f"{url}/wechat", params=query, content=body, timeout=30).text

            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(post, [one, two, one, two]))
            assert answers == ["success"] * 4
            # both processes are done with the message once its outcome is final in the shared inbox
            assert wait_until(lambda: inbound_count(settings.effective_database_url, "pushed") == 1, 10)
    assert [m["text"]["content"].split("\n")[0] for m in state.sent] == ["收到：slow 两个进程"]
    assert len(bots[0].entered) + len(bots[1].entered) == 1  # the retries never reached a bot
