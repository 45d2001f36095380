"""The scaled profile on the real stack: two Rasa servers sharing a SQL tracker store (PostgreSQL) and a Redis
lock store, two api workers. A customer half-way through a form keeps it when the Rasa server serving them is
killed: the api fails over to the other, which knows the conversation."""

from __future__ import annotations

import os
import signal
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from core.models import Conversation, Message
from ops.runner import with_profile
from tests.conftest import PG_ADMIN_URL, _pg_available
from tests.e2e.conftest import Stack, running_stack, seed_stack_database, stack_settings
from tests.tcp_proxy import TcpProxy, tcp_proxy
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e
REDIS_URL = os.environ.get("POWERDESK_TEST_REDIS", "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class Proxies:
    postgres: TcpProxy
    redis: TcpProxy


@pytest.fixture(scope="module")
def proxies() -> Iterator[Proxies]:
    """The stack reaches PostgreSQL and Redis through proxies the tests cut (the machine's servers stay up)."""
    redis_port = int(REDIS_URL.rsplit(":", 1)[1].split("/")[0])
    with tcp_proxy(5432) as postgres, tcp_proxy(redis_port) as redis:
        yield Proxies(postgres, redis)


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory, proxies: Proxies) -> Iterator[Stack]:
    if not _pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    root: Path = tmp_path_factory.mktemp("scaled")
    name = f"powerdesk_scaled_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0].replace(":5432", f":{proxies.postgres.port}") + f"/{name}"
    redis_url = f"redis://127.0.0.1:{proxies.redis.port}/0"
    settings = with_profile(stack_settings(root, url, 100, redis_url=redis_url), "scaled")
    assert settings.rasa_replicas == 2 and settings.api_workers == 2
    try:
        seed_stack_database(settings)
        with running_stack(settings, root) as running:
            yield running
    finally:
        with admin.connect() as conn:
            for db in (name, f"{name}_tracker"):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def say(stack: Stack, user: str, message: str) -> str:
    response = httpx.post(f"{stack.base_url}/api/v1/messages", json={"user_id": user, "text": message}, timeout=60)
    assert response.status_code == 200, response.text
    return "\n".join(r["text"] for r in response.json()["replies"])


def test_a_form_survives_the_loss_of_its_rasa_server(scaled: Stack) -> None:
    def both_up() -> bool:
        return list(httpx.get(f"{scaled.base_url}/readyz", timeout=10).json()["rasa_replicas"].values()) == [True, True]

    # ready as soon as one Rasa server is (the other's customers fail over to it); here both must be up
    assert wait_until(both_up, 240, 1.0), (scaled.log_dir / "rasa-2.log").read_text(errors="replace")[-3000:]
    user = "scaled-customer-1"
    customer = scaled.customer("residential")
    assert "户号" in say(scaled, user, "我想查一下上个月用了多少电")
    serving = zlib.crc32(f"api:{user}".encode()) % 2  # the api's routing (api.bot_client.ReplicatedRasa)
    pid = scaled.supervisor.pid("rasa" if serving == 0 else "rasa-2")
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    # (a turn in flight when its server dies may have acted, and goes to a person as with one server)
    status = f"{scaled.base_url}/readyz"
    assert wait_until(lambda: False in httpx.get(status, timeout=10).json()["rasa_replicas"].values(), 30, 0.2)
    # the other server continues the form from the shared tracker: the account number, then the phone digits
    assert "后4位" in say(scaled, user, customer.account_no)
    replies = say(scaled, user, customer.phone[-4:])
    assert "绑定成功" in replies and "千瓦时" in replies  # the question asked before binding is answered
    with scaled.sessions()() as session:
        conversation = session.scalars(select(Conversation).where(Conversation.external_user_id == user)).one()
        inbound = session.scalars(
            select(Message).where(Message.conversation_id == conversation.id, Message.direction == "in")
        ).all()
        assert [m.status for m in inbound] == ["processed"] * 3  # each reached one Rasa server once
    assert wait_until(both_up, 240, 1.0), "the killed Rasa server did not come back"


def _inbound(stack: Stack, user: str) -> list[Message]:
    with stack.sessions()() as session:
        return list(
            session.scalars(
                select(Message)
                .join(Conversation)
                .where(Conversation.external_user_id == user, Message.direction == "in")
                .order_by(Message.id)
            )
        )


def test_redis_cut_keeps_the_message_and_the_bot_answers_it_once_back(scaled: Stack, proxies: Proxies) -> None:
    user = "scaled-redis-1"
    proxies.redis.cut()
    try:
        answer = httpx.post(
            f"{scaled.base_url}/api/v1/messages", json={"user_id": user, "text": "电费怎么交"}, timeout=60
        )
        # Rasa cannot take its lock: nothing processed, the message is kept and the customer told
        assert answer.status_code == 200 and "恢复后会立即按顺序回复" in answer.json()["replies"][0]["text"]
        assert [m.status for m in _inbound(scaled, user)] == ["pending"]
    finally:
        proxies.redis.restore()
        started = time.monotonic()
    assert wait_until(lambda: [m.status for m in _inbound(scaled, user)] == ["processed"], 60, 0.5)
    print(f"Redis back: the kept message answered by the bot after {time.monotonic() - started:.1f} s")
    with scaled.sessions()() as session:
        senders = session.scalars(
            select(Message.sender)
            .join(Conversation)
            .where(Conversation.external_user_id == user, Message.direction == "out")
        ).all()
    assert senders[0] == "system" and "bot" in senders and "agent" not in senders


def test_postgres_cut_refuses_with_a_clear_error_and_stores_once_back(scaled: Stack, proxies: Proxies) -> None:
    user = "scaled-pg-1"
    body = {"user_id": user, "text": "电价是多少"}
    proxies.postgres.cut()
    try:
        refused = httpx.post(f"{scaled.base_url}/api/v1/messages", json=body, timeout=60)
        assert refused.status_code == 503 and refused.json()["error"] == "database_unavailable"
        assert refused.headers["retry-after"] == "5"
        ready = httpx.get(f"{scaled.base_url}/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json()["checks"]["database"] is False
    finally:
        proxies.postgres.restore()
        started = time.monotonic()

    def accepted() -> bool:  # the client sends again, as told
        return httpx.post(f"{scaled.base_url}/api/v1/messages", json=body, timeout=60).status_code == 200

    assert wait_until(accepted, 120, 1.0), "the api did not recover from the database outage"
    print(f"PostgreSQL back: messages accepted again after {time.monotonic() - started:.1f} s")
    # the refused attempt stored nothing; the accepted one is answered (at once, or kept until Rasa's own
    # database connections are back)
    assert wait_until(lambda: [m.status for m in _inbound(scaled, user)] == ["processed"], 60, 0.5)
