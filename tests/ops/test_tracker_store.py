"""The scaled profile's tracker store (bot/stores): Rasa loads it from bot/endpoints-scaled.yml, keeps every event
once across turns and sessions, reads back what it wrote, serves many customers at once, and publishes each new
event once to the event broker after it is stored. Runs in the Rasa environment (a subprocess), against the real
PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.db import make_engine
from core.migrate import upgrade
from core.settings import REPO_ROOT, Settings
from ops.rasa_env import ensure_tracker_database, rasa_env, tracker_store_url
from ops.runner import with_internal_tokens, with_profile
from tests.ops.test_events_consumer import RASA_PYTHON

TURNS = """
import asyncio, json, sys, time
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

def turn(tracker, text):
    tracker.update(UserUttered(text, {"name": "report_outage", "confidence": 0.9}, timestamp=time.time()))
    tracker.update(ActionExecuted("action_understand", timestamp=time.time()))
    tracker.update(BotUttered("已收到", timestamp=time.time()))
    tracker.update(ActionExecuted("action_listen", timestamp=time.time()))

async def one_customer(store, sender):
    tracker = await store.get_or_create_tracker(sender)
    turn(tracker, "停电了")
    await store.save(tracker)
    again = await store.retrieve(sender)
    turn(again, "多久能来电")
    again.update(SlotSet("account_no", "3301234567", timestamp=time.time()))
    await store.save(again)
    return again

async def main():
    endpoints = AvailableEndpoints.read_endpoints(sys.argv[1])
    broker = await EventBroker.create(endpoints.event_broker)
    domain = Domain.load(sys.argv[2])
    store = TrackerStore.create(endpoints.tracker_store, domain=domain, event_broker=broker)
    prefix = sys.argv[3]
    first = await one_customer(store, prefix + "-0")
    read = await store.retrieve(prefix + "-0")
    slot = read.get_slot("account_no")
    # a new session: the latest session's tracker starts there, the full tracker keeps both
    read.update(SessionStarted(timestamp=time.time() + 1))
    read.update(ActionExecuted("action_listen", timestamp=time.time() + 1))
    turn(read, "又停电了")
    await store.save(read)
    latest = await store.retrieve(prefix + "-0")
    full = await store.retrieve_full_tracker(prefix + "-0")
    many = await asyncio.gather(*(one_customer(store, f"{prefix}-{i}") for i in range(1, 21)))
    keys = [k for k in await store.keys() if k.startswith(prefix)]
    await broker.close()
    print("RESULT=" + json.dumps({
        "store": type(store).__name__,
        "first": [e.as_dict()["event"] for e in first.events],
        "read": [e.as_dict()["event"] for e in (await store.retrieve(prefix + "-1")).events],
        "slot": slot,
        "latest": len(latest.events), "full": len(full.events), "saved": len(read.events),
        "many": {t.sender_id: len(t.events) for t in many},
        "keys": len(keys),
    }), flush=True)

asyncio.run(main())
"""


@pytest.fixture
def scaled(pg_database: str, tmp_path: Path) -> Iterator[Settings]:
    upgrade(pg_database)  # the event broker writes into PowerDesk's events table
    settings = Settings(powerdesk_env="test", var_dir=tmp_path, database_url=pg_database, _env_file=None)
    settings = with_internal_tokens(with_profile(settings, "scaled"))
    ensure_tracker_database(settings)
    yield settings
    name = tracker_store_url(settings).rsplit("/", 1)[1]
    admin = create_engine(pg_database.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.db
def test_the_threaded_tracker_store_keeps_each_event_once_and_publishes_it_once(scaled: Settings) -> None:
    if RASA_PYTHON is None:
        pytest.skip("the Rasa environment (.venv-rasa) is not installed; `make setup` creates it")
    prefix = f"widget:{uuid.uuid4().hex[:8]}"
    env = {**rasa_env(scaled), "ACTION_SERVER_URL": "http://127.0.0.1:9"}
    endpoints = REPO_ROOT / "bot" / "endpoints-scaled.yml"
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", TURNS, str(endpoints), str(REPO_ROOT / "bot" / "domain"), prefix],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "not found" not in result.stderr  # Rasa falls back to memory, with a warning, when it cannot load it
    out = json.loads(next(line[7:] for line in result.stdout.splitlines() if line.startswith("RESULT=")))
    assert out["store"] == "ThreadedSQLTrackerStore"
    assert out["read"] == out["first"] and out["first"].count("user") == 2  # written, read back whole
    assert out["slot"] == "3301234567"  # slots replayed from the stored events
    assert out["latest"] < out["full"] == out["saved"]  # the latest session alone, or every session
    assert set(out["many"].values()) == {len(out["first"])} and out["keys"] == 21

    # in the tracker database, each event once; in PowerDesk's events (the broker), each published once
    stored = _events_by_sender(tracker_store_url(scaled).replace("postgresql://", "postgresql+psycopg://", 1), prefix)
    assert stored[prefix + "-0"] == out["saved"]
    assert all(stored[sender] == n for sender, n in out["many"].items())
    assert _events_by_sender(scaled.effective_database_url, prefix) == stored


def _events_by_sender(url: str, prefix: str) -> dict[str, int]:
    """Rows of the `events` table (Rasa's trackers, or PowerDesk's broker events) per sender of this test."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT sender_id, count(*) FROM events WHERE sender_id LIKE :p GROUP BY sender_id"),
            {"p": prefix + "-%"},
        ).all()
    engine.dispose()
    return {sender: int(n) for sender, n in rows}
