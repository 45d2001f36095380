"""Queries on customers and channel bindings (sessions are passed in by the caller)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.models import ChannelBinding, Customer


def find_by_account(session: Session, account_no: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.account_no == account_no))


def bound_customer(session: Session, channel: str, external_user_id: str) -> Customer | None:
    return session.scalar(
        select(Customer)
        .join(ChannelBinding, ChannelBinding.customer_id == Customer.id)
        .where(ChannelBinding.channel == channel, ChannelBinding.external_user_id == external_user_id)
    )


def bind(session: Session, channel: str, external_user_id: str, customer: Customer) -> None:
    """Bind (or re-bind) a channel user to a verified customer."""
    binding = session.scalar(
        select(ChannelBinding).where(
            ChannelBinding.channel == channel, ChannelBinding.external_user_id == external_user_id
        )
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if binding is None:
        session.add(
            ChannelBinding(channel=channel, external_user_id=external_user_id, customer_id=customer.id, verified_at=now)
        )
    else:
        binding.customer_id = customer.id
        binding.verified_at = now


def unbind(session: Session, channel: str, external_user_id: str) -> bool:
    result = session.execute(
        delete(ChannelBinding).where(
            ChannelBinding.channel == channel, ChannelBinding.external_user_id == external_user_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
