"""The scaled profile on the real stack: two Rasa servers sharing a SQL tracker store (PostgreSQL) and a Redis
lock store, two api workers. A customer half-way through a form keeps it when the Rasa server serving them is
killed: the api fails over to the other, which knows the conversation."""

from __future__ import annotations

import os
import signal
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from core.models import Conversation, Message
from ops.runner import with_profile
from tests.conftest import PG_ADMIN_URL, _pg_available
from tests.e2e.conftest import Stack, running_stack, seed_stack_database, stack_settings
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e
REDIS_URL = os.environ.get("POWERDESK_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not _pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    root: Path = tmp_path_factory.mktemp("scaled")
    name = f"powerdesk_scaled_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    settings = with_profile(stack_settings(root, url, 100, redis_url=REDIS_URL), "scaled")
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
