"""Anomaly alerts in the database: raise (deduplicated), list, per customer, acknowledge.

These are the query functions the agent console calls; each takes a session and returns plain
`AlertView` dataclasses (no ORM objects escape).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from core.models import Customer
from core.models_anomaly import AnomalyAlert
from services.labels import Labels

STATUSES = ("open", "acknowledged")


@dataclass(frozen=True)
class AlertView:
    id: int
    scope: str
    customer_id: int | None
    account_no: str | None
    area: str | None
    kind: str
    score: float
    summary: str
    reasons: list[Any]
    period_start: str | None
    period_end: str | None
    status: str
    occurrences: int
    first_seen: str
    last_seen: str
    acknowledged_by: str | None
    acknowledged_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def view_of(alert: AnomalyAlert, account_no: str | None) -> AlertView:
    return AlertView(
        id=alert.id,
        scope=alert.scope,
        customer_id=alert.customer_id,
        account_no=account_no,
        area=alert.area,
        kind=alert.kind,
        score=round(alert.score, 4),
        summary=alert.summary,
        reasons=list(alert.reasons or []),
        period_start=_iso(alert.period_start),
        period_end=_iso(alert.period_end),
        status=alert.status,
        occurrences=alert.occurrences,
        first_seen=_iso(alert.first_seen) or "",
        last_seen=_iso(alert.last_seen) or "",
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=_iso(alert.acknowledged_at),
    )


def raise_alert(
    session: Session,
    dedup_key: str,
    scope: str,
    kind: str,
    score: float,
    summary: str = "",
    reasons: list[Any] | None = None,
    customer_id: int | None = None,
    area: str | None = None,
    period: tuple[dt.date, dt.date] | None = None,
    now: dt.datetime | None = None,
) -> tuple[AnomalyAlert, bool]:
    """Create the alert, or update the existing one with the same key (returns it and whether it is new).

    An acknowledged alert stays acknowledged when the same condition is seen again; it only
    counts the occurrence and keeps the latest score, reasons and period end.
    """
    now = now or _now()
    alert = session.scalars(select(AnomalyAlert).where(AnomalyAlert.dedup_key == dedup_key)).first()
    if alert is None:
        alert = AnomalyAlert(
            dedup_key=dedup_key,
            scope=scope,
            kind=kind,
            score=float(score),
            summary=summary,
            reasons=reasons or [],
            customer_id=customer_id,
            area=area,
            status="open",
            occurrences=1,
            first_seen=now,
            last_seen=now,
            period_start=period[0] if period else None,
            period_end=period[1] if period else None,
        )
        session.add(alert)
        session.flush()
        return alert, True
    alert.occurrences += 1
    alert.last_seen = now
    alert.score = float(score)
    alert.summary = summary or alert.summary
    alert.reasons = reasons or alert.reasons
    if period:
        alert.period_end = max(alert.period_end or period[1], period[1])
    return alert, False


def list_alerts(
    session: Session, status: str | None = "open", scope: str | None = None, area: str | None = None, limit: int = 100
) -> list[AlertView]:
    """Alerts, highest score first (status None = all)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {STATUSES} (or all), got {status!r}")
    query = select(AnomalyAlert, Customer.account_no).outerjoin(Customer, Customer.id == AnomalyAlert.customer_id)
    if status is not None:
        query = query.where(AnomalyAlert.status == status)
    if scope is not None:
        query = query.where(AnomalyAlert.scope == scope)
    if area is not None:
        query = query.where(AnomalyAlert.area == area)
    query = query.order_by(AnomalyAlert.score.desc(), AnomalyAlert.id).limit(max(1, min(limit, 10_000)))
    return [view_of(a, acc) for a, acc in session.execute(query)]


def alerts_for_customer(session: Session, customer_id: int, include_acknowledged: bool = True) -> list[AlertView]:
    """A customer's own alerts and the open regional alerts of its area (for the customer view)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer with id {customer_id}")
    own = select(AnomalyAlert).where(AnomalyAlert.customer_id == customer_id)
    if not include_acknowledged:
        own = own.where(AnomalyAlert.status == "open")
    regional = select(AnomalyAlert).where(
        AnomalyAlert.scope == "area", AnomalyAlert.area == customer.area, AnomalyAlert.status == "open"
    )
    rows = list(session.scalars(own.order_by(AnomalyAlert.last_seen.desc()))) + list(session.scalars(regional))
    return [view_of(a, customer.account_no if a.customer_id else None) for a in rows]


def acknowledge(session: Session, alert_id: int, by: str, now: dt.datetime | None = None) -> AlertView:
    """Mark an alert acknowledged by an agent (idempotent: the first acknowledgement is kept)."""
    by = (by or "").strip()
    if not by or len(by) > 50:
        raise InvalidInput("say who acknowledges the alert (1–50 characters), e.g. --by 张三")
    alert = session.get(AnomalyAlert, alert_id)
    if alert is None:
        raise NotFound(f"no anomaly alert with id {alert_id}; list them with `powerdesk anomaly alerts`")
    if alert.status != "acknowledged":
        alert.status = "acknowledged"
        alert.acknowledged_by = by
        alert.acknowledged_at = now or _now()
    account = session.get(Customer, alert.customer_id).account_no if alert.customer_id else None  # type: ignore[union-attr]
    return view_of(alert, account)


def console_alert_rows(session: Session, customer_id: int, labels: Labels) -> list[dict[str, str]]:
    """The customer's anomaly alerts for the agent console (newest first)."""
    return [
        {
            "告警": f"#{a.id}",
            "类型": labels(a.kind, "alert_kind"),
            "评分": f"{a.score:.2f}",
            "说明": a.summary,
            "时间": a.last_seen[:16].replace("T", " "),
            "状态": "已确认" if a.status == "acknowledged" else "待处理",
        }
        for a in alerts_for_customer(session, customer_id)
    ]
