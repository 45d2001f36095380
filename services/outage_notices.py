"""The outbox of proactive outage notices (table `outage_notices`): queued when a planned outage is announced, when
its times change or it is called off after customers were told, and when a fault is closed; claimed by delivery
workers, and the outcome recorded on each row.

- Queuing is idempotent: one row per (event, customer, kind, revision) under a unique key, inserted with ON
  CONFLICT DO NOTHING (SQLite and PostgreSQL), so announcing or closing twice tells nobody twice. `revision` is 0
  except for `changed` notices, where it is the event's version after the change: each change is told once.
- Follow-ups (`changed`, `called_off`) go only to customers already told (their `announced` notice went out or is
  going out), on the channel they were told on; a customer whose notice is still waiting needs none, because a
  notice's words are written from the event as it is when the notice goes out.
- Who: the bound customers the event affects (one query over the bindings and the event's scope). The channel: the
  customer's WeChat openid when they are bound on WeChat (a push reaches them now; the most recently verified openid
  when there are several), else the widget (a notice shown when they next open it). When a fault is repaired, also
  the users who reported it by the address they typed (`outage_contacts` without a bound customer of the event), on
  the channel they wrote on: a push to their openid, or a message in their widget conversation. Other unbound
  customers are not told.
- Claiming is atomic: the due pending rows are selected (on PostgreSQL FOR UPDATE SKIP LOCKED: rows another
  worker is taking are skipped; SQLite has one writer at a time) and taken with `UPDATE … SET status='sending',
  claim=<token> WHERE id IN (…) AND status='pending'`, so two workers never take the same row. A row still `sending` after
  `stale_after` (its worker died) is pending again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.clock import local_now, utc_now
from core.models import ChannelBinding, Conversation, Customer, Message
from core.models_outages import OutageContact, OutageEvent, OutageNotice
from services.notices import WidgetNoticeSender
from services.outage_notice_text import EventFacts
from services.outage_scope import covers

CHANNELS = ("wechat", "widget")  # the order of preference
STATUSES = ("pending", "sending", "sent", "failed", "cancelled")
CALLED_OFF = "the planned outage was closed (called off or over) before this notice went out"
NO_CONVERSATION = "the visitor has no widget conversation any more"
_NOTICES: Table = OutageNotice.__table__  # type: ignore[assignment]


FOLLOW_UPS = ("changed", "called_off")
TOLD = ("sending", "sent")  # an `announced` notice in these states has reached, or is reaching, the customer


def notice_kind(event: OutageEvent, now: dt.datetime) -> str | None:
    """`announced` for a planned outage not closed and not over by `now` (local), `restored` for a closed fault."""
    if event.kind == "planned" and event.closed_at is None and event.end > now:
        return "announced"
    if event.kind == "fault" and event.closed_at is not None:
        return "restored"
    return None


def recipients(session: Session, event: OutageEvent) -> dict[int, tuple[str, str | None]]:
    """customer id → (channel, WeChat openid or None) for every bound customer the event affects."""
    rows = session.execute(
        select(ChannelBinding.customer_id, ChannelBinding.channel, ChannelBinding.external_user_id)
        .join(Customer, Customer.id == ChannelBinding.customer_id)
        .where(ChannelBinding.channel.in_(CHANNELS), covers(event))
        .order_by(ChannelBinding.verified_at, ChannelBinding.id)
    )
    chosen: dict[int, tuple[str, str | None]] = {}
    for customer_id, channel, user in rows:  # oldest first: a later WeChat binding replaces an earlier choice
        if channel == "wechat":
            chosen[customer_id] = ("wechat", user)
        else:
            chosen.setdefault(customer_id, ("widget", None))
    return chosen


def _insert_ignoring_repeats(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(OutageNotice)
    elif dialect == "sqlite":
        statement = sqlite.insert(OutageNotice)
    else:
        raise NotImplementedError(f"outage notices need SQLite or PostgreSQL, not {dialect}")
    statement = statement.on_conflict_do_nothing(index_elements=["outage_id", "customer_id", "kind", "revision"])
    session.execute(statement, rows)


def queue_notices(session: Session, event: OutageEvent, now: dt.datetime | None = None) -> int:
    """Queue the notices an event calls for now (see `notice_kind`), in the caller's transaction; notices already
    queued stay as they are. Returns how many of that kind the event has."""
    kind = notice_kind(event, now or local_now())
    if kind is None:
        return 0
    queued_at = utc_now()
    chosen = recipients(session, event)
    rows = [
        _row(event.id, customer_id, kind, 0, channel, recipient, queued_at)
        for customer_id, (channel, recipient) in chosen.items()
    ]
    if kind == "restored":
        rows += _reporters(session, event, set(chosen), queued_at)
    if rows:
        _insert_ignoring_repeats(session, rows)
    count = select(func.count()).where(OutageNotice.outage_id == event.id, OutageNotice.kind == kind)
    return int(session.scalar(count) or 0)


def _reporters(session: Session, event: OutageEvent, told: set[int], at: dt.datetime) -> list[dict[str, Any]]:
    """Restoration notices for the users who reported the fault and are not told as its bound customers (they
    gave an address in it, or their customer lies outside its scope), on the channel they wrote on; none for a
    user already queued (the unique key cannot see rows without a customer)."""
    queued = set(
        session.execute(
            select(OutageNotice.channel, OutageNotice.recipient).where(
                OutageNotice.outage_id == event.id, OutageNotice.kind == "restored", OutageNotice.customer_id.is_(None)
            )
        ).tuples()
    )
    contacts = session.execute(
        select(OutageContact.channel, OutageContact.user_id, OutageContact.customer_id)
        .where(OutageContact.event_id == event.id, OutageContact.channel.in_(CHANNELS))
        .order_by(OutageContact.id)
    )
    rows = []
    for channel, user, customer_id in contacts:
        if (customer_id is not None and customer_id in told) or (customer_id is None and (channel, user) in queued):
            continue
        rows.append(_row(event.id, customer_id, "restored", 0, channel, user, at))
        queued.add((channel, user))
    return rows


def _row(
    outage_id: int,
    customer_id: int | None,
    kind: str,
    revision: int,
    channel: str,
    recipient: str | None,
    at: dt.datetime,
) -> dict[str, Any]:
    return {
        "outage_id": outage_id,
        "customer_id": customer_id,
        "kind": kind,
        "revision": revision,
        "channel": channel,
        "recipient": recipient,
        "status": "pending",
        "attempts": 0,
        "due_at": at,
        "created_at": at,
    }


def queue_follow_ups(session: Session, event: OutageEvent, kind: str) -> int:
    """Queue `changed` (the event's times changed: once per version) or `called_off` notices for the customers
    already told about the planned outage, in the caller's transaction. A customer with a `changed` notice still
    waiting gets no second one (it is written from the event as it is when it goes out). Returns how many."""
    if kind not in FOLLOW_UPS:
        raise ValueError(f"unknown follow-up notice {kind!r}; use one of {', '.join(FOLLOW_UPS)}")
    told = session.execute(
        select(OutageNotice.customer_id, OutageNotice.channel, OutageNotice.recipient).where(
            OutageNotice.outage_id == event.id, OutageNotice.kind == "announced", OutageNotice.status.in_(TOLD)
        )
    ).all()
    waiting_change = set(
        session.scalars(
            select(OutageNotice.customer_id).where(
                OutageNotice.outage_id == event.id, OutageNotice.kind == "changed", OutageNotice.status == "pending"
            )
        )
    )
    revision = event.version if kind == "changed" else 0
    queued_at = utc_now()
    rows = [
        _row(event.id, customer_id, kind, revision, channel, recipient, queued_at)
        for customer_id, channel, recipient in told
        if kind == "called_off" or customer_id not in waiting_change
    ]
    if rows:
        _insert_ignoring_repeats(session, rows)
    return len(rows)


@dataclass(frozen=True)
class ClaimedNotice:
    id: int
    customer_id: int | None  # none: a user not bound (the recipient is their openid or widget visitor id)
    kind: str  # announced / changed / called_off / restored
    channel: str
    recipient: str | None
    attempts: int
    outage_id: int
    facts: EventFacts


def claim_due(
    session: Session, token: str, *, channels: tuple[str, ...], limit: int, stale_after: dt.timedelta
) -> tuple[list[ClaimedNotice], int]:
    """Take up to `limit` due pending notices on `channels` for the worker `token` (status `sending`); an
    `announced` or `changed` notice of a planned outage closed meanwhile is `cancelled` instead (how many: the
    second value). Commit after it."""
    now = utc_now()
    session.execute(
        update(OutageNotice)
        .where(OutageNotice.status == "sending", OutageNotice.claimed_at < now - stale_after)
        .values(status="pending", claim=None)
        .execution_options(synchronize_session=False)
    )
    due = (
        select(OutageNotice.id)
        .where(OutageNotice.status == "pending", OutageNotice.due_at <= now, OutageNotice.channel.in_(channels))
        .order_by(OutageNotice.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # two statements: PostgreSQL may run an `IN (SELECT … LIMIT n)` subquery more than once and take more than n
    ids = list(session.scalars(due))
    if not ids:
        return [], 0
    session.execute(
        update(OutageNotice)
        .where(OutageNotice.id.in_(ids), OutageNotice.status == "pending")
        .values(status="sending", claim=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(OutageNotice, OutageEvent)
        .join(OutageEvent, OutageEvent.id == OutageNotice.outage_id)
        .where(OutageNotice.claim == token, OutageNotice.status == "sending")
        .order_by(OutageNotice.id)
    )
    claimed, called_off = [], []
    for notice, event in rows:
        if notice.kind in ("announced", "changed") and event.closed_at is not None:
            called_off.append(notice.id)
            continue
        facts = EventFacts(
            event.kind, event.start, event.end, event.reason, event.scope, event.scope_value, event.closed_at
        )
        claimed.append(
            ClaimedNotice(
                notice.id,
                notice.customer_id,
                notice.kind,
                notice.channel,
                notice.recipient,
                notice.attempts,
                notice.outage_id,
                facts,
            )
        )
    if called_off:
        record(session, token, [Outcome(i, "cancelled", 0, CALLED_OFF) for i in called_off])
    return claimed, len(called_off)


@dataclass(frozen=True)
class Outcome:
    """What became of a claimed notice: sent / failed / cancelled, or pending again (a retry due at `due_at`)."""

    id: int
    status: str
    attempts: int  # in total, earlier rounds included
    error: str | None = None
    text: str | None = None
    due_at: dt.datetime | None = None
    via: str | None = None  # message / template / widget, once sent


def record(session: Session, token: str, outcomes: list[Outcome]) -> None:
    """Write the outcomes on the rows `token` still holds (one executemany)."""
    if not outcomes:
        return
    now = utc_now()
    statement = (
        update(_NOTICES)
        .where(_NOTICES.c.id == bindparam("b_id"), _NOTICES.c.claim == bindparam("b_claim"))
        .values(
            status=bindparam("b_status"),
            attempts=bindparam("b_attempts"),
            last_error=bindparam("b_error"),
            text=bindparam("b_text"),
            via=bindparam("b_via"),
            sent_at=bindparam("b_sent_at"),
            due_at=bindparam("b_due_at"),
            claim=None,
        )
    )
    session.execute(
        statement,
        [
            {
                "b_id": o.id,
                "b_claim": token,
                "b_status": o.status,
                "b_attempts": o.attempts,
                "b_error": o.error[:2000] if o.error else None,
                "b_text": o.text,
                "b_via": o.via if o.status == "sent" else None,
                "b_sent_at": now if o.status == "sent" else None,
                "b_due_at": o.due_at or now,
            }
            for o in outcomes
        ],
    )


def deliver_to_widget(session: Session, token: str, notices: list[tuple[ClaimedNotice, str]]) -> tuple[int, int]:
    """Widget notices for the claimed rows `token` still holds, recorded sent in the same transaction: exactly once.
    A bound customer's goes to `customer_notices` (shown when they next open the widget); a visitor without a
    customer gets it as a message in their latest widget conversation (shown with its history; failed when they
    have none). Returns how many were sent and how many failed."""
    held = set(
        session.scalars(
            select(OutageNotice.id).where(
                OutageNotice.id.in_([n.id for n, _ in notices]),
                OutageNotice.claim == token,
                OutageNotice.status == "sending",
            )
        )
    )
    widget = WidgetNoticeSender()
    outcomes = []
    for notice, text in notices:
        if notice.id not in held:
            continue
        if notice.customer_id is not None:
            widget.send(session, notice.customer_id, text, None)
        elif not _to_visitor(session, notice, text):
            outcomes.append(Outcome(notice.id, "failed", notice.attempts, NO_CONVERSATION, text))
            continue
        outcomes.append(Outcome(notice.id, "sent", notice.attempts, None, text, via="widget"))
    record(session, token, outcomes)
    sent = sum(o.status == "sent" for o in outcomes)
    return sent, len(outcomes) - sent


def _to_visitor(session: Session, notice: ClaimedNotice, text: str) -> bool:
    """The notice as a message in the visitor's latest widget conversation; False when they have none."""
    conversation_id = session.scalar(
        select(Conversation.id)
        .where(Conversation.channel == "widget", Conversation.external_user_id == (notice.recipient or ""))
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    if conversation_id is None:
        return False
    custom = {"outage_notice": {"outage_id": notice.outage_id, "kind": notice.kind}}
    session.add(
        Message(
            conversation_id=conversation_id,
            direction="out",
            sender="system",
            text=text,
            payload={"custom": custom},
            status="delivered",
        )
    )
    return True
