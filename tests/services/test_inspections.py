"""Inspection findings close the loop: recorded (CLI or console), they become labels; training uses them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.errors import InvalidInput, NotFound
from core.models import Customer
from core.settings import REPO_ROOT, Settings
from demo.config import load_demo_config
from ops.demo_seed import seed_demo
from services.anomalies import score_database
from services.anomaly_alerts import list_alerts, raise_alert
from services.inspections import finding_labels, list_findings, record_alert_finding, record_finding
from services.theft_training import current_model, database_population, stored_findings, train_and_save
from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.db


def _accounts(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Customer.account_no).order_by(Customer.id)))


def test_findings_become_labels_and_train_the_model(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    settings = Settings(powerdesk_env="test", var_dir=tmp_path, anomaly_shipped_model=tmp_path / "none", _env_file=None)
    seed_demo(sessions, load_demo_config(REPO_ROOT / "data", today=DEMO_TODAY, customers=40, seed=3), batch=20)
    accounts = _accounts(sessions)
    first = dt.datetime(2026, 11, 2, 9)
    with transaction(sessions) as session:
        for k, account in enumerate(accounts[:12]):
            finding = "theft" if k % 3 == 0 else ("fault" if k % 3 == 1 else "normal")
            record_finding(session, account, finding, "张三", "现场检查", now=first + dt.timedelta(minutes=k))
        # a later inspection of the same customer overrides the earlier finding
        record_finding(session, accounts[1], "theft", "李四", now=first + dt.timedelta(days=1))
        alert, _ = raise_alert(
            session, "customer:x:theft", "customer", "theft", 0.9, customer_id=_id(session, accounts[20])
        )
        settled = record_alert_finding(session, alert.id, "normal", "王五")
    assert settled.account_no == accounts[20] and settled.alert_id == alert.id and settled.label == 0
    with sessions() as session:
        labels = finding_labels(session)
        assert list_findings(session, limit=1)[0].inspector == "王五"
        assert list_alerts(session, status="acknowledged")[0].acknowledged_by == "王五"
    assert len(labels) == 13 and labels[accounts[1]] == 1 and labels[accounts[2]] == 0
    assert labels[accounts[0]] == 1 and labels[accounts[4]] == 0  # fault → 0: a faulty meter is not theft
    assert current_model(settings) is None
    cons, meta = database_population(sessions)
    result = train_and_save(settings, cons, meta, None, stored_findings(sessions))
    assert result.path == tmp_path / "models" / "theft.joblib" and result.positives == 5 and result.from_findings == 13
    found = current_model(settings)
    assert found is not None and "13 inspection findings" in found[1]["source"]
    records = score_database(sessions, settings, with_model=True).records
    assert all(0 <= r["theft_probability"] <= 1 and isinstance(r["theft_reasons"], list) for r in records)


def _id(session: Session, account: str) -> int:
    customer = session.scalars(select(Customer).where(Customer.account_no == account)).one()
    return customer.id


def test_bad_findings_say_what_to_do(sessions: sessionmaker[Session]) -> None:
    seed_demo(sessions, load_demo_config(REPO_ROOT / "data", today=DEMO_TODAY, customers=3, seed=1), batch=3)
    account = _accounts(sessions)[0]
    with transaction(sessions) as session:
        with pytest.raises(InvalidInput, match="theft"):
            record_finding(session, account, "stolen", "张三")
        with pytest.raises(InvalidInput, match="who inspected"):
            record_finding(session, account, "theft", " ")
        with pytest.raises(NotFound, match="户号"):
            record_finding(session, "0000000000", "theft", "张三")
        regional, _ = raise_alert(session, "area:x", "area", "regional_low", 4.0, area="西湖区")
        with pytest.raises(InvalidInput, match="regional"):
            record_alert_finding(session, regional.id, "theft", "张三")
        with pytest.raises(NotFound, match="alert"):
            record_alert_finding(session, 999_999, "theft", "张三")
    with sessions() as session, pytest.raises(InvalidInput, match="no labels"):
        from services.theft_training import merge_labels

        merge_labels(None, finding_labels(session))
