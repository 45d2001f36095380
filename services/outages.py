"""Outage events (计划停电 planned, 故障停电 fault): create, update (PATCH), close, list, and the events affecting
one customer. Start and end are local times (naive, Asia/Shanghai); record times are UTC (see core.models_outages).

Updates are serialised per event: each one first bumps the row's version with an UPDATE, which takes the row's
lock on PostgreSQL and the write lock on SQLite, so two PATCHes arriving together run one after the other and
both are recorded, with consecutive versions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.clock import as_local, local_iso, local_now, utc_now
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Customer
from core.models_outages import OutageEvent, OutageUpdate
from services.outage_notices import queue_follow_ups, queue_notices
from services.outage_scope import (
    SCOPES,
    affected_count,
    affecting,
    check_scope_value,
    customer_ids,
    link_customers,
    parse_accounts,
)

KINDS = ("planned", "fault")
MAX_REASON_CHARS = 500
MAX_DURATION = dt.timedelta(days=31)
Which = Literal["active", "coming", "all"]


@dataclass(frozen=True)
class NewOutage:
    """An event as the dispatch system (or an operator) gives it; `end` is a fault's estimated restoration."""

    kind: str
    start: dt.datetime
    end: dt.datetime
    reason: str
    scope: str  # area / feeder / transformer_area / accounts
    scope_value: str | None = None
    accounts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OutageView:
    id: int
    kind: str
    status: str  # announced / active / ended / closed, as of now
    start: str  # local ISO 8601
    end: str
    reason: str
    scope: str
    scope_value: str | None
    affected: int
    source: str
    version: int
    created_at: str
    updated_at: str
    closed_at: str | None
    history: list[dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def effective_status(event: OutageEvent, now: dt.datetime) -> str:
    """closed; announced before it starts; ended when a planned outage's end has passed; otherwise active (a fault
    stays active past its estimated restoration until it is closed)."""
    if event.closed_at is not None:
        return "closed"
    if now < event.start:
        return "announced"
    if event.kind == "planned" and now >= event.end:
        return "ended"
    return "active"


def _reason(text: str) -> str:
    reason = text.strip()
    if not reason:
        raise InvalidInput("give a reason (停电原因), e.g. 10kV线路检修")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"the reason has {len(reason)} characters; keep it within {MAX_REASON_CHARS}")
    return reason


def _check_times(start: dt.datetime, end: dt.datetime) -> None:
    if end <= start:
        raise InvalidInput(
            f"end {end.isoformat(timespec='minutes')} is not after start {start.isoformat(timespec='minutes')}; "
            "for a fault, end is the estimated restoration"
        )
    if end - start > MAX_DURATION:
        raise InvalidInput(f"an outage lasts at most {MAX_DURATION.days} days; check the dates {start} … {end}")


def create_outage(
    *, session: Session, new: NewOutage, by: str, source: str = "api", now: dt.datetime | None = None
) -> OutageEvent:
    """Validate and store an event (InvalidInput saying what to fix), its explicit customers and its first history
    entry; `now` (local) decides whether it is announced (not started yet) or active."""
    if new.kind not in KINDS:
        raise InvalidInput(f"unknown outage kind {new.kind[:20]!r}; use planned (计划停电) or fault (故障停电)")
    if new.scope not in SCOPES:
        raise InvalidInput(f"unknown scope {new.scope[:20]!r}; give one of {', '.join(SCOPES)}")
    start, end = as_local(new.start), as_local(new.end)
    _check_times(start, end)
    reason = _reason(new.reason)
    ids: list[int] = []
    value = (new.scope_value or "").strip() or None
    if new.scope == "accounts":
        ids, value = customer_ids(session, parse_accounts(new.accounts)), None
    elif value is None:
        raise InvalidInput(f"give the {new.scope} the outage affects")
    else:
        check_scope_value(session, new.scope, value)
    recorded = utc_now()
    event = OutageEvent(
        kind=new.kind,
        status="announced" if start > (now or local_now()) else "active",
        start=start,
        end=end,
        reason=reason,
        scope=new.scope,
        scope_value=value,
        accounts=len(ids),
        source=source,
        version=1,
        created_at=recorded,
        updated_at=recorded,
    )
    session.add(event)
    session.flush()
    if ids:
        link_customers(session, event.id, ids)
    changes = {"start": local_iso(start), "end": local_iso(end), "reason": reason}
    session.add(OutageUpdate(event_id=event.id, version=1, action="created", changes=changes, by=by, at=recorded))
    queue_notices(session, event, now)  # a planned outage: its bound customers are told (services.outage_notices)
    return event


def get_outage(*, session: Session, event_id: int) -> OutageEvent:
    event = session.get(OutageEvent, event_id)
    if event is None:
        raise NotFound(f"no outage event {event_id}; list them with `powerdesk outage list` or GET /api/v1/outages")
    return event


def _lock_open(session: Session, event_id: int) -> OutageEvent:
    """Bump the version of an event that is not closed (waiting for any other change of it), then read it."""
    bumped = session.execute(
        update(OutageEvent)
        .where(OutageEvent.id == event_id, OutageEvent.closed_at.is_(None))
        .values(version=OutageEvent.version + 1)
        .execution_options(synchronize_session=False)
    )
    if not bumped.rowcount:  # type: ignore[attr-defined]
        closed = get_outage(session=session, event_id=event_id)
        raise Conflict(
            f"outage event {event_id} was closed at {local_iso(closed.closed_at, utc=True)} and cannot change; "
            "a new outage there is a new event"
        )
    event = session.get(OutageEvent, event_id, populate_existing=True)  # as the update left it
    return event if event is not None else get_outage(session=session, event_id=event_id)


