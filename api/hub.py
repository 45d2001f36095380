"""Open websocket connections per channel user, so replies and agent messages can be pushed."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from starlette.websockets import WebSocket


class Hub:
    def __init__(self) -> None:
        self._sockets: dict[str, set[WebSocket]] = defaultdict(set)
        self._lock = asyncio.Lock()

    async def join(self, key: str, socket: WebSocket) -> None:
        async with self._lock:
            self._sockets[key].add(socket)

    async def leave(self, key: str, socket: WebSocket) -> None:
        async with self._lock:
            self._sockets[key].discard(socket)
            if not self._sockets[key]:
                del self._sockets[key]

    async def push(self, key: str, message: dict[str, Any]) -> int:
        """Send to every open socket of `key`; returns how many received it."""
        delivered = 0
        for socket in list(self._sockets.get(key, ())):
            try:
                await socket.send_json(message)
                delivered += 1
            except Exception:  # a closed socket is dropped; the message stays in the database
                await self.leave(key, socket)
        return delivered
