"""Building the WeChat channel in the app's lifespan (nothing at import)."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from wechatpy.crypto import WeChatCrypto

from api.wechat.channel import WeChatChannel
from api.wechat.protocol import NonceGuard
from api.wechat.service import WeChatService
from core.settings import Settings
from services import wechat_inbox
from services.wechat_api import make_sender
from services.wechat_content import load_content

log = logging.getLogger(__name__)


def start_wechat(app: FastAPI, settings: Settings, sessions: sessionmaker[Session]) -> None:
    app.state.wechat = None
    app.state.wechat_sender = None  # the customer-service API client, shared with the outage notices
    app.state.wechat_crypto = None
    app.state.wechat_nonces = NonceGuard()
    if not settings.wechat_token:
        log.warning("WeChat channel disabled: WECHAT_TOKEN is not set (/wechat answers 503)")
        return
    crypto = None
    if settings.wechat_encoding_aes_key:
        crypto = WeChatCrypto(settings.wechat_token, settings.wechat_encoding_aes_key, settings.wechat_app_id)
    sender = make_sender(settings, settings.redis_url)
    app.state.wechat_sender = sender
    if sender is None:
        log.warning(
            "WECHAT_APP_ID/WECHAT_APP_SECRET not set: answers slower than %.1f s cannot be pushed",
            settings.wechat_passive_reply_s,
        )
    else:

        async def mark(ids: list[int], status: str, error: str | None) -> None:
            await run_in_threadpool(wechat_inbox.mark_outbound, sessions, ids, status, error)

        app.state.channels.register(WeChatChannel(sender, mark))
    app.state.wechat_crypto = crypto
    app.state.wechat = WeChatService(
        app.state.conversations,
        sessions,
        load_content(settings.data_dir),
        sender,
        settings.wechat_passive_reply_s,
        # a first delivery still `processing` after its longest possible turn was claimed by a process that died
        stale_after_s=settings.rasa_timeout_s + 4.0,
    )
    log.info("WeChat channel enabled (%s mode)", "safe" if crypto else "plain")
