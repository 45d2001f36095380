"""GET/POST /wechat: WeChat's server verification and its messages (plain and safe mode)."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from api.wechat import protocol
from core.errors import ChannelDisabled, PowerDeskError

router = APIRouter(tags=["wechat"])
log = logging.getLogger(__name__)


def _token(request: Request) -> str:
    token: str = request.app.state.settings.wechat_token
    if not token or request.app.state.wechat is None:
        log.warning("request to /wechat refused: the WeChat channel is disabled (WECHAT_TOKEN is not set)")
        raise ChannelDisabled("the WeChat channel is disabled; set WECHAT_TOKEN (and the other WECHAT_* settings)")
    return token


def _refused(request: Request, exc: PowerDeskError) -> PowerDeskError:
    client = request.client.host if request.client else "?"
    log.warning("WeChat request from %s refused (%s): %s", client, exc.status_code, exc)
    return exc


@router.get("/wechat", response_class=PlainTextResponse)
async def verify(request: Request) -> str:
    token = _token(request)
    try:
        return protocol.verify_server(token, protocol.Query.of(request.query_params))
    except PowerDeskError as exc:
        raise _refused(request, exc) from exc


@router.post("/wechat")
async def receive(request: Request) -> Response:
    token = _token(request)
    query = protocol.Query.of(request.query_params)
    crypto = request.app.state.wechat_crypto
    try:
        protocol.check_content_type(request.headers.get("content-type"))
        protocol.verify_signature(token, query)
        now = time.time()
        protocol.check_fresh(query, now)
        encrypted = protocol.require_safe_mode(crypto, query)
        body = await request.body()
        request.app.state.wechat_nonces.check(query, body, now)
        protocol.refuse_dtd(body)
        xml = protocol.decrypt(crypto, body, query) if encrypted else body
        inbound = protocol.parse(xml, encrypted)
    except PowerDeskError as exc:
        raise _refused(request, exc) from exc
    texts = await request.app.state.wechat.handle(inbound)
    if not texts:
        return PlainTextResponse("success")
    xml_reply = protocol.text_reply(inbound, "\n\n".join(texts), crypto, query.nonce)
    return Response(xml_reply, media_type="application/xml")
