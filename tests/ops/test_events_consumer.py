"""Rasa's events reach the database: through Rasa 3.6's own SQL broker (configured by bot/endpoints-sql.yml,
on SQLite and PostgreSQL) and through its pika broker, RabbitMQ and `powerdesk events consume`.
Rasa's broker classes run in the Rasa environment (a subprocess), against the real services."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from analytics.satisfaction.events import events_by_day, events_frame
from core.db import make_engine, make_session_factory
from core.models_reports import BrokerEvent
from core.settings import REPO_ROOT, Settings
from ops.events_consumer import RASA_EXCHANGE, consume, parse_body
from ops.rasa_env import endpoints_file, rasa_env
from ops.runner import with_internal_tokens
from services.satisfaction import load_events

AMQP = os.environ.get("POWERDESK_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/%2F")
RASA_PYTHON = next(
    (
        p
        for p in (REPO_ROOT / ".venv-rasa/bin/python", Path(sys.executable).parents[2] / ".venv-rasa/bin/python")
        if p.exists()
    ),
    None,
)
PUBLISH = """
import asyncio, sys, time
from rasa.core.brokers.broker import EventBroker
from rasa.core.utils import AvailableEndpoints
async def main():
    endpoints = AvailableEndpoints.read_endpoints(sys.argv[1])
    broker = await EventBroker.create(endpoints.event_broker)
    print("BROKER=" + type(broker).__name__, flush=True)
    for i in range(int(sys.argv[3])):
        broker.publish({"sender_id": sys.argv[2], "event": "user", "timestamp": time.time(), "text": f"停电了{i} 户号3301234567",
                        "parse_data": {"intent": {"name": "report_outage", "confidence": 0.93}}})
    broker.publish({"sender_id": sys.argv[2], "event": "action", "timestamp": time.time(),
                    "name": "action_default_fallback"})
    await asyncio.sleep(0.5)
    await broker.close()
asyncio.run(main())
"""


def publish_with_rasa(settings: Settings, sender: str, n: int) -> str:
    if RASA_PYTHON is None:
        pytest.skip("the Rasa environment (.venv-rasa) is not installed; `make setup` creates it")
    # what `powerdesk run` gives Rasa: the broker's URLs, the tokens the endpoints name, bot/ and core on the path
    env = {**rasa_env(with_internal_tokens(settings)), "ACTION_SERVER_URL": "http://127.0.0.1:9"}
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", PUBLISH, str(REPO_ROOT / "bot" / endpoints_file(settings)), sender, str(n)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return next(line[7:] for line in result.stdout.splitlines() if line.startswith("BROKER="))


@pytest.mark.db
def test_rasa_sql_broker_writes_into_our_events_table(db_url: str, tmp_path: Path) -> None:
    settings = Settings(powerdesk_env="test", var_dir=tmp_path, database_url=db_url, _env_file=None)
    assert endpoints_file(settings) == "endpoints-sql.yml"
    sender = f"widget:{uuid.uuid4().hex[:8]}"
    assert publish_with_rasa(settings, sender, 3) == "MaskingSQLEventBroker"  # bot/brokers: Rasa's, masked
    engine = make_engine(db_url)
    frame, skipped = events_frame(load_events(engine, sender_prefix=sender))
    with engine.connect() as connection:
        stored = " ".join(connection.execute(text("SELECT data FROM events")).scalars())
    engine.dispose()
    assert "3301234567" not in stored and "3301****67" in stored
    assert skipped == 0 and len(frame) == 4
    assert frame["intent"].dropna().tolist() == ["report_outage"] * 3
    day = events_by_day(frame).iloc[0]
    assert (day["user_turns"], day["fallback_actions"]) == (3, 1) and day["mean_confidence"] == pytest.approx(0.93)


def _rabbit_or_skip() -> None:
    import pika

    try:
        pika.BlockingConnection(pika.URLParameters(AMQP)).close()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"RabbitMQ is not reachable at {AMQP}; CI machines of this project run it")
        pytest.skip(f"RabbitMQ not reachable: {exc!r}")


def _delete_queue(queue: str) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(AMQP))
    connection.channel().queue_delete(queue)
    connection.close()


@pytest.mark.db
def test_rasa_pika_broker_through_rabbitmq_and_the_consumer(tmp_path: Path) -> None:
    _rabbit_or_skip()
    url = f"sqlite:///{tmp_path / 'ev.db'}"
    from core.migrate import upgrade

    upgrade(url)
    queue = f"pd_test_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        powerdesk_env="test",
        var_dir=tmp_path,
        database_url=url,
        event_broker="rabbitmq",
        rabbitmq_url=AMQP,
        rabbitmq_queue=queue,
        _env_file=None,
    )
    try:
        assert publish_with_rasa(settings, "wechat:o-test", 2) == "MaskingPikaEventBroker"
        engine = make_engine(url)
        stats = consume(make_session_factory(engine), AMQP, queue, max_messages=3, idle_timeout_s=10)
        assert (stats.stored, stats.rejected) == (3, 0)
        frame, _ = events_frame(load_events(engine))
        assert frame["event"].tolist() == ["user", "user", "action"] and set(frame["sender_id"]) == {"wechat:o-test"}
        engine.dispose()
    finally:
        _delete_queue(queue)


@pytest.mark.db
def test_consumer_rejects_malformed_messages_and_keeps_going(tmp_path: Path) -> None:
    _rabbit_or_skip()
    import pika

    url = f"sqlite:///{tmp_path / 'ev.db'}"
    from core.migrate import upgrade

    upgrade(url)
    queue = f"pd_test_{uuid.uuid4().hex[:8]}"
    connection = pika.BlockingConnection(pika.URLParameters(AMQP))
    channel = connection.channel()
    channel.exchange_declare(RASA_EXCHANGE, exchange_type="fanout", durable=False)
    channel.queue_declare(queue, durable=True)
    bodies = [
        b"not json",
        b"[1, 2]",
        "\u00ff".encode("latin-1"),
        b"x" * 1_000_001,
        json.dumps({"sender_id": "api:a" * 100, "event": "user", "timestamp": time.time()}).encode(),
        json.dumps({"sender_id": None, "event": "session_started", "timestamp": "soon"}).encode(),
    ]
    for body in bodies:
        channel.basic_publish("", queue, body)
    connection.close()
    try:
        engine = make_engine(url)
        stats = consume(make_session_factory(engine), AMQP, queue, idle_timeout_s=2, batch=2)
        assert (stats.stored, stats.rejected) == (2, 4)
        with make_session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(BrokerEvent)) == 2
            assert max(len(s or "") for s in session.scalars(select(BrokerEvent.sender_id))) == 255
        frame, skipped = events_frame(load_events(engine))
        assert len(frame) == 1 and skipped == 1  # a timestamp of "soon" is stored but not readable as an event
        engine.dispose()
    finally:
        _delete_queue(queue)


def test_parse_body_limits() -> None:
    assert parse_body(b'{"event": "user"}') == {"event": "user"}
    assert parse_body(b"null") is None and parse_body(b"\xff") is None and parse_body(b"{" * 2_000_000) is None


def test_unreachable_rabbitmq_says_what_to_do(tmp_path: Path) -> None:
    from core.errors import UpstreamUnavailable

    url = f"sqlite:///{tmp_path / 'ev.db'}"
    engine = make_engine(url)
    with pytest.raises(UpstreamUnavailable, match="RABBITMQ_URL"):
        consume(make_session_factory(engine), "amqp://guest:secret@127.0.0.1:9/%2F", "q", max_messages=1)
    engine.dispose()
