"""The conversation log in the database: conversations and messages (sync; run in a thread)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
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
    behind_kept: bool = False  # older messages of the conversation still wait for the bot (it was away)
    again: bool = False  # the channel delivered it again (a retry after a process died): stored before, not now


@dataclass(frozen=True)
class PendingMessage:
    message: StoredMessage
    channel: str
    user: str
    text: str  # as the customer typed it
    bot_text: str  # as Rasa is to get it ("/…" typed is sent as "／…")
    reclaimed: bool = False  # left stored by an api process that died on the way: Rasa may have answered it


@dataclass(frozen=True)
class OutMessage:
    text: str
    payload: dict[str, Any] | None


@dataclass(frozen=True)
class Answered:
    """The customer's message the replies answer, with the NLU result of its turn."""

    message_id: int
    intent: str | None
    confidence: float | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _set_status(message: Message, status: str) -> None:
    """A message's status; once it no longer waits for the bot, the unmasked text kept for it is dropped."""
    message.status = status
    if status not in ("pending", "replaying") and message.payload and "bot_text" in message.payload:
        message.payload = {k: v for k, v in message.payload.items() if k != "bot_text"} or None


def _mark_processed(session: Session, answered: Answered) -> None:
    message = session.get(Message, answered.message_id)
    if message is not None:
        _set_status(message, "processed")
        message.intent = answered.intent[:50] if answered.intent else None
        message.confidence = answered.confidence


def _waiting_for_bot(stale_after_s: float | None) -> ColumnElement[bool]:
    """Inbound messages the replayer sends to the bot: those kept while it was unreachable (`pending`), and, with
    `stale_after_s`, those stored on their way to it longer ago than that and never finished: the api process
    handling them died. A message is on its way to the bot when it keeps the text for it (`store_inbound`); the
    messages of a conversation with a person are stored without it and stay theirs."""
    kept = Message.status == "pending"
    if stale_after_s is None:
        return kept
    cutoff = _now() - dt.timedelta(seconds=stale_after_s)
    left = and_(
        or_(
            and_(Message.status == "stored", Message.created_at < cutoff),
            # claimed by a replayer whose process died before the turn was stored
            and_(Message.status == "replaying", or_(Message.claimed_at < cutoff, Message.claimed_at.is_(None))),
        ),
        Message.payload["bot_text"].as_string().is_not(None),
    )
    return or_(kept, left)


def _older_in(session: Session, message: Message, statuses: tuple[str, ...]) -> bool:
    """Whether an older inbound message of the message's conversation has one of `statuses`."""
    return (
        session.scalar(
            select(Message.id)
            .where(
                Message.conversation_id == message.conversation_id,
                Message.direction == "in",
                Message.status.in_(statuses),
                Message.id < message.id,
            )
            .limit(1)
        )
        is not None
    )


def _claimed_before(session: Session, message: Message) -> bool:
    """Whether an older message of the message's conversation is claimed by a replayer (within the grace period,
    or it would have been the one found): its conversation is answered in order."""
    return _older_in(session, message, ("replaying",))


def _kept_before(session: Session, message: Message) -> bool:
    """Whether older inbound messages of the message's conversation still wait for the bot."""
    return _older_in(session, message, ("pending", "replaying"))


class ConversationStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def _open_conversation(
        self, session: Session, channel: str, user: str, open_new: bool = True
    ) -> Conversation | None:
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
        if conversation is None and open_new:
            conversation = Conversation(channel=channel, external_user_id=user, state="bot")
            session.add(conversation)
            session.flush()
        return conversation

    def store_inbound(
        self,
        channel: str,
        user: str,
        text: str,
        open_new: bool = True,
        *,
        bot_text: str | None = None,
        delivery: str | None = None,
    ) -> StoredMessage | None:
        """Store a customer's message (first thing on arrival) in the user's open conversation; with
        `open_new=False`, None (nothing stored) when the user has none (the caller checks its limits first).
        `bot_text`: the text as Rasa is to get it (`text` is masked), kept with a message on its way to the bot
        (the conversation is the bot's) until it is answered: if the api process dies meanwhile, the replayer
        sends it on (`claim_pending`). `delivery`: the channel's id of the message (WeChat's): delivered again,
        it is not stored twice (`again`)."""
        with transaction(self.sessions) as session:
            conversation = self._open_conversation(session, channel, user, open_new)
            if conversation is None:
                return None
            if delivery is not None:
                before = session.scalar(
                    select(Message.id)
                    .where(
                        Message.conversation_id == conversation.id,
                        Message.direction == "in",
                        Message.payload["delivery"].as_string() == delivery,
                    )
                    .limit(1)
                )
                if before is not None:
                    return StoredMessage(before, conversation.id, conversation.state, again=True)
            payload = {"bot_text": bot_text} if bot_text is not None and conversation.state == "bot" else {}
            message = Message(
                conversation_id=conversation.id,
                direction="in",
                sender="customer",
                text=text,
                payload={**payload, "delivery": delivery} if delivery is not None else payload or None,
            )
            session.add(message)
            conversation.updated_at = _now()
            session.flush()
            return StoredMessage(message.id, conversation.id, conversation.state, _kept_before(session, message))

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
            _mark_processed(session, Answered(message_id, intent, confidence))

    def keep_bot_text(self, message_id: int, bot_text: str) -> None:
        """Change the text kept for the bot of a message on its way to it (a typed "/…" that is an offered button)."""
        with transaction(self.sessions) as session:
            message = session.get(Message, message_id)
            if message is not None and message.payload and "bot_text" in message.payload:
                message.payload = {**message.payload, "bot_text": bot_text}

    # --- messages kept while the bot is unreachable, answered by it in order once it is back ---------------

    def mark_pending(self, message_id: int, bot_text: str) -> None:
        """The bot could not be reached: keep the message for it (with the text Rasa is to get)."""
        with transaction(self.sessions) as session:
            message = session.get(Message, message_id)
            if message is not None:
                message.status = "pending"
                message.payload = {**(message.payload or {}), "bot_text": bot_text}

    def pending_conversations(self, limit: int = 50, stale_after_s: float | None = None) -> list[int]:
        """Conversations with messages waiting for the bot, those waiting longest first; with `stale_after_s`,
        also those with a message stored for it longer ago than that and never finished (`_waiting_for_bot`)."""
        with self.sessions() as session:
            rows = session.execute(
                select(Message.conversation_id, func.min(Message.id))
                .where(Message.direction == "in", _waiting_for_bot(stale_after_s))
                .group_by(Message.conversation_id)
                .order_by(func.min(Message.id))
                .limit(limit)
            ).all()
        return [row[0] for row in rows]

    def kept_before(self, message_id: int) -> bool:
        """Whether older messages of this message's conversation still wait for the bot."""
        with self.sessions() as session:
            return _kept_before(session, session.get_one(Message, message_id))

    def claim_pending(self, conversation_id: int, stale_after_s: float | None = None) -> PendingMessage | None:
        """The conversation's oldest waiting message, claimed (pending → replaying) by this caller only: two
        api processes never both send it to the bot. With `stale_after_s`, a message stored for the bot longer
        ago than that and never finished, or claimed longer ago than that by a replayer that never finished it, is
        claimed too (stored / replaying → replaying, `reclaimed`: its turn may be in Rasa's tracker already)."""
        with transaction(self.sessions) as session:
            row = session.execute(
                select(Message, Conversation)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.direction == "in",
                    _waiting_for_bot(stale_after_s),
                )
                .order_by(Message.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            message, conversation = row
            if _claimed_before(session, message):  # another replayer is at work on this conversation: in order
                return None
            was = message.status
            claimed = session.execute(
                update(Message)
                .where(Message.id == message.id, Message.status == was)
                .where(
                    Message.claimed_at.is_(None)
                    if message.claimed_at is None
                    else Message.claimed_at == message.claimed_at
                )
                .values(status="replaying", claimed_at=_now())
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                return None
            bot_text = (message.payload or {}).get("bot_text")
            return PendingMessage(
                StoredMessage(message.id, conversation.id, conversation.state),
                conversation.channel,
                conversation.external_user_id,
                message.text,
                bot_text if isinstance(bot_text, str) else message.text,
                reclaimed=was in ("stored", "replaying"),
            )

    def release(self, message_id: int, status: str) -> None:
        """Give a claimed message back as it was (replaying → `status`, with the text kept for the bot): the bot
        could not be reached, the next pass tries again."""
        with transaction(self.sessions) as session:
            session.execute(
                update(Message).where(Message.id == message_id, Message.status == "replaying").values(status=status)
            )

    def set_status(self, message_id: int, status: str) -> None:
        with transaction(self.sessions) as session:
            message = session.get(Message, message_id)
            if message is not None:
                _set_status(message, status)

    def undelivered_after(self, conversation_id: int, after_id: int) -> list[Message]:
        """Replies stored after message `after_id` and not delivered yet, oldest first."""
        with self.sessions() as session:
            rows = session.scalars(
                select(Message)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.direction == "out",
                    Message.status == "stored",
                    Message.id > after_id,
                )
                .order_by(Message.id)
            ).all()
            session.expunge_all()
            return list(rows)

    def store_outbound(
        self, conversation_id: int, sender: str, replies: list[OutMessage], answered: Answered | None = None
    ) -> list[int]:
        """Store replies before they are delivered; returns their ids. `answered`: the customer's message they
        answer is marked processed in the same transaction, so an api process that dies in between leaves it
        stored (and reclaimed) rather than processed without its answer."""
        with transaction(self.sessions) as session:
            if answered is not None:
                _mark_processed(session, answered)
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
