"""Checking an account number and phone digits before a channel user is bound, with the failures counted
in the database per account, per channel user and per client address.

The attempt counter used to live in a conversation slot: a new visitor id or `/restart` started it again,
so all 10,000 digit combinations were reachable. Now a locked account stays locked for every visitor,
and an unknown account gets the same answer as a wrong phone (no way to learn which accounts exist).
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import BindAttempt, Customer
from services.customers import find_by_account

_ACCOUNT = re.compile(r"^\d{6,32}$")
_LAST4 = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class BindLimits:
    per_account: int = 5
    per_user: int = 3
    per_client: int = 10
    window: dt.timedelta = dt.timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings: Any) -> BindLimits:
        return cls(
            settings.bind_failures_per_account,
            settings.bind_failures_per_user,
            settings.bind_failures_per_client,
            dt.timedelta(hours=settings.bind_lock_hours),
        )


@dataclass(frozen=True)
class BindCheck:
    outcome: Literal["verified", "wrong", "locked"]
    customer: Customer | None = None
    attempts_left: int = 0


def _failures(session: Session, column: Any, value: str, since: dt.datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(BindAttempt)
            .where(column == value, BindAttempt.at >= since, ~BindAttempt.ok)
        )
        or 0
    )


def attempts_left(
    session: Session, source: str, client: str | None, account_no: str | None, now: dt.datetime, limits: BindLimits
) -> int:
    """How many more failures this user (and client, and account when given) may have; 0: locked."""
    since = now - limits.window
    left = [limits.per_user - _failures(session, BindAttempt.source, source, since)]
    if client:
        left.append(limits.per_client - _failures(session, BindAttempt.client, client, since))
    if account_no:
        left.append(limits.per_account - _failures(session, BindAttempt.account_no, account_no, since))
    return max(0, min(left))


def check_binding(
    session: Session,
    account_no: str,
    last4: str,
    source: str,
    client: str | None,
    now: dt.datetime,
    limits: BindLimits,
) -> BindCheck:
    """Verify and record one attempt (the caller commits). Exactly 4 digits that equal the end of the phone on
    record; an unknown account, a malformed value and a wrong phone are the same `wrong`."""
    # cut to the columns' widths before counting, so what is counted is what is stored
    account_no, last4, source = str(account_no or "").strip()[:32], str(last4 or "").strip(), source[:160]
    left = attempts_left(session, source, client, account_no or None, now, limits)
    if left <= 0:
        return BindCheck("locked")
    customer = find_by_account(session, account_no) if _ACCOUNT.match(account_no) else None
    phone = (customer.phone or "") if customer is not None else ""
    well_formed = _LAST4.match(last4) is not None and len(phone) >= 4
    # compared even when there is nothing to compare with, so timing says nothing about the account
    ok = hmac.compare_digest((phone[-4:] if well_formed else "----").encode(), last4.encode()) and well_formed
    session.add(BindAttempt(account_no=account_no, source=source, client=client, ok=ok, at=now))
    if ok:
        return BindCheck("verified", customer)
    left -= 1  # this failure counts against the user, the client and the account alike
    return BindCheck("locked") if left <= 0 else BindCheck("wrong", attempts_left=left)
