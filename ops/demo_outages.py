"""The demo's grid and outages in the present: customers get a feeder and a 台区 (those seeded before issue 18
too), and a few planned outages in the coming days plus one fault in progress are kept current relative to the
demo's today (`powerdesk demo seed` and every `powerdesk demo extend` / `powerdesk run`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.clock import local_now, local_today
from core.db import transaction
from core.models import Customer
from core.models_outages import OutageEvent
from demo.config import load_demo_config
from demo.grid import DemoOutage, Grid, load_grid
from services.outages import NewOutage, close_outage, create_outage


@dataclass(frozen=True)
class GridSummary:
    placed: int  # customers given a feeder and a 台区
    outages: int  # demo events created


def demo_now(today: dt.date) -> dt.datetime:
    """The demo's present: the clock when `today` is the clock's date, otherwise noon of `today`."""
    return local_now() if today == local_today() else dt.datetime.combine(today, dt.time(12))


def place_customers(session: Session, grid: Grid, streets: dict[str, list[str]]) -> int:
    """Give every customer without a feeder theirs and their 台区 (one executemany)."""
    rows = session.execute(
        select(Customer.id, Customer.account_no, Customer.address, Customer.area).where(Customer.feeder.is_(None))
    ).all()
    values = []
    for cid, account_no, address, area in rows:
        feeder, transformer_area = grid.position(account_no, address, area, list(streets.get(area) or []))
        values.append({"id": cid, "feeder": feeder, "transformer_area": transformer_area})
    if values:
        session.execute(update(Customer), values)
    return len(values)


def _is_current(session: Session, now: dt.datetime) -> bool:
    """Demo events still tell a story: one is coming, and no demo fault is past its estimated restoration."""
    open_demo = (OutageEvent.source == "demo") & OutageEvent.closed_at.is_(None)
    coming = session.scalar(select(OutageEvent.id).where(open_demo, OutageEvent.start > now).limit(1))
    stale = session.scalar(
        select(OutageEvent.id).where(open_demo, OutageEvent.kind == "fault", OutageEvent.end <= now).limit(1)
    )
    return coming is not None and stale is None


def _new_outage(session: Session, planned: DemoOutage) -> NewOutage | None:
    customer = session.scalars(select(Customer).order_by(Customer.id).offset(planned.customer - 1).limit(1)).first()
    value = getattr(customer, planned.scope, None) if customer is not None else None
    if value is None:
        return None
    return NewOutage(planned.kind, planned.start, planned.end, planned.reason, planned.scope, str(value))


def refresh_outages(session: Session, grid: Grid, now: dt.datetime) -> int:
    """Unless the demo's events are current, close the old ones and create the configured ones around `now`."""
    if _is_current(session, now):
        return 0
    old = select(OutageEvent.id).where(OutageEvent.source == "demo", OutageEvent.closed_at.is_(None))
    for event_id in list(session.scalars(old)):
        close_outage(session=session, event_id=event_id, by="demo")
    created = 0
    for planned in grid.outages(now):
        new = _new_outage(session, planned)
        if new is not None:
            create_outage(session=session, new=new, by="demo", source="demo", now=now)
            created += 1
    return created


def refresh_demo_grid(sessions: sessionmaker[Session], data_dir: Path, today: dt.date) -> GridSummary:
    """Place the customers still without a feeder, and bring the demo's outages to `today`."""
    grid = load_grid(data_dir)
    streets = load_demo_config(data_dir, today=today).raw.get("areas") or {}
    with transaction(sessions) as session:
        placed = place_customers(session, grid, streets)
        created = refresh_outages(session, grid, demo_now(today))
    return GridSummary(placed, created)
