"""The conversation log as data frames for the satisfaction metrics, and the stored sentiment scores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from analytics.satisfaction.contract import Log
from core.models import Conversation, Handoff, Message, Rating
from core.models_reports import MessageSentiment


def _frame(engine: Engine, query: object, times: Sequence[str]) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    for col in times:
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    return frame


def load_log(engine: Engine, start: dt.datetime, end: dt.datetime) -> Log:
    """Messages created in [start, end) with their conversations, handoffs, ratings and stored sentiment."""
    ids = select(Message.conversation_id).where(Message.created_at >= start, Message.created_at < end).distinct()
    messages = _frame(
        engine,
        select(
            Message.id.label("message_id"),
            Message.conversation_id,
            Message.direction,
            Message.sender,
            Message.text,
            Message.intent,
            Message.confidence,
            Message.created_at,
        ).where(Message.created_at >= start, Message.created_at < end),
        ["created_at"],
    )
    conversations = _frame(
        engine,
        select(
            Conversation.id.label("conversation_id"),
            Conversation.channel,
            Conversation.external_user_id,
            Conversation.customer_id,
            Conversation.started_at,
        ).where(Conversation.id.in_(ids)),
        ["started_at"],
    )
    bound = conversations["customer_id"].notna()
    conversations["customer_key"] = ("customer:" + conversations["customer_id"].astype("Int64").astype(str)).where(
        bound, conversations["channel"] + ":" + conversations["external_user_id"]
    )
    handoffs = _frame(
        engine,
        select(
            Handoff.id.label("handoff_id"),
            Handoff.conversation_id,
            Handoff.reason,
            Handoff.agent,
            Handoff.created_at,
            Handoff.claimed_at,
            Handoff.closed_at,
        ).where(Handoff.conversation_id.in_(ids), Handoff.created_at >= start, Handoff.created_at < end),
        ["created_at", "claimed_at", "closed_at"],
    )
    ratings = _frame(
        engine,
        select(Rating.conversation_id, Rating.score, Rating.human_involved, Rating.agent, Rating.created_at).where(
            Rating.conversation_id.in_(ids), Rating.created_at >= start, Rating.created_at < end
        ),
        ["created_at"],
    )
    ratings["human_involved"] = ratings["human_involved"].astype(bool)
    scores = _frame(
        engine,
        select(MessageSentiment.message_id, MessageSentiment.score)
        .join(Message, Message.id == MessageSentiment.message_id)
        .where(Message.created_at >= start, Message.created_at < end),
        [],
    )
    sentiment = scores.set_index("message_id")["score"]
    return Log(conversations.drop(columns=["external_user_id"]), messages, handoffs, ratings, sentiment)


def store_sentiment(
    sessions: sessionmaker[Session],
    log: Log,
    scorer: Callable[[list[str]], Sequence[float] | np.ndarray],
    model: str,
    *,
    batch: int = 512,
) -> pd.Series:
    """Score the customer messages of `log` that have no stored score for `model` (unique texts once)."""
    m = log.messages
    known = log.sentiment if log.sentiment is not None else pd.Series(dtype=float)
    todo = m[(m["direction"] == "in") & (m["sender"] == "customer") & ~m["message_id"].isin(known.index)]
    if todo.empty:
        return known
    texts = todo["text"].fillna("").astype(str)
    unique = texts.drop_duplicates().tolist()
    by_text: dict[str, float] = {}
    for i in range(0, len(unique), batch):
        chunk = unique[i : i + batch]
        by_text.update(zip(chunk, (float(s) for s in scorer(chunk)), strict=True))
    new = pd.Series(texts.map(by_text).to_numpy(), index=todo["message_id"].to_numpy())
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with sessions() as session, session.begin():
        rows = [{"message_id": int(k), "score": float(v), "model": model, "scored_at": now} for k, v in new.items()]
        for i in range(0, len(rows), 10_000):
            session.execute(insert(MessageSentiment), rows[i : i + 10_000])
    return pd.concat([known, new])


def load_events(
    engine: Engine, sender_prefix: str | None = None, limit: int = 5_000_000
) -> list[tuple[str | None, str | None]]:
    """Rasa's broker events as (sender_id, data) rows, oldest first (optionally of senders with a prefix)."""
    from core.models_reports import BrokerEvent

    query = select(BrokerEvent.sender_id, BrokerEvent.data).order_by(BrokerEvent.id).limit(limit)
    if sender_prefix:
        query = query.where(BrokerEvent.sender_id.startswith(sender_prefix))
    with engine.connect() as conn:
        return [(row[0], row[1]) for row in conn.execute(query)]
