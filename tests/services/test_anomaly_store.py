"""Anomaly scores, incremental updates and alerts in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, transaction
from core.errors import InvalidInput, NotFound
from core.models import Customer
from core.models_anomaly import AnomalyAlert, AnomalyScore
from core.settings import REPO_ROOT, Settings
from demo.config import load_demo_config
from ops.demo_seed import seed_demo
from services.anomalies import ingest, regional_alerts, score_database
from services.anomaly_alerts import acknowledge, alerts_for_customer, list_alerts, raise_alert
from services.anomaly_store import state_of, unpack_window
from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.db


def test_migration_creates_the_anomaly_tables(db_url: str) -> None:
    engine = make_engine(db_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"anomaly_scores", "anomaly_references", "anomaly_alerts"} <= tables


def test_score_ingest_alert_and_acknowledge(sessions: sessionmaker[Session], tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(powerdesk_env="test", var_dir=tmp_path, anomaly_alert_score=0.7, _env_file=None)
    seed_demo(sessions, load_demo_config(REPO_ROOT / "data", today=DEMO_TODAY, customers=40, seed=2), batch=20)
    with pytest.raises(NotFound, match="anomaly score"):
        ingest(sessions, settings, [("x", dt.date(2026, 11, 1), 1.0)])
    result = score_database(sessions, settings)
    assert len(result.records) == 40 and all(0 <= r["score"] < 1 for r in result.records)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AnomalyScore)) == 40
        customer = session.scalars(select(Customer).where(Customer.customer_category == "residential")).first()
        assert customer is not None
        account, cid = customer.account_no, customer.id
        before = state_of(session, cid)
        assert before is not None and before.days >= 365
    # the meter stops: a month of zeros, then a rollback
    rows = [(account, dt.date(2026, 11, 1) + dt.timedelta(days=i), 0.0) for i in range(30)]
    rows += [(account, dt.date(2026, 12, 1), -40.0), ("0000000000", dt.date(2026, 11, 2), 1.0)]
    out = ingest(sessions, settings, rows, today=dt.date(2026, 12, 2))
    assert [r["customer_id"] for r in out.records] == [account]
    record = out.records[0]
    assert record["kind"] == "meter_fault" and record["score"] >= 0.7
    assert {r["code"] for r in record["reasons"]} >= {"rollback", "zeros"}
    assert any("no such customer" in p for p in out.problems) and any("rollback" in p for p in out.problems)
    with sessions() as session:
        state = state_of(session, cid)
        assert state is not None and state.source == "ingest" and state.negatives == 1
        assert float(unpack_window(state.window)[-2]) == 0.0
        alerts = list_alerts(session)
        assert [a.account_no for a in alerts] == [account] and alerts[0].kind == "meter_fault"
        alert_id = alerts[0].id
    again = ingest(sessions, settings, [(account, dt.date(2026, 12, 2), 0.0)], today=dt.date(2026, 12, 3))
    assert again.alerts_new == 0 and again.alerts_seen == 1  # deduplicated
    with transaction(sessions) as session:
        view = acknowledge(session, alert_id, "张三")
        assert view.status == "acknowledged" and view.acknowledged_by == "张三" and view.occurrences == 2
        assert acknowledge(session, alert_id, "李四").acknowledged_by == "张三"  # the first acknowledgement stays
        with pytest.raises(InvalidInput, match="who acknowledges"):
            acknowledge(session, alert_id, " ")
        with pytest.raises(NotFound, match="anomaly alerts"):
            acknowledge(session, 999_999, "张三")
    with sessions() as session:
        assert list_alerts(session) == [] and len(list_alerts(session, "acknowledged")) == 1
        assert [a.id for a in alerts_for_customer(session, cid)] == [alert_id]
        with pytest.raises(InvalidInput, match="status"):
            list_alerts(session, "nonsense")
    with pytest.raises(InvalidInput, match="at most"):
        ingest(sessions, settings, [(account, dt.date(2026, 1, 1), 1.0)] * 10_001)


def test_regional_alerts_are_deduplicated(sessions: sessionmaker[Session], tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(powerdesk_env="test", var_dir=tmp_path, _env_file=None)
    seed_demo(sessions, load_demo_config(REPO_ROOT / "data", today=DEMO_TODAY, customers=30, seed=4), batch=30)
    first = regional_alerts(sessions, settings)
    second = regional_alerts(sessions, settings)
    assert [a.id for a in first] == [a.id for a in second]
    with transaction(sessions) as session:
        area = session.scalars(select(Customer.area)).first()
        _, created = raise_alert(
            session,
            f"area:{area}:low:2026-10-30",
            "area",
            "regional_low",
            4.2,
            "x",
            area=area,
            period=(dt.date(2026, 10, 30), dt.date(2026, 10, 31)),
        )
        _, again = raise_alert(
            session,
            f"area:{area}:low:2026-10-30",
            "area",
            "regional_low",
            5.0,
            "x",
            area=area,
            period=(dt.date(2026, 10, 30), dt.date(2026, 11, 1)),
        )
        assert created and not again
    with sessions() as session:
        row = session.scalars(select(AnomalyAlert).where(AnomalyAlert.scope == "area", AnomalyAlert.area == area)).all()
        mine = [r for r in row if r.dedup_key.endswith("2026-10-30")]
        assert len(mine) == 1 and mine[0].occurrences == 2 and mine[0].period_end == dt.date(2026, 11, 1)
        customer = session.scalars(select(Customer).where(Customer.area == area)).first()
        assert customer is not None
        assert any(a.scope == "area" for a in alerts_for_customer(session, customer.id))
