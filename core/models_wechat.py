"""Tables of the WeChat channel: every message WeChat delivered, keyed for deduplication.

WeChat retries a message it got no answer for (up to three times, ~5 s apart), possibly to another
api process. The unique `dedup_key` (MsgId, or FromUserName + CreateTime + Event for events) makes
the first insert win everywhere; the loser answers `success` and nothing else.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, _now

INBOUND_STATUSES = ("processing", "replied", "pushed", "push_failed", "ignored")


class WeChatInbound(Base):
    __tablename__ = "wechat_inbound"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    openid: Mapped[str] = mapped_column(String(128), index=True)
    msg_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="processing", index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL", name="fk_wechat_inbound_conversation_id")
    )
    retries: Mapped[int] = mapped_column(Integer, default=0)  # duplicates WeChat sent after the first
    error: Mapped[str | None] = mapped_column(Text)  # why a push failed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
