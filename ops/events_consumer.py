"""`powerdesk events consume`: store the Rasa events RabbitMQ delivers (EVENT_BROKER=rabbitmq) in the
`events` table, the same table Rasa's SQL broker writes, so the reports read one place either way.

A message is acknowledged only after its row is committed (at-least-once; a crash redelivers). A body
that is not a JSON object, or larger than `MAX_EVENT_BYTES`, is rejected without requeueing (RabbitMQ
drops it or dead-letters it if the queue has a dead-letter exchange) and counted — it never stops the
consumer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from core.errors import UpstreamUnavailable
from core.models_reports import BrokerEvent

MAX_EVENT_BYTES = 1_000_000
RASA_EXCHANGE = "rasa-exchange"  # Rasa's pika broker publishes to this fanout exchange


@dataclass
class ConsumeStats:
    stored: int = 0
    rejected: int = 0


def parse_body(body: bytes) -> dict[str, Any] | None:
    """The event as a dict, or None when the body is not an acceptable event."""
    if len(body) > MAX_EVENT_BYTES:
        return None
    try:
        event = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return event if isinstance(event, dict) else None


def consume(
    sessions: sessionmaker[Session],
    url: str,
    queue: str,
    *,
    max_messages: int | None = None,
    idle_timeout_s: float | None = None,
    batch: int = 100,
    on_progress: Callable[[ConsumeStats], None] | None = None,
) -> ConsumeStats:
    """Consume until `max_messages` were handled, or no message came for `idle_timeout_s` (None: forever)."""
    import pika
    import pika.exceptions

    stats = ConsumeStats()
    try:
        connection = pika.BlockingConnection(pika.URLParameters(url))
    except pika.exceptions.AMQPError as exc:
        raise UpstreamUnavailable(
            f"cannot connect to RabbitMQ at {_safe(url)}: {exc!r}; start RabbitMQ or set RABBITMQ_URL"
        ) from exc
    try:
        channel = connection.channel()
        # the same declarations as Rasa's pika broker, so either side may start first
        channel.exchange_declare(RASA_EXCHANGE, exchange_type="fanout", durable=False)
        channel.queue_declare(queue, durable=True)
        channel.queue_bind(queue, RASA_EXCHANGE, "")
        channel.basic_qos(prefetch_count=batch)
        pending: list[tuple[int, dict[str, Any], str]] = []

        def flush() -> None:
            if not pending:
                return
            with sessions() as session, session.begin():
                session.execute(
                    insert(BrokerEvent),
                    [
                        {
                            "sender_id": str(e.get("sender_id"))[:255] if e.get("sender_id") is not None else None,
                            "data": raw,
                        }
                        for _tag, e, raw in pending
                    ],
                )
            channel.basic_ack(pending[-1][0], multiple=True)
            stats.stored += len(pending)
            pending.clear()
            if on_progress:
                on_progress(stats)

        for method, _props, body in channel.consume(queue, inactivity_timeout=min(idle_timeout_s or 1.0, 1.0)):
            if method is None:  # a quiet second: store what we have, maybe stop
                flush()
                if idle_timeout_s is not None:
                    idle_timeout_s -= 1.0
                    if idle_timeout_s <= 0:
                        break
                continue
            event = parse_body(body)
            if event is None:
                flush()
                channel.basic_reject(method.delivery_tag, requeue=False)
                stats.rejected += 1
            else:
                pending.append((method.delivery_tag, event, body.decode("utf-8")))
                if len(pending) >= batch:
                    flush()
            if max_messages is not None and stats.stored + stats.rejected + len(pending) >= max_messages:
                break
        flush()
        channel.cancel()
    finally:
        if connection.is_open:
            connection.close()
    return stats


def _safe(url: str) -> str:
    import httpx

    return str(httpx.URL(url).copy_with(password=None)) if "@" in url else url
