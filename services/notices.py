"""Sending campaign messages through the channels: a small sender interface and the widget-notice sender.

A `NoticeSender` records a notice for a customer on its channel. The widget sender stores it in
`customer_notices` (shown when the customer next opens the widget); the WeChat sender being built
elsewhere implements the same two methods (reachable = the customer is bound on WeChat).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import utc_now
from core.models_recommend import CustomerNotice


class NoticeSender(Protocol):
    channel: str

    def can_reach(self, session: Session, customer_id: int) -> bool: ...

    def send(self, session: Session, customer_id: int, text: str, campaign_id: int | None) -> bool: ...


class WidgetNoticeSender:
    """Widget notices: every customer can get one; it waits in `customer_notices` until they visit."""

    channel = "widget"

    def can_reach(self, session: Session, customer_id: int) -> bool:
        return True

    def send(self, session: Session, customer_id: int, text: str, campaign_id: int | None) -> bool:
        session.add(CustomerNotice(customer_id=customer_id, channel=self.channel, campaign_id=campaign_id, text=text))
        return True


@dataclass(frozen=True)
class ShownNotice:
    id: int
    text: str
    created_at: dt.datetime  # UTC


def take_unread(session: Session, customer_id: int, channel: str = "widget", limit: int = 20) -> list[ShownNotice]:
    """The customer's unread notices on `channel`, oldest first, marked read (the caller commits)."""
    rows = session.scalars(
        select(CustomerNotice)
        .where(
            CustomerNotice.customer_id == customer_id,
            CustomerNotice.channel == channel,
            CustomerNotice.read_at.is_(None),
        )
        .order_by(CustomerNotice.id.desc())
        .limit(limit)
    ).all()
    if rows:
        session.execute(
            update(CustomerNotice)
            .where(CustomerNotice.id.in_([n.id for n in rows]))
            .values(read_at=utc_now())
            .execution_options(synchronize_session=False)
        )
    return [ShownNotice(n.id, n.text, n.created_at) for n in reversed(rows)]
