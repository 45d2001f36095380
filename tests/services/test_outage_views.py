"""What the console reads about outage events: counts for many events at once, a page of affected customers, the
linked tickets, the events one customer should hear about (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.models import Customer
from core.models_outages import OutageEvent
from services.outage_status import record_contact
from services.outage_views import (
    affected_customers,
    current_outages,
    customer_outages,
    linked_tickets,
    outage_lines,
)
from services.outages import NewOutage, close_outage, create_outage
from services.ticket_lifecycle import link_outage
from services.tickets import create_ticket
from tests.outage_helpers import add_customers

pytestmark = pytest.mark.db
NOW = dt.datetime(2026, 12, 7, 10, 0)
FEEDER = "10kV文三路1号线"


def _event(session: Session, kind: str, hours: tuple[int, int], scope: str, value: str | None, **kw: object) -> int:
    start, end = NOW + dt.timedelta(hours=hours[0]), NOW + dt.timedelta(hours=hours[1])
    new = NewOutage(kind, start, end, "检修", scope, value, **kw)  # type: ignore[arg-type]
    return create_outage(session=session, new=new, by="test", now=NOW).id


def test_lines_count_customers_and_tickets_for_all_events_in_a_few_queries(sessions: sessionmaker[Session]) -> None:
    add_customers(sessions, 30, feeder=FEEDER)
    with transaction(sessions) as session:
        fault = _event(session, "fault", (-2, 3), "feeder", FEEDER)
        area = _event(session, "planned", (24, 30), "area", "西湖区")
        ta = _event(session, "planned", (48, 50), "transformer_area", "文三路1-2号台区")
        listed = _event(session, "planned", (-1, 5), "accounts", None, accounts=["3301000000", "3301000001"])
        past = _event(session, "planned", (-10, -5), "feeder", FEEDER)
        closed = _event(session, "fault", (-3, 1), "feeder", FEEDER)
        close_outage(session=session, event_id=closed, by="test")
        for _ in range(3):
            link_outage(
                session, ticket_no=create_ticket(session, "outage", description="停电").ticket_no, outage_id=fault
            )
        for user in ("o-1", "o-2", "o-1"):  # two customers wrote in (one of them twice)
            record_contact(
                session,
                event_id=fault,
                channel="wechat",
                user_id=user,
                customer_id=None,
                conversation_id=None,
                matched_by="address",
            )
    with sessions() as session:
        statements: list[str] = []
        sa_event.listen(session.get_bind(), "before_cursor_execute", lambda *a: statements.append(a[2]))
        active, coming = current_outages(session, NOW)
        assert len(statements) <= 7  # two lists, three grouped counts, the tickets, the reports: not one per event
        assert [(o.id, o.status, o.affected, o.tickets, o.reported) for o in active] == [
            (fault, "active", 30, 3, 2),
            (listed, "active", 2, 0, 0),
        ]
        assert [(o.id, o.status, o.affected) for o in coming] == [(area, "announced", 30), (ta, "announced", 15)]
        assert past not in [o.id for o in active + coming] and closed not in [o.id for o in active + coming]
        overdue = outage_lines(session, [session.get_one(OutageEvent, fault)], NOW + dt.timedelta(hours=4))[0]
        assert overdue.overdue and overdue.status == "active" and overdue.end == "2026-12-07T13:00"


def test_affected_customers_come_a_page_at_a_time(sessions: sessionmaker[Session]) -> None:
    add_customers(sessions, 120, feeder=FEEDER)
    with transaction(sessions) as session:
        fault = _event(session, "fault", (-1, 2), "feeder", FEEDER)
        listed = _event(session, "fault", (-1, 2), "accounts", None, accounts=["3301000007", "3301000003"])
    with sessions() as session:
        event = session.get_one(OutageEvent, fault)
        first = affected_customers(session, event, 1)
        assert (first.total, first.page, first.pages, len(first.rows)) == (120, 1, 3, 50)
        assert first.rows[0].account_no == "3301000000" and first.rows[0].feeder == FEEDER
        last = affected_customers(session, event, 3)
        assert len(last.rows) == 20 and last.rows[-1].account_no == "3301000119"
        assert affected_customers(session, event, 1000).page == 3
        few = affected_customers(session, session.get_one(OutageEvent, listed), 1)
        assert [c.account_no for c in few.rows] == ["3301000003", "3301000007"] and few.pages == 1


def test_linked_tickets_and_a_customers_outages(sessions: sessionmaker[Session]) -> None:
    add_customers(sessions, 4, feeder=FEEDER)
    with transaction(sessions) as session:
        fault = _event(session, "fault", (-1, 2), "feeder", FEEDER)
        soon = _event(session, "planned", (24 * 6, 24 * 6 + 4), "transformer_area", "文三路1-1号台区")
        _event(session, "planned", (24 * 8, 24 * 8 + 4), "area", "西湖区")  # beyond 7 days
        customer = session.scalars(select(Customer).where(Customer.account_no == "3301000000")).one()
        tickets = [create_ticket(session, "outage", description=f"停电{i}", customer_id=customer.id) for i in range(3)]
        for t in tickets:
            link_outage(session, ticket_no=t.ticket_no, outage_id=fault)
        customer_id = customer.id
    with sessions() as session:
        total, newest = linked_tickets(session, fault, limit=2)
        assert total == 3 and [t.description for t in newest] == ["停电2", "停电1"]
        assert newest[0].account_no == "3301000000" and newest[0].status == "accepted"
        assert [o.id for o in customer_outages(session, customer_id, NOW)] == [fault, soon]
        assert customer_outages(session, 999_999, NOW) == []
