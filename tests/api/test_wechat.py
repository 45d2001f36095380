"""The WeChat channel end to end on loopback: real signed/encrypted requests built with wechatpy against the
running api (uvicorn), and a fake WeChat API server recording the customer-service messages."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import random
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from core.clock import utc_now
from core.db import make_engine, make_session_factory, transaction
from core.models import Message
from core.models_wechat import WeChatInbound
from core.settings import Settings
from services.conversation_log import Answered, ConversationStore, OutMessage
from tests.api.wechat_env import PASSIVE_S, Env, make_env
from tests.api.wechat_sim import AES_KEY, TOKEN, WeChatSim, fixture, signature

XML_HEADERS = {"Content-Type": "text/xml"}


@pytest.fixture
def env(api_settings: Settings) -> Iterator[Env]:
    yield from make_env(api_settings, aes=False)


@pytest.fixture
def safe_env(api_settings: Settings) -> Iterator[Env]:
    yield from make_env(api_settings, aes=True)


def test_server_verification_answers_echostr_only_to_a_good_signature(env: Env) -> None:
    ts, nonce = str(int(time.time())), "123"
    good = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "e-42"}
    assert env.http.get(f"{env.url}/wechat", params=good).text == "e-42"
    bad = {**good, "signature": signature("other-token", ts, nonce)}
    assert env.http.get(f"{env.url}/wechat", params=bad).status_code == 403
    assert env.http.get(f"{env.url}/wechat", params={"echostr": "x"}).status_code == 403


def test_text_goes_through_the_pipeline_and_is_answered_passively(env: Env) -> None:
    reply = env.answer(fixture("text", openid="o_text", content="上个月用了多少电"))
    assert reply is not None and reply.startswith("收到：上个月用了多少电")
    assert "查电费" in reply  # the bot's button, as a line
    assert env.bot.sent[-1][0] == "wechat:o_text"
    stored = env.count(select(func.count()).select_from(Message).where(Message.text == "上个月用了多少电"))
    assert stored == 1
    assert env.count(select(func.count()).select_from(Message).where(Message.status == "delivered")) >= 1


def test_voice_with_recognition_is_text_and_other_types_get_a_polite_reply(env: Env) -> None:
    assert env.answer(fixture("voice", openid="o_v", content="停电了")) == "收到：停电了\n您可以回复：\n· 查电费"
    texts = env.settings.data_dir / "wechat" / "texts.yml"
    import yaml

    unsupported = yaml.safe_load(texts.read_text(encoding="utf-8"))["unsupported"]
    assert env.answer(fixture("image", openid="o_i")) == unsupported["image"]
    assert env.answer(fixture("location", openid="o_i")) == unsupported["location"]
    assert env.answer(fixture("link", openid="o_i")) == unsupported["link"]
    assert env.answer(fixture("shortvideo", openid="o_i")) == unsupported["video"]
    assert env.answer(fixture("unknown", openid="o_i")) == unsupported["unknown"]
    assert len(env.bot.sent) == 1  # only the recognised voice reached the bot


def test_subscribe_gets_welcome_and_menu_and_clicks_map_to_intents(env: Env) -> None:
    welcome = env.answer(fixture("event_subscribe", openid="o_s"))
    assert welcome is not None and "欢迎" in welcome
    for label in ("查电费", "缴费", "停电报修", "人工客服", "我的户号"):
        assert label in welcome
    assert (
        env.answer(fixture("event_click", openid="o_s", key="QUERY_BILL"))
        == "收到：/query_bill\n您可以回复：\n· 查电费"
    )
    env.answer(fixture("event_click", openid="o_s2", key="REPORT_OUTAGE", create_time=1700000001))
    assert env.bot.sent[-1][:2] == ("wechat:o_s2", "/report_outage")
    unknown = env.answer(fixture("event_click", openid="o_s", key="NOT_IN_MENU"))
    assert unknown is not None and "菜单" in unknown
    assert env.answer(fixture("event_unsubscribe", openid="o_s")) is None


def test_encrypted_round_trip(safe_env: Env) -> None:
    reply = safe_env.answer(fixture("text", openid="o_aes", content="你好"))
    assert reply is not None and reply.startswith("收到：你好")


def test_safe_mode_refuses_a_bad_signature_a_foreign_appid_and_garbage(safe_env: Env) -> None:
    xml = fixture("text", openid="o_aes", content="你好")
    assert safe_env.post(xml, msg_signature="0" * 40).status_code == 403
    foreign = WeChatSim(aes_key=AES_KEY, app_id="wxOTHERAPPID00000", rng=random.Random(99))  # its own nonces
    query, body = foreign.request(xml)
    response = safe_env.http.post(
        f"{safe_env.url}/wechat", params=query, content=body, headers={"Content-Type": "text/xml"}
    )
    assert response.status_code == 400 and "AppID" in response.json()["message"]
    query, _ = safe_env.sim.request(xml)
    garbage = b"<xml><Encrypt><![CDATA[bm90LXJlYWxseS1lbmNyeXB0ZWQ=]]></Encrypt></xml>"
    # a valid msg_signature over garbage: decryption itself must fail cleanly
    from wechatpy.crypto import _get_signature

    query["msg_signature"] = _get_signature(TOKEN, query["timestamp"], query["nonce"], "bm90LXJlYWxseS1lbmNyeXB0ZWQ=")
    response = safe_env.http.post(
        f"{safe_env.url}/wechat", params=query, content=garbage, headers={"Content-Type": "text/xml"}
    )
    assert response.status_code == 400
    assert safe_env.bot.sent == []


def test_bad_signature_is_refused_and_reaches_nobody(env: Env) -> None:
    query, body = env.sim.request(fixture("text", openid="o_bad", content="你好"), token="wrong-token")
    response = env.http.post(f"{env.url}/wechat", params=query, content=body, headers={"Content-Type": "text/xml"})
    assert response.status_code == 403
    assert env.bot.sent == []


def test_a_replayed_message_is_answered_once(env: Env) -> None:
    xml = fixture("text", openid="o_replay", content="你好", msg_id=424242)
    assert env.answer(xml) is not None
    assert env.answer(xml) is None  # `success`: nothing more
    assert len(env.bot.sent) == 1
    assert env.count(select(WeChatInbound.retries).where(WeChatInbound.dedup_key == "msg:424242")) == 1


def test_a_slow_answer_is_acknowledged_at_once_and_pushed(env: Env) -> None:
    started = time.monotonic()
    assert env.answer(fixture("text", openid="o_slow", content="slow 查电费")) is None
    assert time.monotonic() - started < PASSIVE_S + 1.0
    assert env.wait_pushed("o_slow", 1) == ["收到：slow 查电费\n您可以回复：\n· 查电费"]
    pushed = select(func.count()).select_from(WeChatInbound).where(WeChatInbound.status == "pushed")
    assert env.wait_count(pushed) == 1


def test_retries_while_the_first_attempt_runs_give_one_answer(env: Env) -> None:
    xml = fixture("text", openid="o_retry", content="slow 账单", msg_id=777001)
    claimed = select(func.count()).select_from(WeChatInbound).where(WeChatInbound.dedup_key == "msg:777001")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        first = pool.submit(env.answer, xml)
        assert env.wait_count(claimed) == 1  # the first attempt holds the message before the retries arrive
        retries = [pool.submit(env.answer, xml) for _ in range(3)]  # WeChat: up to 3 retries
        answers = [first.result()] + [r.result() for r in retries]
    assert answers == [None, None, None, None]  # all acknowledged; the answer is pushed
    retried = select(WeChatInbound.retries).where(WeChatInbound.dedup_key == "msg:777001")
    assert env.count(retried) == 3 and env.bot.entered == ["slow 账单"]  # the retries never reached the bot
    assert env.wait_pushed("o_retry", 1) == ["收到：slow 账单\n您可以回复：\n· 查电费"]
    done = (
        select(func.count())
        .select_from(WeChatInbound)
        .where(WeChatInbound.dedup_key == "msg:777001", WeChatInbound.status == "pushed")
    )
    assert env.wait_count(done) == 1  # the message's outcome is final: nothing else will be pushed for it
    assert len(env.wechat.texts_to("o_retry")) == 1
    assert len(env.bot.sent) == 1


def test_push_survives_an_invalid_token_and_reports_45015_to_agents(env: Env) -> None:
    env.wechat.errors = [40001]
    env.answer(fixture("text", openid="o_tok", content="slow a"))
    assert env.wait_pushed("o_tok", 1)
    assert env.wechat.tokens_issued >= 2  # refetched after 40001
    env.wechat.errors = [45015]
    env.answer(fixture("text", openid="o_gone", content="slow b"))
    failed = select(func.count()).select_from(Message).where(Message.status == "failed", Message.direction == "out")
    assert env.wait_count(failed) == 1
    assert env.wechat.texts_to("o_gone") == []
    engine = make_engine(env.settings.effective_database_url)
    with make_session_factory(engine)() as session:
        row = session.scalar(select(WeChatInbound).where(WeChatInbound.status == "push_failed"))
        message = session.scalar(select(Message).where(Message.status == "failed"))
    engine.dispose()
    assert row is not None and "45015" in (row.error or "")
    assert message is not None and "45015" in (message.payload or {}).get("delivery_error", "")


def test_a_slow_wechat_api_is_retried(env: Env) -> None:
    env.wechat.errors = [45009]  # API rate limit: retried with back-off
    env.answer(fixture("text", openid="o_lim", content="slow c"))
    assert env.wait_pushed("o_lim", 1) == ["收到：slow c\n您可以回复：\n· 查电费"]


def test_safe_mode_refuses_plaintext_stale_timestamps_and_replayed_nonces(safe_env: Env) -> None:
    """The attacks of issue 19: a plaintext body signed only over the query, a timestamp from 2001, and one
    URL replayed with another sender and body."""
    xml = fixture("text", openid="o_victim", content="查电费")
    query, body = safe_env.sim.request(xml)
    plain = {k: v for k, v in query.items() if k not in ("encrypt_type", "msg_signature")}
    response = safe_env.http.post(f"{safe_env.url}/wechat", params=plain, content=xml.encode(), headers=XML_HEADERS)
    assert response.status_code == 403 and "plaintext" in response.json()["message"]
    stale_stamp = "978307200"  # 2001-01-01
    stale = {**query, "timestamp": stale_stamp, "signature": signature(TOKEN, stale_stamp, query["nonce"])}
    response = safe_env.http.post(f"{safe_env.url}/wechat", params=stale, content=body, headers=XML_HEADERS)
    assert response.status_code == 403 and "refused" in response.json()["message"]
    assert safe_env.bot.sent == []


def test_plain_mode_refuses_one_url_replayed_with_another_body(env: Env) -> None:
    query, body = env.sim.request(fixture("text", openid="o_first", content="你好"))
    first = env.http.post(f"{env.url}/wechat", params=query, content=body, headers=XML_HEADERS)
    assert first.status_code == 200
    retry = env.http.post(f"{env.url}/wechat", params=query, content=body, headers=XML_HEADERS)
    assert retry.status_code == 200  # WeChat's own retry: same URL, same body (deduplicated, answered once)
    forged = fixture("text", openid="o_someone_else", content="解绑户号")
    replay = env.http.post(f"{env.url}/wechat", params=query, content=forged.encode(), headers=XML_HEADERS)
    assert replay.status_code == 403 and "replay" in replay.json()["message"]
    assert [sender for sender, _, _ in env.bot.sent] == ["wechat:o_first"]


def test_a_message_left_processing_by_a_dead_process_is_taken_over_by_the_retry(env: Env) -> None:
    engine = make_engine(env.settings.effective_database_url)
    sessions = make_session_factory(engine)
    long_ago = utc_now() - dt.timedelta(seconds=60)
    with transaction(sessions) as session:  # claimed, then the process died before answering
        session.add(WeChatInbound(dedup_key="msg:888001", openid="o_orphan", msg_type="text", created_at=long_ago))
        session.add(WeChatInbound(dedup_key="msg:888002", openid="o_busy", msg_type="text"))  # being answered now
    engine.dispose()
    answer = env.answer(fixture("text", openid="o_orphan", content="电费怎么交", msg_id=888001))
    assert answer is not None and "收到：电费怎么交" in answer  # answered by the retry
    assert env.answer(fixture("text", openid="o_busy", content="在吗", msg_id=888002)) is None
    assert env.bot.entered.count("电费怎么交") == 1 and "在吗" not in env.bot.entered
    reclaimed = select(func.count()).where(
        WeChatInbound.dedup_key == "msg:888001", WeChatInbound.error == "reclaimed: left processing"
    )
    assert env.count(reclaimed) == 1
    # the retry after that is a plain duplicate again
    assert env.answer(fixture("text", openid="o_orphan", content="电费怎么交", msg_id=888001)) is None
    assert env.bot.entered.count("电费怎么交") == 1


@pytest.fixture
def fast_env(api_settings: Settings) -> Iterator[Env]:
    """The replayer every 0.2 s, taking over a message left stored after 3 s (RASA_TIMEOUT_S 1 s)."""
    yield from make_env(api_settings, aes=False, rasa_timeout_s=1.0, bot_replay_interval_s=0.2)


def test_a_retry_of_a_message_a_dead_process_stored_is_not_stored_or_answered_twice(fast_env: Env) -> None:
    """The process died after storing the message: the retry that takes over does not store it again (nor send
    it to the bot); it says what was stored for it and not delivered, and the replayer answers the rest (once)."""
    engine = make_engine(fast_env.settings.effective_database_url)
    sessions = make_session_factory(engine)
    store = ConversationStore(sessions)
    long_ago = utc_now() - dt.timedelta(seconds=60)
    with transaction(sessions) as session:  # claimed and the message stored; then the process died
        for key, openid in (("msg:888101", "o_unanswered"), ("msg:888102", "o_answered")):
            session.add(WeChatInbound(dedup_key=key, openid=openid, msg_type="text", created_at=long_ago))
    unanswered = store.store_inbound(
        "wechat", "o_unanswered", "电费怎么交", bot_text="电费怎么交", delivery="msg:888101"
    )
    answered = store.store_inbound("wechat", "o_answered", "停电了", bot_text="停电了", delivery="msg:888102")
    assert unanswered is not None and answered is not None
    reply = [OutMessage("收到：停电了", None)]  # this one died after the turn, before the reply reached WeChat
    store.store_outbound(answered.conversation_id, "bot", reply, Answered(answered.id, "greet", 0.9))
    engine.dispose()
    assert fast_env.answer(fixture("text", openid="o_unanswered", content="电费怎么交", msg_id=888101)) is None
    assert fast_env.answer(fixture("text", openid="o_answered", content="停电了", msg_id=888102)) == "收到：停电了"
    assert fast_env.bot.entered == []
    assert fast_env.wait_pushed("o_unanswered", 1) == ["收到：电费怎么交"]  # by the replayer, once the grace is over
    assert fast_env.bot.entered == ["电费怎么交"]
    for text in ("电费怎么交", "停电了"):
        assert fast_env.count(select(func.count()).select_from(Message).where(Message.text == text)) == 1
