"""POST /api/v1/messages: the channel-neutral way in (user id, text → the replies, stored)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Header, Request, Response

from api.api_key import check_api_key
from api.schemas import ErrorOut, MessageIn, MessagesOut

router = APIRouter(prefix="/api/v1", tags=["messages"])


@router.post(
    "/messages",
    response_model=MessagesOut,
    responses={413: {"model": ErrorOut}, 422: {"model": ErrorOut}, 429: {"model": ErrorOut}},
)
async def post_message(
    body: MessageIn, request: Request, response: Response, x_api_key: str | None = Header(default=None)
) -> MessagesOut:
    check_api_key(request, x_api_key)
    started = time.perf_counter()
    result = await request.app.state.conversations.handle(body.channel, body.user_id, body.text)
    total_ms = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = f"total;dur={total_ms:.2f}, bot;dur={result.bot_seconds * 1000:.2f}"
    return MessagesOut(conversation_id=result.conversation_id, state=result.state, replies=result.replies)
