"""The website chat widget: its script, its history and its websocket, and the demo page."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Header, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool

from api.frames import receive_text_frame
from api.origins import origin_allowed, origin_of
from api.schemas import Button, HistoryItem, HistoryOut, NoticeItem
from api.widget_session import MAX_TOKEN_CHARS, bearer
from core.errors import NotAuthenticated, PowerDeskError, RateLimited, TooManyConversations
from services.customers import DemoAccount, bound_customer, demo_showcase, reverify_since
from services.notices import take_unread

log = logging.getLogger(__name__)
router = APIRouter(tags=["widget"])
STATIC = Path(__file__).resolve().parent.parent / "static"
AUTH_WITHIN_S = 10.0  # a socket that has not named its session by then is closed


@router.get("/widget.js", include_in_schema=False)
async def widget_script(request: Request) -> Response:
    texts = request.app.state.texts.widget
    script = (STATIC / "widget.js").read_text(encoding="utf-8")
    body = f"window.POWERDESK_TEXTS = {json.dumps(texts, ensure_ascii=False)};\n{script}"
    return Response(body, media_type="application/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def demo_page(request: Request) -> HTMLResponse:
    """The demo page; on a demo database outside production it lists demo accounts with their phone digits."""
    accounts: list[DemoAccount] = []
    if request.app.state.settings.powerdesk_env != "production":

        def showcase() -> list[DemoAccount]:
            with request.app.state.sessions() as session:
                return demo_showcase(session)

        accounts = await run_in_threadpool(showcase)
    return request.app.state.templates.TemplateResponse(request, "demo.html", {"accounts": accounts})


class SessionIn(BaseModel):
    token: str | None = Field(default=None, max_length=MAX_TOKEN_CHARS)


class SessionOut(BaseModel):
    token: str
    expires_in_s: int


@router.post("/api/v1/widget/session", response_model=SessionOut)
async def session(request: Request, body: SessionIn | None = None) -> SessionOut:
    """A signed session token for the widget: the same visitor renewed, or a new visitor when the token sent is
    missing, expired or not ours."""
    issued = request.app.state.widget_sessions.renew(body.token if body else None)
    return SessionOut(token=issued.token, expires_in_s=issued.expires_in_s)


@router.get("/api/v1/widget/history", response_model=HistoryOut)
async def history(request: Request, authorization: str | None = Header(default=None)) -> HistoryOut:
    user_id = request.app.state.widget_sessions.visitor(bearer(authorization))
    conversation_id, state, messages = await run_in_threadpool(request.app.state.store.history, "widget", user_id)
    items = [
        HistoryItem(
            id=m.id,
            direction="in" if m.direction == "in" else "out",
            sender=m.sender,
            text=m.text,
            buttons=[Button(**b) for b in ((m.payload or {}).get("buttons") or [])],
            custom=(m.payload or {}).get("custom") if isinstance((m.payload or {}).get("custom"), dict) else None,
            created_at=m.created_at.isoformat(),
        )
        for m in messages
    ]
    return HistoryOut(
        conversation_id=conversation_id, state=state, messages=items, notices=await _notices(request, user_id)
    )


async def _notices(request: Request, user_id: str) -> list[NoticeItem]:
    """The unread notices of the customer this visitor is bound to (a binding verified within
    BINDING_REVERIFY_DAYS), marked read as they are shown."""
    since = reverify_since(request.app.state.settings.binding_reverify_days)

    def take() -> list[NoticeItem]:
        with request.app.state.sessions() as session, session.begin():
            customer = bound_customer(session, "widget", user_id, verified_since=since)
            if customer is None:
                return []
            notices = take_unread(session, customer.id)
            return [NoticeItem(id=n.id, text=n.text, created_at=n.created_at.isoformat()) for n in notices]

    return await run_in_threadpool(take)


def _own_origins(socket: WebSocket) -> list[str]:
    scheme = "https" if socket.url.scheme == "wss" else "http"
    host = socket.headers.get("host", "")
    return [origin_of(socket.app.state.settings.base_url), f"{scheme}://{host}"]


async def _authenticate(socket: WebSocket) -> str | None:
    """The visitor named by the first frame {"type": "auth", "token": "…"}; None after closing the socket with
    4401 (no valid session: the widget gets a new one) when it names none."""
    state = socket.app.state
    try:
        raw = await asyncio.wait_for(receive_text_frame(socket, MAX_TOKEN_CHARS + 100), AUTH_WITHIN_S)
        data = json.loads(raw) if raw else None
        token = data.get("token") if isinstance(data, dict) and data.get("type") == "auth" else None
        return str(state.widget_sessions.visitor(token if isinstance(token, str) else None))
    except (TimeoutError, ValueError, NotAuthenticated) as exc:
        message = str(exc) if isinstance(exc, NotAuthenticated) else 'send {"type": "auth", "token": "…"} first'
        code = exc.code if isinstance(exc, NotAuthenticated) else "not_authenticated"
        await socket.send_json({"type": "error", "code": code, "message": message})
        await socket.close(code=4401)
        return None


@router.websocket("/api/v1/widget/ws")
async def widget_socket(socket: WebSocket) -> None:
    state = socket.app.state
    if not origin_allowed(socket.headers.get("origin"), _own_origins(socket), state.settings.widget_origin_list):
        await socket.close(code=4403)  # before accepting: the browser sees the handshake refused (HTTP 403)
        return
    await socket.accept()
    try:
        user_id = await _authenticate(socket)
    except WebSocketDisconnect:
        return
    if user_id is None:
        return
    client = socket.client.host if socket.client else None
    key = f"widget:{user_id}"
    await state.hub.join(key, socket)
    await socket.send_json({"type": "ready"})
    try:
        while True:
            raw = await receive_text_frame(socket, state.settings.max_body_bytes)
            if raw is None:
                await socket.send_json(
                    {"type": "error", "code": "invalid_frame", "message": "send UTF-8 text frames, at most 64 KB"}
                )
                continue
            try:
                data = json.loads(raw)
                if isinstance(data, dict) and data.get("type") == "rating":
                    await _rating(socket, user_id, data)
                    continue
                text = data["text"] if isinstance(data, dict) else None
                if not isinstance(text, str):
                    raise ValueError
            except (ValueError, KeyError):
                await socket.send_json(
                    {"type": "error", "code": "invalid_input", "message": 'send JSON like {"text": "你好"}'}
                )
                continue
            try:
                result = await state.conversations.handle("widget", user_id, text, client=client)
            except RateLimited as exc:
                say = "new_conversations_limited" if isinstance(exc, TooManyConversations) else "rate_limited"
                await socket.send_json({"type": "error", "code": exc.code, "message": state.texts.say(say)})
                continue
            except PowerDeskError as exc:
                await socket.send_json({"type": "error", "code": exc.code, "message": str(exc)})
                continue
            except (OperationalError, InterfaceError):  # the database is away: nothing stored, the widget resends
                log.error("widget message from %s not stored: the database is unavailable", user_id)
                await socket.send_json(
                    {"type": "error", "code": "not_stored", "message": state.texts.say("not_stored"), "text": text}
                )
                continue
            except Exception:  # the customer's socket stays open; the message was stored before anything failed
                log.exception("widget message from %s failed", user_id)
                await socket.send_json({"type": "error", "code": "internal", "message": state.texts.say("busy")})
                continue
            await socket.send_json(
                {
                    "type": "replies",
                    "conversation_id": result.conversation_id,
                    "state": result.state,
                    "replies": [r.model_dump() for r in result.replies],
                }
            )
    except WebSocketDisconnect:
        pass
    finally:
        await state.hub.leave(key, socket)


async def _rating(socket: WebSocket, user_id: str, data: dict[str, Any]) -> None:
    """The widget's stars: {"type": "rating", "score": 1-5, "comment": "..."} for the conversation closed last."""
    state = socket.app.state
    score, comment = data.get("score"), data.get("comment") or ""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5 or not isinstance(comment, str):
        await socket.send_json(
            {
                "type": "error",
                "code": "invalid_input",
                "message": 'send {"type": "rating", "score": 1-5, "comment": "…"}',
            }
        )
        return
    try:
        await state.conversations.limiter.check(f"widget:{user_id}")
        conversation_id, reply = await state.handoffs.rate_pending(
            "widget", user_id, score, comment[: state.settings.max_message_chars]
        )
    except PowerDeskError as exc:
        await socket.send_json({"type": "error", "code": exc.code, "message": str(exc)})
        return
    await socket.send_json(
        {"type": "replies", "conversation_id": conversation_id, "state": "closed", "replies": [reply.model_dump()]}
    )
