"""Counting the outage notices (table `outage_notices`, queued and delivered by services.outage_notices and
services.outage_notice_delivery): per event, kind, status, channel and way sent, with a few failures; what waits
per channel."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Customer
from core.models_outages import OutageNotice
from services.outage_notices import STATUSES


@dataclass
class NoticeSummary:
    """The notices of one event: counts per kind and status, per channel, and a few failures with their reason."""

    outage_id: int
    total: int = 0
    by_status: dict[str, dict[str, int]] = field(default_factory=dict)  # kind → status → count
    by_channel: dict[str, int] = field(default_factory=dict)
    by_via: dict[str, int] = field(default_factory=dict)  # sent notices: message / template / widget
    attempts: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def notice_summary(session: Session, outage_id: int, failures: int = 10) -> NoticeSummary:
    summary = NoticeSummary(outage_id)
    rows = session.execute(
        select(
            OutageNotice.kind, OutageNotice.status, OutageNotice.channel, func.count(), func.sum(OutageNotice.attempts)
        )
        .where(OutageNotice.outage_id == outage_id)
        .group_by(OutageNotice.kind, OutageNotice.status, OutageNotice.channel)
    )
    channels: Counter[str] = Counter()
    for kind, status, channel, count, attempts in rows:
        statuses = summary.by_status.setdefault(kind, dict.fromkeys(STATUSES, 0))
        statuses[status] = statuses.get(status, 0) + int(count)
        channels[channel] += int(count)
        summary.total += int(count)
        summary.attempts += int(attempts or 0)
    summary.by_channel = dict(sorted(channels.items()))
    vias = session.execute(
        select(OutageNotice.via, func.count())
        .where(OutageNotice.outage_id == outage_id, OutageNotice.status == "sent")
        .group_by(OutageNotice.via)
    )
    summary.by_via = {str(via or "message"): int(count) for via, count in sorted(vias, key=lambda r: str(r[0]))}
    failed = session.execute(
        select(Customer.account_no, OutageNotice.kind, OutageNotice.channel, OutageNotice.last_error)
        .outerjoin(Customer, Customer.id == OutageNotice.customer_id)
        .where(OutageNotice.outage_id == outage_id, OutageNotice.status == "failed")
        .order_by(OutageNotice.id)
        .limit(failures)
    )
    summary.failures = [{"account_no": a, "kind": k, "channel": c, "error": e} for a, k, c, e in failed]
    return summary


def waiting(session: Session) -> dict[str, int]:
    """Pending notices per channel, all events together."""
    rows = session.execute(
        select(OutageNotice.channel, func.count())
        .where(OutageNotice.status == "pending")
        .group_by(OutageNotice.channel)
    )
    return {channel: int(count) for channel, count in rows}
