"""The WeChat inbox in the database: claim a message once (across processes), record its outcome."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.models import Message
from core.models_wechat import WeChatInbound
from services.conversation_log import ConversationStore


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def claim(
    sessions: sessionmaker[Session], dedup_key: str, openid: str, msg_type: str, stale_after_s: float = 12.0
) -> bool:
    """True for the first delivery of `dedup_key` anywhere; False for WeChat's retries (counted). A retry also
    wins when the first delivery is still `processing` after `stale_after_s`: every turn ends (answered, or
    handed over) well before that, so the process that claimed it died; its message is taken over, not lost.
    WeChat retries about 5, 10 and 15 s after the first delivery."""
    key = dedup_key[:200]
    try:
        with transaction(sessions) as session:
            session.add(WeChatInbound(dedup_key=key, openid=openid[:128], msg_type=msg_type[:40]))
        return True
    except IntegrityError:
        now = _now()
        with transaction(sessions) as session:
            reclaimed = session.execute(
                update(WeChatInbound)
                .where(
                    WeChatInbound.dedup_key == key,
                    WeChatInbound.status == "processing",
                    WeChatInbound.created_at < now - dt.timedelta(seconds=stale_after_s),
                )
                .values(retries=WeChatInbound.retries + 1, created_at=now, error="reclaimed: left processing")
            )
            if reclaimed.rowcount:  # type: ignore[attr-defined]
                return True
            session.execute(
                update(WeChatInbound).where(WeChatInbound.dedup_key == key).values(retries=WeChatInbound.retries + 1)
            )
        return False


def finish(
    sessions: sessionmaker[Session],
    dedup_key: str,
    status: str,
    conversation_id: int | None = None,
    error: str | None = None,
) -> None:
    with transaction(sessions) as session:
        values: dict[str, object] = {"status": status, "finished_at": _now()}
        if conversation_id is not None:
            values["conversation_id"] = conversation_id
        if error is not None:
            values["error"] = error[:2000]
        session.execute(update(WeChatInbound).where(WeChatInbound.dedup_key == dedup_key[:200]).values(**values))


def get(sessions: sessionmaker[Session], dedup_key: str) -> WeChatInbound | None:
    with sessions() as session:
        return session.scalar(select(WeChatInbound).where(WeChatInbound.dedup_key == dedup_key[:200]))


def mark_outbound(sessions: sessionmaker[Session], ids: list[int], status: str, error: str | None = None) -> None:
    """Delivery outcome of stored replies: `delivered`, or `failed` with the reason in the payload (the
    console's transcript shows failed messages, so an agent sees what never reached the customer)."""
    if not ids:
        return
    with transaction(sessions) as session:
        for message in session.scalars(select(Message).where(Message.id.in_(ids))):
            message.status = status
            if error is not None:
                message.payload = {**(message.payload or {}), "delivery_error": error[:500]}


def undelivered_replies(sessions: sessionmaker[Session], conversation_id: int, after_id: int) -> list[int]:
    """Ids of the replies stored in a conversation after message `after_id` and not delivered yet."""
    return [m.id for m in ConversationStore(sessions).undelivered_after(conversation_id, after_id)]
