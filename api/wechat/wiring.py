"""Building the WeChat channel in the app's lifespan (nothing at import)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from wechatpy.crypto import WeChatCrypto
from wechatpy.session.memorystorage import MemoryStorage

from api.wechat.content import load_content
from api.wechat.sender import PowerDeskWeChatClient, WeChatChannel, WeChatSender
from api.wechat.service import WeChatService
from core import wechat_inbox
from core.settings import Settings

log = logging.getLogger(__name__)


def make_sender(settings: Settings, redis_url: str = "") -> WeChatSender | None:
    """The customer-service API client, or None without WECHAT_APP_ID/WECHAT_APP_SECRET."""
    if not (settings.wechat_app_id and settings.wechat_app_secret):
        return None
    session: Any = MemoryStorage()
    if redis_url:  # one token for every api process (a refresh invalidates the others' tokens)
        from redis import Redis
        from wechatpy.session.redisstorage import RedisStorage

        session = RedisStorage(Redis.from_url(redis_url), prefix="powerdesk:wechat")
    client = PowerDeskWeChatClient(
        settings.wechat_api_base, settings.wechat_app_id, settings.wechat_app_secret, session=session
    )
    return WeChatSender(client, attempts=settings.wechat_push_attempts)


def start_wechat(app: FastAPI, settings: Settings, sessions: sessionmaker[Session]) -> None:
    app.state.wechat = None
    app.state.wechat_crypto = None
    if not settings.wechat_token:
        log.warning("WeChat channel disabled: WECHAT_TOKEN is not set (/wechat answers 503)")
        return
    crypto = None
    if settings.wechat_encoding_aes_key:
        crypto = WeChatCrypto(settings.wechat_token, settings.wechat_encoding_aes_key, settings.wechat_app_id)
    sender = make_sender(settings, settings.redis_url)
    if sender is None:
        log.warning("WECHAT_APP_ID/WECHAT_APP_SECRET not set: answers slower than %.1f s cannot be pushed",
                    settings.wechat_passive_reply_s)  # fmt: skip
    else:

        async def mark(ids: list[int], status: str, error: str | None) -> None:
            await run_in_threadpool(wechat_inbox.mark_outbound, sessions, ids, status, error)

        app.state.channels.register(WeChatChannel(sender, mark))
    app.state.wechat_crypto = crypto
    app.state.wechat = WeChatService(
        app.state.conversations, sessions, load_content(settings.data_dir), sender, settings.wechat_passive_reply_s
    )
    log.info("WeChat channel enabled (%s mode)", "safe" if crypto else "plain")
