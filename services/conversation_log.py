"""The conversation log in the database: conversations and messages (sync; run in a thread)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.models import Conversation, Message
from services.handoffs import open_handoff

OPEN_STATES = ("bot", "waiting_agent", "with_agent")


@dataclass(frozen=True)
class StoredMessage:
    id: int
    conversation_id: int
    state: str


@dataclass(frozen=True)
class OutMessage:
    text: str
    payload: dict[str, Any] | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class ConversationStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def _open_conversation(self, session: Session, channel: str, user: str) -> Conversation:
        conversation = session.scalar(
            select(Conversation)
            .where(
                Conversation.channel == channel,
                Conversation.external_user_id == user,
                Conversation.state.in_(OPEN_STATES),
            )
            .order_by(Conversation.id.desc())
            .limit(1)
        )
        if conversation is None:
            conversation = Conversation(channel=channel, external_user_id=user, state="bot")
            session.add(conversation)
            session.flush()
        return conversation

    def store_inbound(self, channel: str, user: str, text: str) -> StoredMessage:
        """Store a customer's message (first thing on arrival) in the user's open conversation."""
        with transaction(self.sessions) as session:
            conversation = self._open_conversation(session, channel, user)
            message = Message(conversation_id=conversation.id, direction="in", sender="customer", text=text)
            session.add(message)
            conversation.updated_at = _now()
            session.flush()
            return StoredMessage(message.id, conversation.id, conversation.state)

    def offered_payloads(self, conversation_id: int, before_id: int) -> set[str]:
        """The button payloads of the replies to the customer's previous message (what a tap may send)."""
        with self.sessions() as session:
            previous = session.scalar(
                select(Message.id)
                .where(Message.conversation_id == conversation_id, Message.direction == "in", Message.id < before_id)
                .order_by(Message.id.desc())
                .limit(1)
            )
            payloads = session.scalars(
                select(Message.payload).where(
                    Message.conversation_id == conversation_id,
                    Message.direction == "out",
                    Message.id > (previous or 0),
                    Message.id < before_id,
                )
            ).all()
        return {
            str(b.get("payload"))
            for p in payloads
            if isinstance(p, dict)
            for b in p.get("buttons") or []
            if isinstance(b, dict) and b.get("payload")
        }

    def mark_processed(self, message_id: int, intent: str | None, confidence: float | None) -> None:
        with transaction(self.sessions) as session:
            message = session.get(Message, message_id)
            if message is not None:
                message.status = "processed"
                message.intent = intent[:50] if intent else None
                message.confidence = confidence

    def mark_failed(self, message_id: int) -> None:
        with transaction(self.sessions) as session:
            message = session.get(Message, message_id)
            if message is not None:
                message.status = "failed"

    def store_outbound(self, conversation_id: int, sender: str, replies: list[OutMessage]) -> list[int]:
        """Store replies before they are delivered; returns their ids."""
        with transaction(self.sessions) as session:
            rows = [
                Message(conversation_id=conversation_id, direction="out", sender=sender, text=r.text, payload=r.payload)
                for r in replies
            ]
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]

    def start_handoff(self, conversation_id: int, reason: str) -> int:
        """Queue the conversation for a person (`services.handoffs.open_handoff`)."""
        with transaction(self.sessions) as session:
            return open_handoff(session, conversation_id, reason)

    def history(self, channel: str, user: str, limit: int = 50) -> tuple[int | None, str, list[Message]]:
        with self.sessions() as session:
            conversation = session.scalar(
                select(Conversation)
                .where(Conversation.channel == channel, Conversation.external_user_id == user)
                .order_by(Conversation.id.desc())
                .limit(1)
            )
            if conversation is None:
                return None, "bot", []
            messages = session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation.id)
                .order_by(Message.id.desc())
                .limit(limit)
            ).all()
            shown = list(reversed(messages))
            undelivered = [m.id for m in shown if m.direction == "out" and m.status == "stored"]
            if undelivered:  # pushed while the widget was closed: they reach the customer now
                session.execute(update(Message).where(Message.id.in_(undelivered)).values(status="delivered"))
                session.commit()
            return conversation.id, conversation.state, shown
