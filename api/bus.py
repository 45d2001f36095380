"""Events to open websockets, across api processes.

`publish(key, event)` reaches every socket joined under `key` in whichever api process holds it:
with one process the event goes straight to the local hub (LocalBus); with REDIS_URL set every
process publishes to one Redis channel and each delivers to its own sockets (RedisBus). An event
may carry `ack`: the ids of the stored messages it contains, marked delivered by the process whose
socket received them (a socket lives in exactly one process, so nothing is marked twice).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from api.hub import Hub

log = logging.getLogger(__name__)
REDIS_CHANNEL = "powerdesk:bus"
Acker = Callable[[list[int]], None]


class Bus(Protocol):
    async def publish(self, key: str, event: dict[str, Any]) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Dispatcher:
    """Delivers an event to this process's sockets and acknowledges its messages when someone got them.

    Acknowledgements are written in batches (one UPDATE per `ack_delay_s` at most), so that a busy
    process does not add a database write per message; the push itself is never delayed.
    """

    def __init__(self, hub: Hub, ack: Acker, ack_delay_s: float = 0.02) -> None:
        self.hub, self.ack, self.ack_delay_s = hub, ack, ack_delay_s
        self._pending: list[int] = []
        self._flush: asyncio.Task[None] | None = None

    async def __call__(self, key: str, event: dict[str, Any]) -> int:
        ids = event.pop("ack", None)
        delivered = await self.hub.push(key, event)
        if delivered and ids:
            self._pending.extend(int(i) for i in ids)
            if self._flush is None or self._flush.done():
                self._flush = asyncio.create_task(self._write_acks())
        return delivered

    async def _write_acks(self) -> None:
        while self._pending:  # ids acknowledged while a batch was being written go in the next batch
            await asyncio.sleep(self.ack_delay_s)
            ids, self._pending = self._pending, []
            try:
                await run_in_threadpool(self.ack, ids)
            except Exception:  # the messages reached their readers; a failed status update is only logged
                log.exception("could not mark messages %s delivered", ids)

    async def drain(self) -> None:
        """Write the acknowledgements still waiting (on shutdown)."""
        if self._flush is not None:
            await self._flush


class LocalBus:
    """One api process: publishing is delivering."""

    def __init__(self, dispatch: Callable[[str, dict[str, Any]], Awaitable[int]]) -> None:
        self.dispatch = dispatch

    async def publish(self, key: str, event: dict[str, Any]) -> None:
        await self.dispatch(key, dict(event))

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisBus:
    """Several api processes: one Redis pub/sub channel, every process delivers to its own sockets."""

    def __init__(
        self, redis: Any, dispatch: Callable[[str, dict[str, Any]], Awaitable[int]], channel: str = REDIS_CHANNEL
    ) -> None:
        self.redis, self.dispatch, self.channel = redis, dispatch, channel
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def publish(self, key: str, event: dict[str, Any]) -> None:
        """To every api process; while Redis is away, to this process's own sockets (the messages are stored, and
        a socket held elsewhere gets them from the history on reconnect)."""
        try:
            await self.redis.publish(self.channel, json.dumps({"key": key, "event": event}, ensure_ascii=False))
        except (OSError, RedisError) as exc:
            log.error("Redis unavailable (%s): event for %s delivered by this process only", exc, key)
            await self.dispatch(key, event)

    async def start(self, ready_timeout_s: float = 10.0) -> None:
        """Subscribe; an api that starts while Redis is away still starts (and keeps trying to subscribe)."""
        self._task = asyncio.create_task(self._listen(), name="powerdesk-bus")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout=ready_timeout_s)
        except TimeoutError:
            log.error("Redis did not answer within %.0f s: the bus starts without it and keeps trying", ready_timeout_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _listen(self) -> None:
        backoff = 0.5
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                self._ready.set()
                backoff = 0.5
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        data = json.loads(message["data"])
                        key, event = str(data["key"]), dict(data["event"])
                    except (ValueError, KeyError, TypeError):
                        log.error("ignoring a malformed bus message: %r", message.get("data"))
                        continue
                    try:
                        await self.dispatch(key, event)
                    except Exception:
                        log.exception("delivering a bus event to %s failed", key)
            except asyncio.CancelledError:
                await pubsub.aclose()
                raise
            except Exception as exc:  # Redis went away: keep trying; messages stay stored meanwhile
                log.error("bus subscription lost (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
