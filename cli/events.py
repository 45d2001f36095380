"""`powerdesk events ...`: Rasa's tracker events in the database (issue 8)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from core.settings import get_settings

events_app = typer.Typer(help="Rasa's events (event broker → database).", no_args_is_help=True)
err = Console(stderr=True)


@events_app.command("consume")
def consume_events(
    max_messages: Annotated[int | None, typer.Option(min=1, help="stop after this many messages")] = None,
    idle_timeout: Annotated[float | None, typer.Option(min=1, help="stop after this many quiet seconds")] = None,
) -> None:
    """Store the events Rasa publishes to RabbitMQ (EVENT_BROKER=rabbitmq) in the `events` table."""
    from core.db import make_engine, make_session_factory
    from ops.events_consumer import consume

    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    try:
        stats = consume(
            make_session_factory(engine),
            settings.rabbitmq_url,
            settings.rabbitmq_queue,
            max_messages=max_messages,
            idle_timeout_s=idle_timeout,
        )
    finally:
        engine.dispose()
    err.print(f"{stats.stored} events stored, {stats.rejected} malformed messages rejected")
