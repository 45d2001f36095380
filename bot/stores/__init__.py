"""Rasa's SQL tracker store with its database work off Rasa's event loop (runs inside Rasa's environment).

Rasa 3.6's SQLTrackerStore has async methods that talk to the database synchronously: every read and commit of
one customer's tracker stops every other customer's turn on that Rasa server. Its `save` also reads the whole
tracker back (to find the events to publish) before it counts the stored events to find the same ones again.
In an outage storm on the scaled profile that was about half of each Rasa server's time (py-spy: retrieve 18%,
save 32%), and the turns queued behind it (benchmarks/outage_storm.py --profile scaled).

Here the reads and writes run in the default thread pool, and a save counts the stored events once: the events
after them are written in one transaction and, once committed, published to the event broker (on the loop:
Rasa's pika broker is not thread-safe). Rasa's lock store keeps one turn at a time per customer, so two saves of
one tracker never overlap."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterable
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY


class ThreadedSQLTrackerStore(SQLTrackerStore):
    """`type: stores.ThreadedSQLTrackerStore` in bot/endpoints-scaled*.yml; configured as Rasa's `SQL` store."""

    async def keys(self) -> Iterable[str]:
        return await asyncio.to_thread(self._keys)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The tracker of the latest conversation session."""
        return await asyncio.to_thread(self._read, sender_id, False)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """Every session's events (Rasa's HTTP API asks for them)."""
        return await asyncio.to_thread(self._read, conversation_id, True)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """The events not stored yet, written in one transaction, then published. A turn cancelled meanwhile (the
        api gave up waiting) still waits for the write and publishes it before it ends: Rasa's lock on the
        customer is held until then, so their next turn reads every event of this one."""
        writing = asyncio.ensure_future(asyncio.to_thread(self._write_new_events, tracker))
        try:
            new_events = await asyncio.shield(writing)
        except asyncio.CancelledError:
            await self._publish(tracker.sender_id, await writing)
            raise
        await self._publish(tracker.sender_id, new_events)

    async def _publish(self, sender_id: str, new_events: list[Event]) -> None:
        if self.event_broker is not None and new_events:
            await self._stream_new_events(self.event_broker, new_events, sender_id)

    def _keys(self) -> list[str]:
        with self.session_scope() as session:
            return [sender_id for (sender_id,) in session.query(self.SQLEvent.sender_id).distinct().all()]

    def _read(self, sender_id: str, all_sessions: bool) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=all_sessions).all()
            events = [json.loads(row.data) for row in rows]
        if not events or not self.domain:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _write_new_events(self, tracker: DialogueStateTracker) -> list[Event]:
        with self.session_scope() as session:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
            new_events = list(itertools.islice(tracker.events, stored, len(tracker.events)))
            for event in new_events:
                session.add(self._row(tracker.sender_id, event))
            session.commit()
        return new_events

    def _row(self, sender_id: str, event: Event) -> Any:
        data = event.as_dict()
        parse_data = data.get("parse_data")
        intent = parse_data.get("intent", {}).get(INTENT_NAME_KEY) if isinstance(parse_data, dict) else None
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=intent,
            action_name=data.get("name"),
            data=json.dumps(data),
        )
