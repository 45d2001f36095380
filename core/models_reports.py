"""Tables of the satisfaction reports (issue 8): Rasa's broker events and the sentiment of stored messages.

`events` has exactly the layout of Rasa 3.6's SQLEventBroker table (id, sender_id, data as JSON text), so
Rasa's own `create_all` finds it already made by the migration and writes into it; the RabbitMQ consumer
(`powerdesk events consume`) stores into the same table, so the reports read one place either way.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, _now


class BrokerEvent(Base):
    """One Rasa tracker event as published by its event broker (JSON in `data`)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[str | None] = mapped_column(Text)


class MessageSentiment(Base):
    """The sentiment model's score of one customer message (computed once, reused by every report)."""

    __tablename__ = "message_sentiment"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)  # -1 … 1
    model: Mapped[str] = mapped_column(String(80))
    scored_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
