"""Outage events in the database (SQLite and PostgreSQL): validation, updates serialised, customers matched."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Customer
from core.models_outages import OutageCustomer, OutageUpdate
from services.outage_scope import MAX_ACCOUNTS
from services.outages import (
    NewOutage,
    close_outage,
    create_outage,
    effective_status,
    get_outage,
    list_outages,
    outage_view,
    outages_for_customer,
    update_outage,
)
from tests.outage_helpers import add_customers

pytestmark = pytest.mark.db
NOW = dt.datetime(2026, 12, 7, 10, 0)


def planned(**kw: object) -> NewOutage:
    base: dict[str, object] = {
        "kind": "planned",
        "start": NOW + dt.timedelta(days=1),
        "end": NOW + dt.timedelta(days=1, hours=8),
        "reason": "10kV线路检修",
        "scope": "feeder",
        "scope_value": "10kV文三路1号线",
    }
    return NewOutage(**{**base, **kw})  # type: ignore[arg-type]


def create(sessions: sessionmaker[Session], new: NewOutage) -> int:
    with transaction(sessions) as session:
        return create_outage(session=session, new=new, by="test", now=NOW).id


def test_bad_events_are_refused_saying_what_to_do(sessions: sessionmaker[Session]) -> None:
    add_customers(sessions, 3)
    cases = [
        (planned(scope="area", scope_value="月球区"), "unknown area '月球区'; 1 have customers, e.g. 西湖区"),
        (planned(scope_value="10kV不存在线"), "powerdesk outage scopes feeder"),
        (planned(end=NOW + dt.timedelta(days=1)), "is not after start"),
        (planned(end=NOW), "is not after start"),
        (planned(kind="drill"), "use planned (计划停电) or fault"),
        (planned(reason="  "), "give a reason"),
        (planned(scope="accounts", scope_value=None, accounts=["3301000000", "9999999999"]), "9999999999"),
        (planned(scope="accounts", scope_value=None, accounts=[" ", ""]), "no account numbers"),
    ]
    for new, message in cases:
        with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
            create(sessions, new)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutageUpdate)) == 0


def test_ten_thousand_accounts_are_accepted_and_one_more_refused(sessions: sessionmaker[Session]) -> None:
    add_customers(sessions, MAX_ACCOUNTS)
    accounts = [f"{3301000000 + i}" for i in range(MAX_ACCOUNTS)]
    event_id = create(sessions, planned(scope="accounts", scope_value=None, accounts=accounts + accounts[:5]))
    with sessions() as session:
        linked = session.scalar(
            select(func.count()).select_from(OutageCustomer).where(OutageCustomer.event_id == event_id)
        )
        assert linked == MAX_ACCOUNTS  # repeats counted once
        view = outage_view(session, get_outage(session=session, event_id=event_id), NOW)
        assert view.affected == MAX_ACCOUNTS and view.scope == "accounts" and view.scope_value is None
        last = session.scalars(select(Customer).where(Customer.account_no == accounts[-1])).one()
        assert [e.id for e in outages_for_customer(session, last, NOW)] == [event_id]
    with pytest.raises(InvalidInput, match="at most 10000 accounts in one event, got 10001"):
        create(sessions, planned(scope="accounts", scope_value=None, accounts=[*accounts, "3301999999"]))


def test_updates_are_recorded_and_a_closed_event_cannot_change(sessions: sessionmaker[Session]) -> None:
    add_customers(sessions, 2)
    event_id = create(
        sessions, planned(kind="fault", start=NOW - dt.timedelta(hours=1), end=NOW + dt.timedelta(hours=2))
    )
    later = NOW + dt.timedelta(hours=4)
    with transaction(sessions) as session:
        update_outage(session=session, event_id=event_id, by="a", end=later)
        update_outage(session=session, event_id=event_id, by="b", reason="电缆终端头击穿")
    with pytest.raises(InvalidInput, match="is not after start"):
        with transaction(sessions) as session:
            update_outage(session=session, event_id=event_id, by="c", end=NOW - dt.timedelta(hours=2))
    with transaction(sessions) as session:
        event = close_outage(session=session, event_id=event_id, by="d")
        assert event.closed_at is not None and event.version == 4
    for change in (
        lambda s: update_outage(session=s, event_id=event_id, by="e", reason="x"),
        lambda s: close_outage(session=s, event_id=event_id, by="e"),
    ):
        with pytest.raises(Conflict, match=f"outage event {event_id} was closed at .* cannot change"):
            with transaction(sessions) as session:
                change(session)
    with pytest.raises(NotFound, match="no outage event 999"):
        with transaction(sessions) as session:
            update_outage(session=session, event_id=999, by="x", reason="y")
    with sessions() as session:
        view = outage_view(session, get_outage(session=session, event_id=event_id), NOW, history=True)
    assert view.status == "closed" and view.end == later.isoformat(timespec="minutes")
    assert [(h["version"], h["action"], h["by"]) for h in view.history or []] == [
        (1, "created", "test"),
        (2, "updated", "a"),
        (3, "updated", "b"),
        (4, "closed", "d"),
    ]
    assert view.history and view.history[1]["changes"] == {"end": ["2026-12-07T12:00", "2026-12-07T14:00"]}


def test_two_concurrent_updates_are_serialised_and_both_recorded(sessions: sessionmaker[Session]) -> None:
    add_customers(sessions, 2)
    event_id = create(
        sessions, planned(kind="fault", start=NOW - dt.timedelta(hours=1), end=NOW + dt.timedelta(hours=2))
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def patch(hours: int) -> None:
        try:
            barrier.wait(timeout=10)
            with transaction(sessions) as session:
                update_outage(session=session, event_id=event_id, by=f"t{hours}", end=NOW + dt.timedelta(hours=hours))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=patch, args=(h,)) for h in (5, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with sessions() as session:
        rows = session.scalars(select(OutageUpdate).where(OutageUpdate.event_id == event_id).order_by(OutageUpdate.id))
        updates = [(u.version, u.action) for u in rows]
        event = get_outage(session=session, event_id=event_id)
    assert updates == [(1, "created"), (2, "updated"), (3, "updated")] and event.version == 3
    assert event.end in (NOW + dt.timedelta(hours=5), NOW + dt.timedelta(hours=6))


def test_lists_and_the_events_affecting_a_customer(sessions: sessionmaker[Session]) -> None:
    add_customers(sessions, 4)
    other_scopes = [("area", "西湖区"), ("transformer_area", "文三路1-1号台区")]
    tomorrow = create(sessions, planned())
    in_a_week = create(sessions, planned(start=NOW + dt.timedelta(days=8), end=NOW + dt.timedelta(days=8, hours=2)))
    by_area, by_ta = (
        create(
            sessions,
            planned(scope=s, scope_value=v, start=NOW + dt.timedelta(days=2), end=NOW + dt.timedelta(days=2, hours=1)),
        )
        for s, v in other_scopes
    )
    fault = create(
        sessions, planned(kind="fault", start=NOW - dt.timedelta(hours=1), end=NOW - dt.timedelta(minutes=10))
    )
    done = create(sessions, planned(start=NOW - dt.timedelta(days=1), end=NOW - dt.timedelta(hours=20)))
    with sessions() as session:
        first, second = session.scalars(select(Customer).order_by(Customer.id).limit(2))
        assert first.transformer_area == "文三路1-1号台区" and second.transformer_area == "文三路1-2号台区"
        assert [e.id for e in outages_for_customer(session, first, NOW)] == [fault, tomorrow, by_area, by_ta]
        assert [e.id for e in outages_for_customer(session, second, NOW)] == [fault, tomorrow, by_area]
        assert in_a_week in [e.id for e in outages_for_customer(session, first, NOW, days=9)]
        assert [e.id for e in list_outages(session=session, which="active", now=NOW)] == [fault]
        assert [e.id for e in list_outages(session=session, which="coming", now=NOW)] == [
            tomorrow,
            by_area,
            by_ta,
            in_a_week,
        ]
        assert len(list_outages(session=session, which="all", now=NOW)) == 6
        statuses = {e.id: effective_status(e, NOW) for e in list_outages(session=session, which="all", now=NOW)}
    # a fault stays active past its estimated restoration until closed; a planned outage has ended after its end
    assert statuses[fault] == "active" and statuses[done] == "ended" and statuses[tomorrow] == "announced"
    with transaction(sessions) as session:
        close_outage(session=session, event_id=fault, by="t")
    with sessions() as session:
        first = session.scalars(select(Customer).order_by(Customer.id)).first()
        assert first is not None and fault not in [e.id for e in outages_for_customer(session, first, NOW)]
        assert list_outages(session=session, which="active", now=NOW) == []


def test_times_with_a_zone_are_stored_as_local_time(sessions: sessionmaker[Session]) -> None:
    add_customers(sessions, 1)
    utc = dt.UTC
    start = dt.datetime(2026, 12, 8, 0, 0, tzinfo=utc)  # 08:00 in Shanghai
    event_id = create(sessions, planned(start=start, end=start + dt.timedelta(hours=9)))
    with sessions() as session:
        event = get_outage(session=session, event_id=event_id)
        assert (event.start, event.end) == (dt.datetime(2026, 12, 8, 8), dt.datetime(2026, 12, 8, 17))
