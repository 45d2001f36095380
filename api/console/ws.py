"""The console's websocket: queue changes, the live transcript of watched cases, presence heartbeats."""

from __future__ import annotations

import json
import logging
import time

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from api.console.auth import principal, same_origin
from api.frames import receive_text_frame
from api.handoff import QUEUE_KEY, agent_key, case_key
from api.schemas import MAX_DB_ID
from core.db import transaction
from core.errors import PowerDeskError
from services import agents, handoffs

log = logging.getLogger(__name__)
router = APIRouter()
HEARTBEAT_EVERY_S = 15.0


def _row_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_DB_ID


@router.websocket("/console/ws")
async def console_socket(socket: WebSocket) -> None:
    who = await principal(socket)
    if who is None or not same_origin(socket):
        await socket.close(code=4401 if who is None else 4403)
        return
    state = socket.app.state
    await socket.accept()
    joined = [QUEUE_KEY, agent_key(who.username)]
    last_touch = 0.0

    def touch() -> None:
        with transaction(state.sessions) as session:
            agents.touch(session, who.agent_id)

    async def heartbeat() -> None:
        nonlocal last_touch
        if time.monotonic() - last_touch >= HEARTBEAT_EVERY_S:
            last_touch = time.monotonic()
            await run_in_threadpool(touch)

    try:
        for key in joined:
            await state.hub.join(key, socket)
        await heartbeat()
        await socket.send_json({"type": "hello", "agent": who.username})
        while True:
            raw = await receive_text_frame(socket, 4096)
            if raw is None:
                await socket.send_json(
                    {"type": "error", "message": "send UTF-8 text frames of at most 4096 characters"}
                )
                continue
            try:
                data = json.loads(raw)
                kind = data.get("type") if isinstance(data, dict) else None
            except ValueError:
                kind = None
            if kind == "ping":
                await heartbeat()
                await socket.send_json({"type": "pong"})
            elif kind == "watch" and _row_id(data.get("handoff_id")):
                handoff_id = data["handoff_id"]

                def allowed(handoff_id: int = handoff_id) -> int:
                    with state.sessions() as session:
                        case = handoffs.get_case(session, handoff_id)
                        handoffs.check_access(case, who.username, who.is_supervisor)
                        return case.conversation_id

                try:
                    conversation_id = await run_in_threadpool(allowed)
                except PowerDeskError as exc:
                    await socket.send_json({"type": "error", "code": exc.code, "message": str(exc)})
                    continue
                key = case_key(conversation_id)
                if key not in joined:
                    joined.append(key)
                    await state.hub.join(key, socket)
                await socket.send_json({"type": "watching", "handoff_id": handoff_id})
            else:
                await socket.send_json(
                    {"type": "error", "message": 'send {"type": "ping"} or {"type": "watch", "handoff_id": N}'}
                )
    except WebSocketDisconnect:
        pass
    finally:
        for key in joined:
            await state.hub.leave(key, socket)
