"""The demo lives in the present: seeded as of any day, extended to a later one, and the conversation's
"上个月" / latest-bill paths find data whichever day the demo was started."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from actions.bills import ActionQueryBill
from actions.services import Services, set_services
from actions.usage import ActionQueryUsage
from core.db import make_engine, make_session_factory, transaction
from core.errors import DataError, InvalidInput
from core.migrate import upgrade
from core.models import ChannelBinding, Customer, DailyReading, IntervalReading, Meter
from core.models_billing import Bill, DemoFault, DemoState
from core.settings import REPO_ROOT, Settings
from demo.config import history_start, load_demo_config
from ops.demo_extend import ExtendSummary, extend_demo, months_to_bill
from ops.demo_seed import seed_demo
from services.bill_audit import run_bill_audit
from services.customers import bind
from tests.actions.test_bills import ask

DATA = REPO_ROOT / "data"


def _seeded(path: Path, today: dt.date, customers: int = 24, seed: int = 3) -> sessionmaker[Session]:
    url = f"sqlite:///{path / 'demo.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    seed_demo(sessions, load_demo_config(DATA, today=today, customers=customers, seed=seed), batch=12)
    return sessions


def _last_day(sessions: sessionmaker[Session]) -> dt.date:
    with sessions() as session:
        daily = session.scalar(select(func.max(DailyReading.day)))
        interval = session.scalar(select(func.max(IntervalReading.day)))
    assert daily == interval
    return daily


@pytest.fixture
def installed() -> Iterator[list[Services]]:
    holder: list[Services] = []
    yield holder
    set_services(None)


def test_history_start_counts_whole_months_back() -> None:
    assert history_start(dt.date(2026, 12, 6), 13) == dt.date(2025, 11, 1)
    assert history_start(dt.date(2027, 1, 1), 13) == dt.date(2025, 12, 1)
    assert history_start(dt.date(2026, 1, 31), 1) == dt.date(2025, 12, 1)


def test_months_to_bill_only_complete_months_after_the_last_bill() -> None:
    oct_1, dec_5 = dt.date(2026, 10, 1), dt.date(2027, 1, 5)
    assert months_to_bill(oct_1, dt.date(2025, 10, 1), dec_5) == [dt.date(2026, 11, 1), dt.date(2026, 12, 1)]
    assert months_to_bill(oct_1, dt.date(2025, 10, 1), dt.date(2026, 11, 29)) == []
    assert months_to_bill(None, dt.date(2025, 10, 2), dt.date(2025, 12, 31)) == [
        dt.date(2025, 11, 1),
        dt.date(2025, 12, 1),
    ]


@pytest.mark.parametrize("today", [dt.date(2025, 10, 20), dt.date(2026, 10, 20), dt.date(2027, 3, 1)])
def test_last_month_has_usage_and_a_bill_whichever_day_the_demo_starts(
    tmp_path: Path, today: dt.date, installed: list[Services]
) -> None:
    sessions = _seeded(tmp_path, today)
    assert _last_day(sessions) == today - dt.timedelta(days=1)
    services = Services(
        Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", _env_file=None), sessions, today=lambda: today
    )
    set_services(services)
    last_month = history_start(today, 1)
    label = f"{last_month.year}年{last_month.month}月"
    with sessions() as session:
        faulty = set(session.scalars(select(DemoFault.customer_id)))  # their bills are held for review
        by_tariff = {c.tariff_category: c.id for c in session.scalars(select(Customer)) if c.id not in faulty}
    for tariff in ("residential", "residential_tou", "commercial_tou"):
        [usage] = ask(ActionQueryUsage(), services, by_tariff[tariff], "上个月用了多少电", "query_usage")
        assert usage["response"].startswith("utter_usage_month"), (tariff, usage)
        assert usage["month_label"] == label and float(usage["kwh"]) > 0
        [bill] = ask(ActionQueryBill(), services, by_tariff[tariff], "上个月电费多少", "query_bill")
        assert bill["response"] == "utter_bill_detail" and label in bill["bill_text"], (tariff, bill)


def test_extend_adds_the_missing_days_and_bills_the_months_that_became_complete(tmp_path: Path) -> None:
    sessions = _seeded(tmp_path, dt.date(2026, 11, 1))
    with transaction(sessions) as session:  # what customers did meanwhile must survive the extension
        customer = session.scalars(select(Customer)).first()
        assert customer is not None
        bind(session, "widget", "visitor-1", customer)
    with sessions() as session:
        before = {
            (m.id, m.multiplier): r
            for m, r in session.execute(
                select(Meter, DailyReading.register).join(DailyReading).where(DailyReading.day == dt.date(2026, 10, 31))
            )
        }
        customers_before = session.scalar(select(func.count()).select_from(Customer))

    summary = extend_demo(sessions, DATA, dt.date(2027, 1, 10), batch=10)

    assert summary.days == 70 and summary.last_day == dt.date(2027, 1, 9) and _last_day(sessions) == summary.last_day
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == customers_before
        assert session.scalars(select(ChannelBinding).where(ChannelBinding.external_user_id == "visitor-1")).one()
        assert session.scalars(select(DemoState)).one().last_day == dt.date(2027, 1, 9)
        for (
            meter,
            multiplier,
        ), register in before.items():  # registers go on from the last stored one, never backwards
            first = session.scalars(
                select(DailyReading).where(DailyReading.meter_id == meter, DailyReading.day == dt.date(2026, 11, 1))
            ).one()
            assert first.register == pytest.approx(register + first.kwh / multiplier, abs=0.011)
        months = sorted(set(session.scalars(select(Bill.period_start).where(Bill.period_start > dt.date(2026, 10, 1)))))
        assert months == [dt.date(2026, 11, 1), dt.date(2026, 12, 1)]  # January 2027 is not complete yet
        for month in months:
            billed = set(session.scalars(select(Bill.customer_id).where(Bill.period_start == month)))
            assert billed == set(session.scalars(select(Customer.id)))
        december = session.scalars(select(Bill).where(Bill.category == "residential", Bill.period_start == months[1]))
        faulty = set(session.scalars(select(DemoFault.customer_id)))  # an injected wrong bill skews its year
        for bill in [
            b for b in december if b.customer_id not in faulty
        ]:  # tiers accumulate over the calendar year: January … November before December
            year = session.scalars(
                select(Bill).where(
                    Bill.customer_id == bill.customer_id,
                    Bill.period_start >= dt.date(2026, 1, 1),
                    Bill.period_start < months[1],
                )
            ).all()
            assert bill.year_to_date_kwh == pytest.approx(sum(b.energy["total"] for b in year), abs=0.05)

    audit = run_bill_audit(f"sqlite:///{tmp_path / 'demo.db'}", DATA / "tariffs", tmp_path, months[0], months[-1])
    assert audit.bills == 2 * customers_before and audit.findings == []  # issued exactly as the audit recomputes

    assert extend_demo(sessions, DATA, dt.date(2027, 1, 10)) == ExtendSummary(0, dt.date(2027, 1, 9))


def test_a_database_not_made_by_the_demo_is_not_extended(tmp_path: Path) -> None:
    sessions = _seeded(tmp_path, dt.date(2026, 11, 1), customers=6)
    with transaction(sessions) as session:
        session.execute(delete(DemoState))
    with pytest.raises(InvalidInput, match="demo seed --reset"):
        extend_demo(sessions, DATA, dt.date(2026, 12, 6))


def test_cli_seed_with_a_fixed_today_then_run_time_extension(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "VAR_DIR": str(tmp_path),
        "POWERDESK_ENV": "test",
        "COLUMNS": "200",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", "demo", *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    seeded = cli("seed", "--customers", "6", "--today", "2026-11-01")
    assert seeded.returncode == 0, seeded.stderr
    assert "2025-10-01 … 2026-10-31" in seeded.stderr
    extended = cli("seed", "--if-empty", "--today", "2026-12-06")  # what `powerdesk run` does first
    assert extended.returncode == 0 and "extended by 35 days to 2026-12-05" in extended.stderr, extended.stderr
    again = cli("extend", "--today", "2026-12-06")
    assert again.returncode == 0 and "current" in again.stderr
    bad = cli("seed", "--today", "06/12/2026")
    assert bad.returncode != 0 and "%Y-%m-%d" in bad.stderr + bad.stdout


def test_an_interrupted_extension_can_be_run_again(tmp_path: Path) -> None:
    sessions = _seeded(tmp_path, dt.date(2026, 11, 1), customers=8)
    extend_demo(sessions, DATA, dt.date(2026, 12, 3), batch=4)
    with sessions() as session:
        readings = session.scalar(select(func.count()).select_from(DailyReading))
    with transaction(sessions) as session:  # as if it had stopped after the readings, before bills and state
        session.execute(delete(Bill).where(Bill.period_start == dt.date(2026, 11, 1)))
        session.scalars(select(DemoState)).one().last_day = dt.date(2026, 10, 31)

    again = extend_demo(sessions, DATA, dt.date(2026, 12, 3), batch=4)

    assert again.days == 32 and again.bills == 8
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DailyReading)) == readings
        assert (
            session.scalar(select(func.count()).select_from(Bill).where(Bill.period_start == dt.date(2026, 11, 1))) == 8
        )


def test_a_changed_generator_is_refused_and_run_still_starts(tmp_path: Path) -> None:
    sessions = _seeded(tmp_path, dt.date(2026, 11, 1), customers=6)
    with transaction(sessions) as session:
        session.scalars(select(DemoState)).one().fingerprint = "made by another generator"
    with pytest.raises(DataError, match="demo seed --reset"):
        extend_demo(sessions, DATA, dt.date(2026, 12, 6))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "VAR_DIR": str(tmp_path),
        "POWERDESK_ENV": "test",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "cli", "demo", "seed", "--if-empty", "--today", "2026-12-06"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "was not extended" in done.stderr  # what `powerdesk run` does first
    done = subprocess.run(
        [sys.executable, "-m", "cli", "demo", "extend", "--today", "2026-12-06"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0 and "demo seed --reset" in done.stderr


def test_extending_into_a_new_year_and_on_the_first_of_a_month(tmp_path: Path) -> None:
    sessions = _seeded(tmp_path, dt.date(2026, 12, 1), customers=12)
    summary = extend_demo(sessions, DATA, dt.date(2027, 2, 1))  # today the 1st: January is complete
    assert summary.last_day == dt.date(2027, 1, 31) and summary.bills == 2 * 12
    with sessions() as session:
        faulty = set(session.scalars(select(DemoFault.customer_id)))
        january = session.scalars(select(Bill).where(Bill.period_start == dt.date(2027, 1, 1))).all()
        assert len(january) == 12
        for bill in january:
            if bill.category in ("residential", "residential_tou") and bill.customer_id not in faulty:
                assert bill.year_to_date_kwh == 0  # the yearly tiers start again in January
    audit = run_bill_audit(
        f"sqlite:///{tmp_path / 'demo.db'}", DATA / "tariffs", tmp_path, dt.date(2026, 12, 1), dt.date(2027, 1, 1)
    )
    assert audit.findings == []
