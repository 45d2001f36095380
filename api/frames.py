"""Reading websocket frames from customers and agents: whatever arrives, the socket answers with an error
frame and stays usable (a binary frame, bad UTF-8 or an oversized frame used to end the handler without a
close frame)."""

from __future__ import annotations

import re

from fastapi import WebSocket, WebSocketDisconnect

_SURROGATE = re.compile(r"[\ud800-\udfff]")


async def receive_text_frame(socket: WebSocket, limit: int) -> str | None:
    """The next text frame (a binary frame that is UTF-8 counts as text), or None for a frame that is not
    usable text (the caller sends an error frame). Lone surrogates (from JSON escapes) are removed."""
    message = await socket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None:
        data = message.get("bytes") or b""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if len(text) > limit:
        return None
    return _SURROGATE.sub("", text)
