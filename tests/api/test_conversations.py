"""Nothing lost across crashes (issue 19): a message an api process stored and then died on is taken over by the
replayer after the grace period and answered once, from Rasa's tracker when Rasa had already taken the turn.
On SQLite and PostgreSQL (two replayers race for the claim in the database)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, update
from sqlalchemy.orm import ORMExecuteState

from api.app import create_app
from api.bot_client import BotTurn
from api.channels import Outbound, Recipient
from api.conversations import ConversationService
from core.db import make_engine, make_session_factory, transaction
from core.errors import UpstreamUnavailable
from core.identity import mask_personal, sender_id
from core.models import Conversation, Message
from core.settings import Settings
from services.conversation_log import StoredMessage
from tests.api.fakes import FakeBot
from tests.api.stored import stored_rows

pytestmark = pytest.mark.db


class RecordingChannel:
    """The api channel, with its pushes recorded."""

    name = "api"
    rich = False

    def __init__(self) -> None:
        self.pushed: list[tuple[str, list[str]]] = []

    async def deliver(self, to: Recipient, messages: list[Outbound]) -> None:
        self.pushed.append((to.external_user_id, [m.text for m in messages]))


@pytest.fixture
def shared_settings(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    async def idle(self: ConversationService, interval_s: float = 2.0) -> None:
        await asyncio.Event().wait()

    # the tests run the replayer's passes themselves (the app's own first pass would race with them)
    monkeypatch.setattr(ConversationService, "run_replayer", idle)
    return Settings(
        powerdesk_env="test",
        var_dir=tmp_path,
        database_url=db_url,
        action_server_url="http://127.0.0.1:9",
        _env_file=None,
    )


@pytest.fixture
def client(shared_settings: Settings, bot: FakeBot) -> Iterator[TestClient]:
    with TestClient(create_app(shared_settings, bot=bot)) as test_client:
        yield test_client


@pytest.fixture
def pushed(client: TestClient) -> RecordingChannel:
    channel = RecordingChannel()
    client.app.state.conversations.handoffs.channels.register(channel)  # type: ignore[attr-defined]
    return channel


def _replay(client: TestClient) -> int:
    return int(client.portal.call(client.app.state.conversations.replay_all))  # type: ignore[attr-defined]


def _age(settings: Settings, message_id: int, seconds: float) -> None:
    engine = make_engine(settings.effective_database_url)
    with transaction(make_session_factory(engine)) as session:
        stored_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=seconds)
        session.execute(update(Message).where(Message.id == message_id).values(created_at=stored_at))
    engine.dispose()


def _set_state(settings: Settings, conversation_id: int, state: str) -> None:
    engine = make_engine(settings.effective_database_url)
    with transaction(make_session_factory(engine)) as session:
        session.execute(update(Conversation).where(Conversation.id == conversation_id).values(state=state))
    engine.dispose()


def _died_after_storing(client: TestClient, user: str, text: str, age_s: float = 3600) -> StoredMessage:
    """What an api process does first with a customer's message (`ConversationService.handle`), and then it
    died; `age_s` seconds ago."""
    store = client.app.state.store  # type: ignore[attr-defined]
    inbound = store.store_inbound("api", user, mask_personal(text), bot_text=text)
    assert inbound is not None
    _age(client.app.state.settings, inbound.id, age_s)  # type: ignore[attr-defined]
    return inbound


def _inbound(settings: Settings, message_id: int) -> Message:
    return next(m for m in stored_rows(settings, Message) if m.id == message_id)


def _replies(settings: Settings, conversation_id: int) -> list[str]:
    return [
        m.text for m in stored_rows(settings, Message) if m.conversation_id == conversation_id and m.direction == "out"
    ]


def test_a_message_rasa_never_saw_is_sent_once_in_order_with_the_kept_ones(
    client: TestClient, shared_settings: Settings, bot: FakeBot, pushed: RecordingChannel
) -> None:
    first = _died_after_storing(client, "u-dead", "绑定户号3301234567")
    later = client.app.state.store.store_inbound("api", "u-dead", "停电了", bot_text="停电了")  # type: ignore[attr-defined]
    client.app.state.store.mark_pending(later.id, "停电了")  # type: ignore[attr-defined]  # Rasa was away then
    assert _replay(client) == 2
    # the bot got the text as typed (the transcript is masked), in order, each once, with the message's id
    assert [(text, meta["message_id"]) for _, text, meta in bot.sent] == [
        ("绑定户号3301234567", first.id),
        ("停电了", later.id),
    ]
    assert bot.tracker_reads == ["api:u-dead"]  # asked about the one left stored only
    answered = _inbound(shared_settings, first.id)
    assert answered.status == "processed" and answered.intent == "greet"
    assert answered.text == "绑定户号3301****67" and answered.payload is None  # the text kept for the bot is gone
    assert _replies(shared_settings, first.conversation_id) == ["收到：绑定户号3301234567", "收到：停电了"]
    assert pushed.pushed[0] == ("u-dead", ["收到：绑定户号3301234567"])  # on the customer's channel
    assert pushed.pushed[-1][1][-1] == "收到：停电了"
    assert _replay(client) == 0 and len(bot.sent) == 2


def test_a_message_rasa_had_answered_is_answered_from_its_tracker_without_sending_it_again(
    client: TestClient, shared_settings: Settings, bot: FakeBot, pushed: RecordingChannel
) -> None:
    inbound = _died_after_storing(client, "u-late", "电费怎么交")
    # the process's call reached Rasa, which took the turn; the process died before storing the replies
    metadata = {"conversation_id": inbound.conversation_id, "channel": "api", "message_id": inbound.id}
    client.portal.call(bot.send, sender_id("api", "u-late"), "电费怎么交", metadata)
    bot.sent.clear()
    assert _replay(client) == 1
    assert bot.sent == []  # Rasa did not see the message twice
    answered = _inbound(shared_settings, inbound.id)
    assert (answered.status, answered.intent, answered.confidence) == ("processed", "greet", 0.91)
    replies = [m for m in stored_rows(shared_settings, Message) if m.direction == "out"]
    assert [(m.sender, m.text) for m in replies] == [("bot", "收到：电费怎么交")]
    assert replies[0].payload == {"buttons": [{"title": "查电费", "payload": "/query_bill"}], "custom": None}
    assert pushed.pushed == [("u-late", ["收到：电费怎么交"])]
    assert _replay(client) == 0 and bot.sent == [] and len(pushed.pushed) == 1


def test_a_message_within_the_grace_period_is_left_to_its_process(
    client: TestClient, shared_settings: Settings, bot: FakeBot
) -> None:
    grace = client.app.state.conversations.reclaim_after_s  # type: ignore[attr-defined]
    assert grace == shared_settings.stored_reclaim_after_s > shared_settings.rasa_timeout_s
    inbound = _died_after_storing(client, "u-slow", "你好", age_s=grace - 5)  # its turn may still be under way
    assert _replay(client) == 0
    assert bot.sent == [] and bot.tracker_reads == []
    assert _inbound(shared_settings, inbound.id).status == "stored"
    _age(shared_settings, inbound.id, grace + 5)
    assert _replay(client) == 1 and len(bot.sent) == 1


def _claimed(settings: Settings, message_id: int, seconds_ago: float) -> None:
    """A replayer claimed the message `seconds_ago` (and its process died then)."""
    engine = make_engine(settings.effective_database_url)
    with transaction(make_session_factory(engine)) as session:
        at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=seconds_ago)
        session.execute(update(Message).where(Message.id == message_id).values(status="replaying", claimed_at=at))
    engine.dispose()


def test_a_claim_left_by_a_replayer_that_died_is_taken_over_after_the_grace_period(
    client: TestClient, shared_settings: Settings, bot: FakeBot, pushed: RecordingChannel
) -> None:
    grace = client.app.state.conversations.reclaim_after_s  # type: ignore[attr-defined]
    first = _died_after_storing(client, "u-claim", "停电了")
    _claimed(shared_settings, first.id, grace - 5)  # claimed a moment ago: its replayer may be at work
    later = client.app.state.store.store_inbound("api", "u-claim", "多久来电", bot_text="多久来电")  # type: ignore[attr-defined]
    client.app.state.store.mark_pending(later.id, "多久来电")  # type: ignore[attr-defined]
    assert _replay(client) == 0 and bot.sent == []  # the later message waits behind the claimed one
    _claimed(shared_settings, first.id, grace + 5)  # … whose replayer died
    assert _replay(client) == 2
    assert bot.tracker_reads == ["api:u-claim"]  # its turn may have reached Rasa: the tracker is read first
    assert [text for _, text, _ in bot.sent] == ["停电了", "多久来电"]  # in order, each once
    assert [_inbound(shared_settings, m.id).status for m in (first, later)] == ["processed", "processed"]
    assert _replay(client) == 0 and len(bot.sent) == 2


def test_two_replayers_racing_for_it_answer_it_once(shared_settings: Settings, bot: FakeBot) -> None:
    """Two api processes (two apps on one database): both find the message before either claims it."""
    both_looked = threading.Barrier(2, timeout=20)
    claims: list[int] = []

    def claim_after_both_looked(state: ORMExecuteState) -> None:
        if state.is_update and len(claims) < 2:  # each one's claim (stored → replaying) waits for the other's look
            claims.append(threading.get_ident())
            both_looked.wait()

    with ExitStack() as stack:
        a, b = (stack.enter_context(TestClient(create_app(shared_settings, bot=bot))) for _ in range(2))
        inbound = _died_after_storing(a, "u-race", "查电费")
        for app_client in (a, b):
            event.listen(app_client.app.state.sessions, "do_orm_execute", claim_after_both_looked)  # type: ignore[attr-defined]
        with ThreadPoolExecutor(2) as pool:
            answered = list(pool.map(_replay, [a, b]))
    assert len(set(claims)) == 2  # both tried to claim it
    assert sorted(answered) == [0, 1]
    assert [text for _, text, _ in bot.sent] == ["查电费"] and bot.tracker_reads == ["api:u-race"]
    assert _replies(shared_settings, inbound.conversation_id) == ["收到：查电费"]
    assert _inbound(shared_settings, inbound.id).status == "processed"


def test_rasa_down_leaves_it_for_a_later_pass(
    client: TestClient, shared_settings: Settings, bot: FakeBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbound = _died_after_storing(client, "u-down", "13812345678")
    bot.down = True
    assert _replay(client) == 0 and bot.tracker_reads == []
    bot.down = False

    async def unreadable(sender: str, message_id: int) -> BotTurn | None:
        raise UpstreamUnavailable("Rasa went away", unreached=True)

    monkeypatch.setattr(bot, "find_turn", unreadable)  # up for /status, gone when its tracker is read
    assert _replay(client) == 0 and bot.sent == []
    left = _inbound(shared_settings, inbound.id)
    assert left.status == "stored" and left.payload == {"bot_text": "13812345678"}  # as it was
    monkeypatch.undo()
    assert _replay(client) == 1
    assert [text for _, text, _ in bot.sent] == ["13812345678"]
    assert _inbound(shared_settings, inbound.id).status == "processed"


def test_messages_of_a_person_are_not_sent_to_the_bot(
    client: TestClient, shared_settings: Settings, bot: FakeBot
) -> None:
    left = _died_after_storing(client, "u-agent", "在吗")
    _set_state(shared_settings, left.conversation_id, "waiting_agent")  # a person took over meanwhile
    assert _replay(client) == 0
    theirs = _inbound(shared_settings, left.id)
    assert theirs.status == "stored" and theirs.payload is None  # the agent's to read, masked
    # a message the customer wrote to a person stays theirs when the conversation goes back to the bot
    to_agent = client.app.state.store.store_inbound("api", "u-agent", "我要投诉", bot_text="我要投诉")  # type: ignore[attr-defined]
    assert to_agent.state == "waiting_agent"
    _age(shared_settings, to_agent.id, 3600)
    _set_state(shared_settings, left.conversation_id, "bot")
    assert _replay(client) == 0
    assert bot.sent == [] and bot.tracker_reads == []


def test_a_message_keeps_the_text_for_the_bot_only_on_its_way_to_it(
    client: TestClient, shared_settings: Settings, bot: FakeBot
) -> None:
    in_flight: list[tuple[str, Any]] = []
    answer = bot.send

    async def send(sender: str, text: str, metadata: dict[str, Any]) -> BotTurn:
        row = _inbound(shared_settings, metadata["message_id"])
        in_flight.append((row.status, row.payload))
        return await answer(sender, text, metadata)

    bot.send = send  # type: ignore[method-assign]
    for text in ("我的手机13812345678", "/query_bill", "/restart"):
        response = client.post("/api/v1/messages", json={"user_id": "u-kept", "text": text})
        assert response.status_code == 200, response.text
    assert in_flight == [
        ("stored", {"bot_text": "我的手机13812345678"}),
        ("stored", {"bot_text": "/query_bill"}),  # a button the last reply offered: a command
        ("stored", {"bot_text": "／restart"}),  # typed: text
    ]
    rows = [m for m in stored_rows(shared_settings, Message) if m.direction == "in"]
    assert [(m.status, m.payload) for m in rows] == [("processed", None)] * 3
    assert [meta["message_id"] for _, _, meta in bot.sent] == [m.id for m in rows]
