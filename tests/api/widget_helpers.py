"""Opening the widget's websocket as the widget does: a session token, then the auth frame."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient


def widget_token(client: TestClient, visitor: str) -> str:
    """A session token for a visitor id the test chooses (the widget gets one from POST /api/v1/widget/session)."""
    return str(client.app.state.widget_sessions.issue(visitor).token)  # type: ignore[attr-defined]


@contextmanager
def widget_socket(client: TestClient, visitor: str, **headers: str) -> Iterator[Any]:
    with client.websocket_connect("/api/v1/widget/ws", headers=dict(headers)) as socket:
        socket.send_json({"type": "auth", "token": widget_token(client, visitor)})
        assert socket.receive_json() == {"type": "ready"}
        yield socket


def widget_history(client: TestClient, visitor: str) -> Any:
    return client.get("/api/v1/widget/history", headers={"Authorization": f"Bearer {widget_token(client, visitor)}"})
