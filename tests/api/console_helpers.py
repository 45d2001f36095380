"""Logging in to the console with a TestClient (the login form's CSRF token comes from the page)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in; returns the session's CSRF token (for X-CSRF-Token)."""
    page = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None, page.text
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": token.group(1), "next": "/console"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/console")
    csrf = re.search(r'data-csrf="([^"]+)"', home.text)
    assert csrf is not None
    return csrf.group(1)


def receive_until(socket, kind: str, limit: int = 20) -> dict:  # type: ignore[no-untyped-def]
    """The next frame of type `kind` (frames of other types are skipped)."""
    for _ in range(limit):
        frame = socket.receive_json()
        if frame.get("type") == kind:
            return frame
    raise AssertionError(f"no {kind!r} frame among the next {limit}")