def update_outage(
    *,
    session: Session,
    event_id: int,
    by: str,
    end: dt.datetime | None = None,
    reason: str | None = None,
    start: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> OutageEvent:
    """Change the start (a planned outage moved), the end (a fault's estimated restoration) and/or the reason;
    Conflict once the event is closed. When a planned outage not over yet changes its times, the customers already
    told are told again (a `changed` notice, once per change)."""
    if start is None and end is None and reason is None:
        raise InvalidInput("nothing to update; give start, end (estimated restoration) and/or reason")
    event = _lock_open(session, event_id)
    changes: dict[str, Any] = {}
    new_start = as_local(start) if start is not None else event.start
    new_end = as_local(end) if end is not None else event.end
    _check_times(new_start, new_end)
    for name, before, after in (("start", event.start, new_start), ("end", event.end, new_end)):
        if after != before:
            changes[name] = [local_iso(before), local_iso(after)]
            setattr(event, name, after)
    if reason is not None:
        text = _reason(reason)
        if text != event.reason:
            changes["reason"] = [event.reason, text]
            event.reason = text
    _record(session, event, "updated", changes, by)
    if event.kind == "planned" and ("start" in changes or "end" in changes) and event.end > (now or local_now()):
        queue_follow_ups(session, event, "changed")
    return event


def close_outage(*, session: Session, event_id: int, by: str, now: dt.datetime | None = None) -> OutageEvent:
    """Power is back (a fault) or the work is over or called off (planned); Conflict when already closed. A fault's
    customers are told that power is back; a planned outage closed before it started was called off, and the
    customers already told about it are told so."""
    event = _lock_open(session, event_id)
    event.closed_at = utc_now()
    changes = {"status": [event.status, "closed"]}
    event.status = "closed"
    _record(session, event, "closed", changes, by)
    if event.kind == "planned" and event.start > (now or local_now()):
        queue_follow_ups(session, event, "called_off")
    else:
        queue_notices(session, event, now)  # a fault: power is back, its bound customers are told
    return event


def _record(session: Session, event: OutageEvent, action: str, changes: dict[str, Any], by: str) -> OutageEvent:
    now = utc_now()
    event.updated_at = now
    session.add(OutageUpdate(event_id=event.id, version=event.version, action=action, changes=changes, by=by, at=now))
    session.flush()
    return event


def list_outages(*, session: Session, which: Which, now: dt.datetime, limit: int = 500) -> list[OutageEvent]:
    """Active events (started, not closed; a planned one until its end), coming ones (not started), or all (the
    newest first)."""
    query = select(OutageEvent)
    if which == "active":
        running = or_(OutageEvent.kind == "fault", OutageEvent.end > now)
        query = query.where(OutageEvent.closed_at.is_(None), OutageEvent.start <= now, running)
        query = query.order_by(OutageEvent.start)
    elif which == "coming":
        query = query.where(OutageEvent.closed_at.is_(None), OutageEvent.start > now).order_by(OutageEvent.start)
    else:
        query = query.order_by(OutageEvent.id.desc())
    return list(session.scalars(query.limit(limit)))


def outages_for_customer(session: Session, customer: Customer, now: dt.datetime, days: int = 7) -> list[OutageEvent]:
    """The planned outages affecting the customer from now to `days` ahead (one in progress included) and any
    active fault affecting them, earliest first."""
    horizon = now + dt.timedelta(days=days)
    planned = (OutageEvent.kind == "planned") & (OutageEvent.start < horizon) & (OutageEvent.end > now)
    fault = (OutageEvent.kind == "fault") & (OutageEvent.start <= now)
    query = (
        select(OutageEvent)
        .where(OutageEvent.closed_at.is_(None), or_(planned, fault), affecting(customer))
        .order_by(OutageEvent.start, OutageEvent.id)
    )
    return list(session.scalars(query))


def outage_view(session: Session, event: OutageEvent, now: dt.datetime, history: bool = False) -> OutageView:
    updates = None
    if history:
        rows = session.scalars(select(OutageUpdate).where(OutageUpdate.event_id == event.id).order_by(OutageUpdate.id))
        updates = [
            {
                "version": u.version,
                "action": u.action,
                "changes": u.changes,
                "by": u.by,
                "at": local_iso(u.at, utc=True),
            }
            for u in rows
        ]
    return OutageView(
        id=event.id,
        kind=event.kind,
        status=effective_status(event, now),
        start=local_iso(event.start) or "",
        end=local_iso(event.end) or "",
        reason=event.reason,
        scope=event.scope,
        scope_value=event.scope_value,
        affected=affected_count(session, event),
        source=event.source,
        version=event.version,
        created_at=local_iso(event.created_at, utc=True) or "",
        updated_at=local_iso(event.updated_at, utc=True) or "",
        closed_at=local_iso(event.closed_at, utc=True),
        history=updates,
    )
