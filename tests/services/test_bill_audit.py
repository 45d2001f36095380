"""The bill audit on the seeded demo finds every injected fault with its reason code and nothing else."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analytics.billing.audit import REASONS
from core.errors import InvalidInput
from core.models_billing import AuditFinding, AuditRun, Bill, DemoFault
from core.settings import REPO_ROOT
from demo.config import load_demo_config
from ops.demo_seed import seed_demo
from services.bill_audit import month_range, run_bill_audit
from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.db
DATA = REPO_ROOT / "data"


def _injected(sessions: sessionmaker[Session]) -> set[tuple[int, str]]:
    with sessions() as session:
        return {(f.bill_id, f.reason) for f in session.scalars(select(DemoFault).where(DemoFault.kind == "bill"))}


def test_audit_finds_exactly_the_injected_faults(db_url: str, sessions: sessionmaker[Session], tmp_path: Path) -> None:
    summary = seed_demo(sessions, load_demo_config(DATA, today=DEMO_TODAY, customers=160, seed=11), batch=64)
    injected = _injected(sessions)
    assert summary.bill_faults == len(injected) > 0
    assert {reason for _, reason in injected} == set(REASONS) - {"ENERGY_MISMATCH"}  # every code of tariffs.md §5
    assert 0.015 < len(injected) / summary.bills < 0.03

    result = run_bill_audit(db_url, DATA / "tariffs", tmp_path, *month_range(None, None))
    found = {(f.bill_id, f.reason) for f in result.findings}
    assert found == injected
    assert result.bills == summary.bills
    with sessions() as session:
        run = session.get_one(AuditRun, result.run_id)
        assert (run.checked, run.flagged) == (summary.bills, len(injected))
        stored = session.scalars(select(AuditFinding).where(AuditFinding.run_id == run.id)).all()
        assert {(f.bill_id, f.reason) for f in stored} == injected
        wrong_price = next(f for f in stored if f.reason == "WRONG_PRICE")
        bill = session.get_one(Bill, wrong_price.bill_id)
        assert wrong_price.stored == bill.total and wrong_price.difference == round(
            bill.total - wrong_price.recomputed, 2
        )
    with result.csv_path.open(encoding="utf-8") as handle:  # type: ignore[union-attr]
        rows = list(csv.DictReader(handle))
    assert {(int(r["bill_id"]), r["reason"]) for r in rows} == injected
    assert all(len(r["account_no"]) == 10 for r in rows)


def test_audit_by_month_range_and_on_dask(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    from core.db import make_engine, make_session_factory
    from core.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    seed_demo(sessions, load_demo_config(DATA, today=DEMO_TODAY, customers=80, seed=5), batch=40)
    injected = _injected(sessions)
    with sessions() as session:
        march = {
            b.id
            for b in session.scalars(select(Bill).where(Bill.period_start == __import__("datetime").date(2026, 3, 1)))
        }
    engine.dispose()
    first, last = month_range("2026-03", "2026-03")
    result = run_bill_audit(url, DATA / "tariffs", tmp_path, first, last, engine="dask", partition_customers=30)
    assert result.bills == len(march)
    assert {(f.bill_id, f.reason) for f in result.findings} == {x for x in injected if x[0] in march}


def test_month_range_errors() -> None:
    with pytest.raises(InvalidInput, match="--from must be a month like 2026-03"):
        month_range("2026-13", None)
    with pytest.raises(InvalidInput, match="before --from"):
        month_range("2026-05", "2026-04")


def test_records_audit_finds_exactly_the_injected_problems(
    db_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    from services.records_audit import run_records_audit

    seed_demo(sessions, load_demo_config(DATA, today=DEMO_TODAY, customers=400, seed=3), batch=100)
    with sessions() as session:
        injected = {
            (f.customer_id, f.reason) for f in session.scalars(select(DemoFault).where(DemoFault.kind == "record"))
        }
    assert len({reason for _, reason in injected}) == 10
    summary = run_records_audit(db_url, tmp_path)
    with sessions() as session:
        found = {
            (f.customer_id, f.reason)
            for f in session.scalars(select(AuditFinding).where(AuditFinding.run_id == summary["run_id"]))
        }
    assert found == injected
    text = Path(summary["csv"]).read_text(encoding="utf-8")
    assert "INVALID_ID_NUMBER" in text and "疑似重复建档" in text
