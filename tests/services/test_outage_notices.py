"""Queuing proactive outage notices (SQLite and PostgreSQL): who is told, on which channel, and only once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.models import Customer
from core.models_outages import OutageNotice
from services.outage_notice_counts import notice_summary
from services.outage_notices import claim_due, queue_notices
from services.outages import NewOutage, close_outage, get_outage
from tests.notice_helpers import bind
from tests.outage_helpers import add_customers
from tests.services.test_outages import NOW, create, planned

pytestmark = pytest.mark.db


def event(kind: str = "planned", **kw: object) -> NewOutage:
    """A planned outage of the feeder tomorrow, or a fault of it that started an hour ago."""
    if kind == "fault":
        kw = {"start": NOW - dt.timedelta(hours=1), "end": NOW + dt.timedelta(hours=3), **kw}
    return planned(kind=kind, **kw)


def ids(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(session.scalars(select(Customer.id).order_by(Customer.account_no)))


def notices(sessions: sessionmaker[Session], outage_id: int) -> dict[int, tuple[str, str, str | None]]:
    with sessions() as session:
        rows = session.scalars(select(OutageNotice).where(OutageNotice.outage_id == outage_id))
        return {n.customer_id: (n.kind, n.channel, n.recipient) for n in rows}


@pytest.fixture
def grid(sessions: sessionmaker[Session]) -> list[int]:
    """Six customers on one feeder: two on WeChat, one on the widget, one on both, one with two openids (the later
    verified wins), one not bound."""
    add_customers(sessions, 6)
    c = ids(sessions)
    bind(
        sessions,
        [
            (c[0], "wechat", "o_a"),
            (c[1], "wechat", "o_b"),
            (c[2], "widget", "v_c"),
            (c[3], "wechat", "o_d"),
            (c[3], "widget", "v_d"),
            (c[4], "wechat", "o_e_old"),
            (c[4], "wechat", "o_e_new"),
        ],
    )
    return c


def test_an_announced_outage_tells_each_bound_customer_once_on_their_channel(
    sessions: sessionmaker[Session], grid: list[int]
) -> None:
    outage_id = create(sessions, event())
    expected = {
        grid[0]: ("announced", "wechat", "o_a"),
        grid[1]: ("announced", "wechat", "o_b"),
        grid[2]: ("announced", "widget", None),
        grid[3]: ("announced", "wechat", "o_d"),  # WeChat reaches them now; the widget waits for a visit
        grid[4]: ("announced", "wechat", "o_e_new"),
    }
    assert notices(sessions, outage_id) == expected  # grid[5] is not bound: not told
    with transaction(sessions) as session:  # announced again (a retried request): nobody is queued twice
        assert queue_notices(session, get_outage(session=session, event_id=outage_id), NOW) == 5
        assert queue_notices(session, get_outage(session=session, event_id=outage_id), NOW) == 5
    assert notices(sessions, outage_id) == expected
    with sessions() as session:
        summary = notice_summary(session, outage_id)
    assert summary.total == 5 and summary.by_status["announced"]["pending"] == 5
    assert summary.by_channel == {"wechat": 4, "widget": 1}


def test_explicit_accounts_tell_only_the_bound_ones_listed(sessions: sessionmaker[Session], grid: list[int]) -> None:
    accounts = ["3301000000", "3301000002", "3301000005"]  # WeChat, widget, unbound
    outage_id = create(sessions, event(scope="accounts", scope_value=None, accounts=accounts))
    assert notices(sessions, outage_id) == {
        grid[0]: ("announced", "wechat", "o_a"),
        grid[2]: ("announced", "widget", None),
    }


def test_a_fault_tells_its_customers_when_it_is_closed_not_before(
    sessions: sessionmaker[Session], grid: list[int]
) -> None:
    outage_id = create(sessions, event("fault", scope="transformer_area", scope_value="文三路1-1号台区"))
    assert notices(sessions, outage_id) == {}
    with transaction(sessions) as session:
        close_outage(session=session, event_id=outage_id, by="test")
    # 台区 1-1: the customers with an even index
    assert notices(sessions, outage_id) == {
        grid[0]: ("restored", "wechat", "o_a"),
        grid[2]: ("restored", "widget", None),
        grid[4]: ("restored", "wechat", "o_e_new"),
    }


def test_outages_already_over_or_planned_work_closed_tell_nobody(
    sessions: sessionmaker[Session], grid: list[int]
) -> None:
    past = event(start=NOW - dt.timedelta(hours=9), end=NOW - dt.timedelta(hours=1))
    assert notices(sessions, create(sessions, past)) == {}
    outage_id = create(sessions, event())
    with transaction(sessions) as session:
        close_outage(session=session, event_id=outage_id, by="test")  # called off: no "restored" for planned work
    assert {kind for kind, _, _ in notices(sessions, outage_id).values()} == {"announced"}
    with transaction(sessions) as session:  # … and the announcements not sent yet are cancelled, not sent
        claimed, cancelled = claim_due(
            session, "w1", channels=("wechat", "widget"), limit=100, stale_after=dt.timedelta(minutes=5)
        )
    assert (claimed, cancelled) == ([], 5)
    with sessions() as session:
        summary = notice_summary(session, outage_id)
    assert summary.by_status["announced"]["cancelled"] == 5


def test_claims_do_not_overlap_and_a_dead_workers_claim_is_taken_back(
    sessions: sessionmaker[Session], grid: list[int]
) -> None:
    create(sessions, event())
    five = dt.timedelta(minutes=5)
    with transaction(sessions) as session:
        first, _ = claim_due(session, "w1", channels=("wechat", "widget"), limit=3, stale_after=five)
    with transaction(sessions) as session:
        second, _ = claim_due(session, "w2", channels=("wechat",), limit=10, stale_after=five)
    with transaction(sessions) as session:
        third, _ = claim_due(session, "w3", channels=("wechat", "widget"), limit=10, stale_after=five)
    assert len(first) == 3 and {n.id for n in first}.isdisjoint(n.id for n in second)
    assert {n.channel for n in second} == {"wechat"} and len(first) + len(second) + len(third) == 5
    with transaction(sessions) as session:  # nothing left; once the claims are stale, they are taken back
        assert claim_due(session, "w4", channels=("wechat", "widget"), limit=10, stale_after=five)[0] == []
        taken_back, _ = claim_due(
            session, "w5", channels=("wechat", "widget"), limit=10, stale_after=dt.timedelta(seconds=-1)
        )
    assert len(taken_back) == 5
