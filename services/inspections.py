"""Inspection findings: what an inspector found at a customer becomes the theft model's next label.

`record_finding` stores a finding (theft / fault / normal) by account number, optionally settling
the alert that sent the inspector (it is acknowledged by the same person); `finding_labels` turns the
latest finding per customer into 0/1 labels for `powerdesk anomaly train`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from core.models import Customer
from core.models_anomaly import AnomalyAlert, InspectionFinding
from services.anomaly_alerts import acknowledge

FINDINGS = {"theft": 1, "fault": 0, "normal": 0}  # the label each finding gives (a faulty meter is not theft)


@dataclass(frozen=True)
class FindingView:
    id: int
    account_no: str
    finding: str
    label: int
    inspector: str
    note: str
    alert_id: int | None
    recorded_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record_finding(
    session: Session,
    account_no: str,
    finding: str,
    inspector: str,
    note: str = "",
    alert_id: int | None = None,
    now: dt.datetime | None = None,
) -> FindingView:
    """Store a finding for the customer with this account number (and acknowledge its alert, if given)."""
    finding = (finding or "").strip().lower()
    if finding not in FINDINGS:
        raise InvalidInput(f"finding must be one of {sorted(FINDINGS)}, got {finding!r}")
    inspector = (inspector or "").strip()
    if not inspector or len(inspector) > 50:
        raise InvalidInput("say who inspected (1–50 characters), e.g. --by 张三")
    customer = session.scalars(select(Customer).where(Customer.account_no == str(account_no).strip())).first()
    if customer is None:
        raise NotFound(f"no customer with account number {account_no}; check the 户号")
    if alert_id is not None:
        alert = acknowledge(session, alert_id, inspector)
        if alert.customer_id not in (None, customer.id):
            raise InvalidInput(f"alert {alert_id} is about another customer ({alert.account_no}), not {account_no}")
    row = InspectionFinding(
        customer_id=customer.id,
        finding=finding,
        inspector=inspector,
        note=(note or "").strip()[:2000],
        alert_id=alert_id,
        recorded_at=now or _now(),
    )
    session.add(row)
    session.flush()
    return _view(row, customer.account_no)


def record_alert_finding(session: Session, alert_id: int, finding: str, inspector: str, note: str = "") -> FindingView:
    """The finding of the inspection a customer alert asked for (the console's alerts page)."""
    alert = session.get(AnomalyAlert, alert_id)
    if alert is None:
        raise NotFound(f"no anomaly alert with id {alert_id}; list them with `powerdesk anomaly alerts`")
    customer = session.get(Customer, alert.customer_id) if alert.customer_id is not None else None
    if customer is None:
        raise InvalidInput(f"alert {alert_id} is a regional alert: there is no customer to inspect; acknowledge it")
    return record_finding(session, customer.account_no, finding, inspector, note, alert_id)


def _view(row: InspectionFinding, account_no: str) -> FindingView:
    return FindingView(
        id=row.id,
        account_no=account_no,
        finding=row.finding,
        label=FINDINGS[row.finding],
        inspector=row.inspector,
        note=row.note,
        alert_id=row.alert_id,
        recorded_at=row.recorded_at.isoformat(timespec="seconds"),
    )


def list_findings(session: Session, limit: int = 1000) -> list[FindingView]:
    """Findings, newest first."""
    query = (
        select(InspectionFinding, Customer.account_no)
        .join(Customer, Customer.id == InspectionFinding.customer_id)
        .order_by(InspectionFinding.recorded_at.desc(), InspectionFinding.id.desc())
        .limit(max(1, min(limit, 100_000)))
    )
    return [_view(f, acc) for f, acc in session.execute(query)]


def finding_labels(session: Session) -> pd.Series:
    """The latest finding per customer as a label (1 = theft), indexed by account number."""
    query = (
        select(Customer.account_no, InspectionFinding.finding)
        .join(Customer, Customer.id == InspectionFinding.customer_id)
        .order_by(InspectionFinding.recorded_at, InspectionFinding.id)
    )
    latest: dict[str, int] = {}
    for account, finding in session.execute(query):
        latest[str(account)] = FINDINGS[finding]
    return pd.Series(latest, dtype="int64", name="label")
