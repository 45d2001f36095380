"""Liveness and readiness."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select, text
from starlette.concurrency import run_in_threadpool

from core.models import Message

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks = {
        "rasa": await state.bot.ready(),
        "action_server": await _action_server_ready(state.http, state.settings.action_server_url),
        "database": await run_in_threadpool(_database_ready, state.sessions),
    }
    ok = all(checks.values())
    body: dict[str, object] = {"status": "ready" if ok else "not_ready", "checks": checks}
    replicas = getattr(state.bot, "replica_status", None)
    if replicas is not None:  # several Rasa servers: ready while one is; which ones are down is listed
        body["rasa_replicas"] = await replicas()
    if not ok and checks["database"]:
        # the api still answers and keeps every message (the bot answers them once it is back): degraded
        body["status"] = "degraded"
        body["degraded"] = sorted(name for name, up in checks.items() if not up)
        body["kept_messages"] = await run_in_threadpool(_kept_messages, state.sessions)
    return JSONResponse(body, status_code=200 if ok else 503)


def _kept_messages(sessions) -> int:
    with sessions() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Message).where(Message.direction == "in", Message.status == "pending")
            )
            or 0
        )


async def _action_server_ready(http: httpx.AsyncClient, url: str) -> bool:
    try:
        response = await http.get(f"{url.rstrip('/')}/health", timeout=2.0)
        return response.status_code == 200
    except httpx.HTTPError:
        return False


def _database_ready(sessions) -> bool:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
