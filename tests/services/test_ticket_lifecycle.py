"""A ticket's lifecycle (受理 → 派单 → 到场 → 修复 → 回访, or 取消) on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, transaction
from core.errors import Conflict, InvalidInput, NotFound
from core.migrate import downgrade, upgrade
from core.models import Base, Ticket
from services.outages import NewOutage, create_outage
from services.ticket_lifecycle import allowed_next, is_open, link_outage, move, parse_state, ticket_view
from services.tickets import create_ticket
from tests.outage_helpers import add_customers

pytestmark = pytest.mark.db
NAMES = {"accepted": "受理", "dispatched": "派单", "visited": "回访", "open": "处理中"}


def test_the_migrations_and_the_models_agree(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diffs == []


def test_states_parse_from_codes_former_codes_and_chinese_names() -> None:
    assert [parse_state(v, NAMES) for v in ("派单", "dispatched", " open ", "closed", "回访")] == [
        "dispatched",
        "dispatched",
        "accepted",
        "visited",
        "visited",
    ]
    with pytest.raises(InvalidInput, match="unknown ticket state 'done'; use one of accepted, dispatched"):
        parse_state("done", NAMES)
    assert allowed_next("open") == ("dispatched", "on_site", "repaired", "visited", "cancelled")
    assert allowed_next("repaired") == ("visited", "cancelled") and allowed_next("cancelled") == ()


def test_a_repair_ticket_goes_through_its_lifecycle(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        ticket_no = create_ticket(
            session, "outage", description="整栋楼停电", now=dt.datetime(2026, 12, 7, 2)
        ).ticket_no
    steps = [("dispatched", "派单给抢修一班"), ("on_site", None), ("repaired", "更换熔断器"), ("visited", "客户满意")]
    for i, (state, note) in enumerate(steps):
        with transaction(sessions) as session:
            move(
                session,
                ticket_no=ticket_no.lower(),
                to=state,
                by="wang",
                note=note,
                now=dt.datetime(2026, 12, 7, 3 + i),
            )
    with sessions() as session:
        ticket = session.scalars(select(Ticket)).one()
        view = ticket_view(session, ticket)
    assert view.status == "visited" and view.next == [] and view.closed_at == "2026-12-07T14:00"
    assert [(s.from_status, s.to_status, s.at) for s in view.history] == [
        (None, "accepted", "2026-12-07T10:00"),  # UTC 02:00 is 10:00 in Shanghai
        ("accepted", "dispatched", "2026-12-07T11:00"),
        ("dispatched", "on_site", "2026-12-07T12:00"),
        ("on_site", "repaired", "2026-12-07T13:00"),
        ("repaired", "visited", "2026-12-07T14:00"),
    ]
    assert view.history[1].note == "派单给抢修一班" and view.history[1].by == "wang"
    with pytest.raises(Conflict, match="is visited, which is final"):
        with transaction(sessions) as session:
            move(session, ticket_no=ticket_no, to="cancelled", by="wang")


def test_no_step_back_and_cancelled_is_final(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        ticket_no = create_ticket(session, "callback", description="回电").ticket_no
        move(session, ticket_no=ticket_no, to="on_site", by="a")
    for state, message in (
        ("dispatched", "is on_site and cannot go to dispatched; next: repaired"),
        ("on_site", "cannot go to on_site"),
    ):
        with pytest.raises(Conflict, match=message):
            with transaction(sessions) as session:
                move(session, ticket_no=ticket_no, to=state, by="a")
    with transaction(sessions) as session:
        move(session, ticket_no=ticket_no, to="cancelled", by="a", note="客户已自行恢复")
        assert session.scalar(select(Ticket.id).where(is_open())) is None
    with pytest.raises(Conflict, match="cancelled, which is final"):
        with transaction(sessions) as session:
            move(session, ticket_no=ticket_no, to="visited", by="a")
    with pytest.raises(NotFound, match="no ticket 'GZ1'"):
        with transaction(sessions) as session:
            move(session, ticket_no="GZ1", to="visited", by="a")


def test_a_ticket_links_to_an_outage_event(sessions: sessionmaker[Session]) -> None:
    add_customers(sessions, 1)
    with transaction(sessions) as session:
        start = dt.datetime(2026, 12, 7, 9)
        new = NewOutage("fault", start, start + dt.timedelta(hours=3), "跳闸", "feeder", "10kV文三路1号线")
        event_id = create_outage(session=session, new=new, by="t").id
        ticket_no = create_ticket(session, "outage", description="停电了").ticket_no
        link_outage(session, ticket_no=ticket_no, outage_id=event_id)
        assert ticket_view(session, session.scalars(select(Ticket)).one()).outage_id == event_id
        with pytest.raises(NotFound, match="no outage event 12345"):
            link_outage(session, ticket_no=ticket_no, outage_id=12345)


def test_the_migration_turns_open_tickets_into_accepted_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0012_inspection_findings")
    engine = make_engine(url)
    insert = "INSERT INTO tickets (ticket_no, kind, status, description, created_at) VALUES (:no, 'outage', :s, '', :t)"
    with engine.begin() as conn:
        for no, status in (("GZ1", "open"), ("GZ2", "closed")):
            conn.execute(text(insert), {"no": no, "s": status, "t": dt.datetime(2026, 12, 1)})
    upgrade(url)
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT ticket_no, status FROM tickets")).tuples().all()) == {
            "GZ1": "accepted",
            "GZ2": "visited",
        }
    downgrade(url, "0012_inspection_findings")
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT ticket_no, status FROM tickets")).tuples().all()) == {
            "GZ1": "open",
            "GZ2": "closed",
        }
    engine.dispose()
