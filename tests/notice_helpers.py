"""Bound customers and a WeChat sender against the fake WeChat server, for the outage-notice tests and benchmark."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker
from wechatpy.session.memorystorage import MemoryStorage

from core.db import transaction
from core.models import ChannelBinding
from services.wechat_api import PowerDeskWeChatClient, WeChatSender
from tests.api.fake_wechat import APP_ID, APP_SECRET

VERIFIED = dt.datetime(2026, 12, 1, 9, 0)


def bind(sessions: sessionmaker[Session], bindings: list[tuple[int, str, str]]) -> None:
    """(customer id, channel, channel user) rows, verified one minute apart in the order given."""
    rows = [
        {
            "customer_id": customer_id,
            "channel": channel,
            "external_user_id": user,
            "verified_at": VERIFIED + dt.timedelta(minutes=i),
        }
        for i, (customer_id, channel, user) in enumerate(bindings)
    ]
    if rows:
        with transaction(sessions) as session:
            session.execute(insert(ChannelBinding), rows)


def fake_sender(url: str, attempts: int = 4, backoff_s: float = 0.01, storage: Any = None) -> WeChatSender:
    """`storage`: the token's, shared by senders as api processes share Redis (default: a fresh one)."""
    client = PowerDeskWeChatClient(url, APP_ID, APP_SECRET, session=storage or MemoryStorage())
    return WeChatSender(client, attempts=attempts, backoff_s=backoff_s)
