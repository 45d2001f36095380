"""Sending campaign messages through the channels: a small sender interface and the widget-notice sender.

A `NoticeSender` records a notice for a customer on its channel. The widget sender stores it in
`customer_notices` (shown when the customer next opens the widget); the WeChat sender being built
elsewhere implements the same two methods (reachable = the customer is bound on WeChat).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

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
