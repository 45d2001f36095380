"""Queries on customers and channel bindings (sessions are passed in by the caller)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.clock import utc_now
from core.models import ChannelBinding, Customer
from core.models_billing import DemoState

CUSTOMER_KINDS = ("residential", "residential_tou", "shared", "commercial", "industrial")
SHOWCASE_KINDS = ("residential", "residential_tou", "commercial", "industrial")


def find_by_account(session: Session, account_no: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.account_no == account_no))


def reverify_since(days: float) -> dt.datetime:
    """The oldest verification a binding may have for its customer's data to be shown without verifying again
    (`binding_reverify_days`)."""
    return utc_now() - dt.timedelta(days=days)


def bound_customer(
    session: Session, channel: str, external_user_id: str, verified_since: dt.datetime | None = None
) -> Customer | None:
    """The customer bound to a channel user; with `verified_since`, only when the binding was verified since
    then (an older one is verified again before personal data is shown)."""
    query = (
        select(Customer)
        .join(ChannelBinding, ChannelBinding.customer_id == Customer.id)
        .where(ChannelBinding.channel == channel, ChannelBinding.external_user_id == external_user_id)
    )
    if verified_since is not None:
        query = query.where(ChannelBinding.verified_at >= verified_since)
    return session.scalar(query)


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


def of_kind(kind: str) -> Any:
    """The SQL condition for a kind of customer: residential_tou by its tariff, the others by customer category
    (residential without the TOU households)."""
    if kind == "residential_tou":
        return Customer.tariff_category == "residential_tou"
    return (Customer.customer_category == kind) & (Customer.tariff_category != "residential_tou")


@dataclass(frozen=True)
class DemoAccount:
    kind: str  # residential / residential_tou / commercial …
    account_no: str
    phone_last4: str


def demo_showcase(session: Session, per_kind: int = 1) -> list[DemoAccount]:
    """A few demo accounts of each kind with the phone digits that bind them — only in a demo database (one made by
    `powerdesk demo seed`, with its DemoState row); empty otherwise, so real customers are never listed."""
    if session.scalar(select(DemoState.id).limit(1)) is None:
        return []
    shown: list[DemoAccount] = []
    for kind in SHOWCASE_KINDS:
        query = select(Customer).where(of_kind(kind), Customer.phone.is_not(None)).order_by(Customer.id).limit(per_kind)
        shown += [DemoAccount(kind, c.account_no, (c.phone or "")[-4:]) for c in session.scalars(query)]
    return shown
