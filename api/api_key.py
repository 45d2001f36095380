"""The X-API-Key check of the machine-to-machine routes (messages, anomaly readings, outages, tickets)."""

from __future__ import annotations

import secrets

from fastapi import Header, Request

from core.errors import PowerDeskError


class Unauthorized(PowerDeskError):
    status_code = 401
    code = "unauthorized"


def check_api_key(request: Request, key: str | None) -> None:
    """Unauthorized unless `key` is the configured API_KEY (no key configured: open, as in local mode)."""
    expected = request.app.state.settings.api_key
    if expected and not secrets.compare_digest(key or "", expected):
        raise Unauthorized("missing or wrong X-API-Key header; ask the operator for the api key")


async def require_api_key(request: Request, x_api_key: str | None = Header(default=None)) -> None:
    """The same check as a route dependency: `dependencies=[Depends(require_api_key)]`."""
    check_api_key(request, x_api_key)
