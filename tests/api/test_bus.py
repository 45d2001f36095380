"""The bus: local delivery, batched acknowledgements, and Redis messages that are not ours."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from api.bus import Dispatcher, LocalBus, RedisBus
from api.hub import Hub


class Socket:
    def __init__(self, fail: bool = False) -> None:
        self.frames: list[dict[str, Any]] = []
        self.fail = fail

    async def send_json(self, frame: dict[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("closed")
        self.frames.append(frame)


async def test_delivery_and_batched_acknowledgements() -> None:
    hub, acked = Hub(), []
    dispatcher = Dispatcher(hub, lambda ids: acked.append(sorted(ids)), ack_delay_s=0.01)
    bus = LocalBus(dispatcher)
    socket = Socket()
    await hub.join("widget:a", socket)  # type: ignore[arg-type]
    for i in range(1, 6):
        await bus.publish("widget:a", {"type": "push", "replies": [{"id": i}], "ack": [i]})
    await bus.publish("widget:nobody", {"type": "push", "ack": [99]})  # no socket: stays undelivered
    await dispatcher.drain()
    assert [f["replies"][0]["id"] for f in socket.frames] == [1, 2, 3, 4, 5]
    assert all("ack" not in f for f in socket.frames)
    assert sum(acked, []) == [1, 2, 3, 4, 5] and len(acked) < 5  # fewer writes than messages
    dead = Socket(fail=True)
    await hub.join("widget:b", dead)  # type: ignore[arg-type]
    assert await dispatcher("widget:b", {"type": "push", "ack": [7]}) == 0
    await dispatcher.drain()
    assert 7 not in sum(acked, [])


class FakePubSub:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages

    async def subscribe(self, channel: str) -> None:
        return None

    async def listen(self):  # type: ignore[no-untyped-def]
        for message in self.messages:
            yield message
        await asyncio.sleep(3600)

    async def aclose(self) -> None:
        return None


class FakeRedis:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self._pubsub = FakePubSub(messages)

    def pubsub(self) -> FakePubSub:
        return self._pubsub


async def test_redis_bus_skips_malformed_messages() -> None:
    received: list[tuple[str, dict[str, Any]]] = []

    async def dispatch(key: str, event: dict[str, Any]) -> int:
        received.append((key, event))
        return 1

    good = json.dumps({"key": "case:1", "event": {"type": "message"}})
    redis = FakeRedis(
        [
            {"type": "subscribe"},
            {"type": "message", "data": "not json"},
            {"type": "message", "data": json.dumps({"no": "key"})},
            {"type": "message", "data": good},
        ]
    )
    bus = RedisBus(redis, dispatch, "test")
    await bus.start()
    for _ in range(50):
        if received:
            break
        await asyncio.sleep(0.01)
    await bus.stop()
    assert received == [("case:1", {"type": "message"})]
