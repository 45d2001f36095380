"""What the agent sees about the customer: account, a 12-month usage chart, open tickets, and the
sections other modules provide, and the outage events the agent should tell the customer about (one in progress
or a planned one in the next 7 days, services.outage_views).

Sections are registered under their key in `SectionProviders` (app.state.customer_sections, see
api/console/wiring.py): a function (session, customer_id) → list of rows, each a dict of column
label → text. `bills` (recent bills with their audit findings, services.bills) and `anomalies`
(consumption-anomaly alerts, services.anomaly_alerts) are registered; a section without a provider
shows as not connected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import local_now
from core.identity import mask_id_number, mask_phone
from core.models import Customer, DailyReading, IntervalReading, Meter, Ticket
from services.labels import Labels
from services.outage_views import OutageLine, customer_outages
from services.ticket_lifecycle import is_open

SectionProvider = Callable[[Session, int, Labels], list[dict[str, str]]]  # codes shown by their names
# key → heading; providers for these are registered by the modules that own the data
EXTENSION_SECTIONS = {"bills": "账单与稽核发现", "anomalies": "用电异常告警"}


class SectionProviders:
    def __init__(self) -> None:
        self._providers: dict[str, SectionProvider] = {}

    def register(self, key: str, provider: SectionProvider) -> None:
        if key not in EXTENSION_SECTIONS:
            raise ValueError(f"unknown customer section {key!r}; add it to EXTENSION_SECTIONS first")
        self._providers[key] = provider

    def get(self, key: str) -> SectionProvider | None:
        return self._providers.get(key)


@dataclass(frozen=True)
class MonthBar:
    label: str  # 2026-07
    kwh: float
    height: float  # 0–100, for the SVG chart


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    connected: bool
    rows: list[dict[str, str]]


@dataclass(frozen=True)
class CustomerView:
    account: dict[str, str] | None
    usage: list[MonthBar]
    tickets: list[dict[str, str]]
    sections: list[Section]
    outages: list[OutageLine] = field(default_factory=list)  # affecting the customer now or in the next 7 days


def monthly_usage(session: Session, customer_id: int, months: int = 12) -> list[MonthBar]:
    """kWh per month over the last `months` months that have readings (daily and interval meters)."""
    last = session.scalar(
        select(func.max(DailyReading.day)).join(Meter).where(Meter.customer_id == customer_id)
    ) or session.scalar(select(func.max(IntervalReading.day)).join(Meter).where(Meter.customer_id == customer_id))
    if last is None:
        return []
    index = last.year * 12 + last.month - 1 - (months - 1)  # the first of the `months` months ending with last's
    first = dt.date(index // 12, index % 12 + 1, 1)
    totals: dict[str, float] = {}
    for model in (DailyReading, IntervalReading):
        rows = session.execute(
            select(model.day, model.kwh)
            .join(Meter, Meter.id == model.meter_id)
            .where(Meter.customer_id == customer_id, model.day >= first, model.day <= last)
        )
        for day, kwh in rows:
            key = f"{day:%Y-%m}"
            totals[key] = totals.get(key, 0.0) + float(kwh)
    peak = max(totals.values(), default=0.0) or 1.0
    return [MonthBar(k, round(v, 1), round(100 * v / peak, 1)) for k, v in sorted(totals.items())]


def _promised(ticket: Ticket) -> str:
    """The times promised to the customer, as the agent must keep them (local time)."""
    parts = []
    if ticket.contact_by is not None:
        parts.append(f"联系时限 {ticket.contact_by:%m-%d %H:%M}")
    if ticket.reply_by is not None:
        parts.append(f"答复时限 {ticket.reply_by:%m-%d}")
    return "，".join(parts)


def customer_view(
    session: Session, customer_id: int | None, providers: SectionProviders, labels: Labels
) -> CustomerView:
    if customer_id is None:
        sections = [Section(k, t, providers.get(k) is not None, []) for k, t in EXTENSION_SECTIONS.items()]
        return CustomerView(None, [], [], sections)
    customer = session.get_one(Customer, customer_id)
    account = {
        "户号": customer.account_no,
        "户名": customer.name,
        "地址": customer.address,
        "供电区域": customer.area,
        "用户类别": labels(customer.customer_category, "customer_category"),
        "电价类别": labels(customer.tariff_category, "tariff_category"),
        "联系电话": mask_phone(customer.phone or ""),
        "证件号": mask_id_number(customer.id_number or ""),
        "立户日期": customer.opened_on.isoformat(),
    }
    tickets = [
        {
            "单号": t.ticket_no,
            "类型": t.kind,
            "状态": t.status,
            "内容": t.description[:120],
            "创建": f"{t.created_at:%Y-%m-%d %H:%M}",
            "承诺": _promised(t),
        }
        for t in session.scalars(
            select(Ticket).where(Ticket.customer_id == customer_id, is_open()).order_by(Ticket.id.desc())
        )
    ]
    sections = []
    for key, title in EXTENSION_SECTIONS.items():
        provider = providers.get(key)
        sections.append(
            Section(key, title, provider is not None, provider(session, customer_id, labels) if provider else [])
        )
    outages = customer_outages(session, customer_id, local_now())
    return CustomerView(account, monthly_usage(session, customer_id), tickets, sections, outages)
