"""Console authentication: the session cookie, roles, CSRF and same-origin checks, login rate limits."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from core.errors import Forbidden, NotAuthenticated
from services import agents
from services.agents import Principal

SESSION_COOKIE = "pd_console"
LOGIN_CSRF_COOKIE = "pd_login_csrf"
CSRF_HEADER = "x-csrf-token"
# what console pages set beyond api/headers.py's baseline (which every response gets): a CSP without inline
# styles, and no caching of pages that show customers' data
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
}


async def principal(conn: HTTPConnection) -> Principal | None:
    token = conn.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    sessions = conn.app.state.sessions

    def lookup() -> Principal | None:
        with sessions() as session:
            return agents.principal_for(session, token)

    return await run_in_threadpool(lookup)


def same_origin(conn: HTTPConnection) -> bool:
    """No Origin header (same-origin GET, non-browser client) or one naming this host."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    host = conn.headers.get("host", "")
    return urlsplit(origin).netloc == host


async def api_caller(request: Request) -> Principal:
    """Dependency of every console JSON endpoint: a logged-in agent or supervisor."""
    who = await principal(request)
    if who is None:
        raise NotAuthenticated("log in to the console at /console/login")
    if request.method not in ("GET", "HEAD"):
        sent = request.headers.get(CSRF_HEADER, "")
        if not same_origin(request) or not secrets.compare_digest(sent, who.csrf_token):
            raise Forbidden("missing or wrong CSRF token (header X-CSRF-Token); reload the console page")
    return who


async def supervisor_caller(request: Request) -> Principal:
    who = await api_caller(request)
    if not who.is_supervisor:
        raise Forbidden("only supervisors may see this; ask a supervisor")
    return who


def check_form_csrf(expected: str | None, sent: str | None) -> bool:
    return bool(expected) and bool(sent) and secrets.compare_digest(str(expected), str(sent))
