"""What Rasa is given to run: its environment (tokens, paths, the event broker's and the stores' URLs, the
endpoints file that names them), and the tracker store's database created when it is missing."""

from __future__ import annotations

import os

import httpx

from core.errors import ConfigError
from core.settings import REPO_ROOT, Settings


def rasa_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    env.pop("DATABASE_URL", None)  # trackers stay in memory; the event broker gets EVENT_BROKER_URL (broker_env)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        ACTION_SERVER_URL=settings.action_server_url,
        ACTION_SERVER_TOKEN=settings.action_server_token,  # bot/endpoints*.yml send it to the action server
        RASA_TOKEN=settings.rasa_token,  # bot/credentials.yml: the PowerDesk channel checks it
        # bot/ (the channel, the brokers) and the repository root (bot/brokers uses the pure core.identity)
        PYTHONPATH=os.pathsep.join((str(settings.bot_dir), str(REPO_ROOT))),
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    if settings.rasa_replicas > 1:  # servers sharing a machine: one TensorFlow thread each (docs/outages.md, storm)
        for name in ("TF_INTRA_OP_PARALLELISM_THREADS", "TF_INTER_OP_PARALLELISM_THREADS"):
            env.setdefault(name, "1")  # an operator's own setting wins
    env.update(broker_env(settings))
    env.update(store_env(settings))
    return env


def tracker_store_url(settings: Settings) -> str:
    """TRACKER_STORE_URL, or a database named <DATABASE_URL's>_tracker on the same server (Rasa names its table
    `events`, as PowerDesk's event broker does: they cannot share a database). A psycopg2 URL, for Rasa."""
    url = settings.tracker_store_url or _sibling_database(settings.effective_database_url, "_tracker")
    return url.replace("postgresql+psycopg://", "postgresql://")


def _sibling_database(url: str, suffix: str) -> str:
    base, _, rest = url.rpartition("/")
    name, sep, query = rest.partition("?")
    return f"{base}/{name}{suffix}{sep}{query}"


def store_env(settings: Settings) -> dict[str, str]:
    """What bot/endpoints-scaled*.yml substitute: the SQL tracker store and the Redis lock store."""
    if settings.tracker_store != "sql":
        return {}
    redis = httpx.URL(settings.redis_url)
    return {
        "TRACKER_STORE_URL": tracker_store_url(settings),
        "LOCK_STORE_HOST": redis.host or "127.0.0.1",
        "LOCK_STORE_PORT": str(redis.port or 6379),
        "LOCK_STORE_DB": redis.path.strip("/") or "0",
        "LOCK_STORE_PASSWORD": redis.password or "",
    }


def ensure_tracker_database(settings: Settings) -> None:
    """Create the tracker store's database when it does not exist (Rasa makes its tables, not the database)."""
    if settings.tracker_store != "sql":
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(tracker_store_url(settings).replace("postgresql://", "postgresql+psycopg://", 1))
    name = url.database
    if not name or not name.replace("_", "").isalnum():
        raise ConfigError(f"the tracker store's database name {name!r} must be letters, digits and _")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def broker_env(settings: Settings) -> dict[str, str]:
    """What bot/endpoints-sql.yml and bot/endpoints-rabbitmq.yml substitute (Rasa's own SQLAlchemy 1.4 and
    psycopg2 read the URL, so a `+psycopg` driver is dropped)."""
    url = settings.effective_database_url.replace("postgresql+psycopg://", "postgresql://")
    amqp = httpx.URL(settings.rabbitmq_url)
    return {
        "EVENT_BROKER_URL": url,
        "RABBITMQ_URL": settings.rabbitmq_url,
        "RABBITMQ_USERNAME": amqp.username or "guest",
        "RABBITMQ_PASSWORD": amqp.password or "guest",
        "RABBITMQ_QUEUE": settings.rabbitmq_queue,
    }


def endpoints_file(settings: Settings) -> str:
    if settings.tracker_store == "sql":  # shared trackers (several Rasa servers): bot/endpoints-scaled*.yml
        return "endpoints-scaled-rabbitmq.yml" if settings.event_broker == "rabbitmq" else "endpoints-scaled.yml"
    return {"sql": "endpoints-sql.yml", "rabbitmq": "endpoints-rabbitmq.yml"}.get(
        settings.event_broker, "endpoints.yml"
    )
