"""Rasa's event brokers with personal data masked before anything is written (runs inside Rasa's environment;
`core.identity` is pure Python, on Rasa's path through `powerdesk run`)."""

import asyncio
import json
import logging
import queue
import threading
from typing import Any

from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.brokers.sql import SQLEventBroker

from core.identity import mask_event

logger = logging.getLogger(__name__)
MAX_BATCH = 500  # events written in one transaction
CLOSE_WAIT_S = 30.0  # at shutdown, how long the events still queued may take to be written


class MaskingSQLEventBroker(SQLEventBroker):
    """Rasa's SQL broker, with the writing done by a thread of its own.

    Rasa publishes each event of a turn on its event loop, and Rasa's broker commits each one there (an fsync,
    and on SQLite a wait for the api's writes to the same database): in an outage storm that held up every
    other customer's turn for about a third of Rasa's time. `publish` only queues the event; the writer masks
    and writes what has queued up, in order, one transaction at a time. `close` (Rasa's shutdown) writes what
    is left; a process killed outright loses the events still queued (the reports miss them, as they miss an
    event the database refused)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # connections checked on checkout: after a database restart the pooled ones are dead
        self.engine.pool._pre_ping = True
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_queued, name="event-broker", daemon=True)
        self._writer.start()

    def publish(self, event: dict[str, Any]) -> None:
        """Queued for the writer thread (the customer's turn does not wait for the database)."""
        self._queue.put(event)

    def _write_queued(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    event = self._queue.get_nowait()
                except queue.Empty:
                    break
                if event is None:
                    stop = True
                    break
                batch.append(event)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[dict[str, Any]]) -> None:
        """One transaction; if the database refuses it, event by event, so that one bad event costs only itself.
        An event the database cannot take is logged and dropped: the reports miss it, the customer's turn does
        not fail for it."""
        try:
            self._insert([mask_event(e) for e in batch])
            return
        except Exception as exc:  # noqa: BLE001
            if len(batch) == 1:
                logger.error("event of %s not stored (%s): the reports will miss it", batch[0].get("sender_id"), exc)
                return
        for event in batch:
            try:
                self._insert([mask_event(event)])
            except Exception as exc:  # noqa: BLE001
                logger.error("event of %s not stored (%s): the reports will miss it", event.get("sender_id"), exc)

    def _insert(self, events: list[dict[str, Any]]) -> None:
        with self.session_scope() as session:
            session.add_all([self.SQLBrokerEvent(sender_id=e.get("sender_id"), data=json.dumps(e)) for e in events])
            session.commit()

    def flush(self, timeout: float = CLOSE_WAIT_S) -> bool:
        """Write what is queued and stop the writer; True when it finished in time (tests, shutdown)."""
        self._queue.put(None)
        self._writer.join(timeout)
        return not self._writer.is_alive()

    async def close(self) -> None:
        if not await asyncio.to_thread(self.flush):
            logger.error("the event broker's writer did not finish in %.0f s: queued events are lost", CLOSE_WAIT_S)
        await super().close()


class MaskingPikaEventBroker(PikaEventBroker):
    def publish(self, event: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().publish(mask_event(event), headers)
