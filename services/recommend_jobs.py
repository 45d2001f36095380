"""Running the recommendation code over the database: segments, plans and advice per account, campaigns.

Customers are read in partitions (`load_customers`), so memory stays bounded by the partition size;
the computations themselves are the pure functions of analytics.recommend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analytics.recommend import campaign as camp
from analytics.recommend.advice import advise
from analytics.recommend.charts import segment_chart
from analytics.recommend.loads import CustomerLoad
from analytics.recommend.plans import window_months
from analytics.recommend.segments import cluster, customer_profile, feature_frame, segment_profiles, workdays_of
from core.db import transaction
from core.errors import InvalidInput, NotFound
from core.models import Meter
from core.models_recommend import Campaign, CampaignMember, CustomerSegment, SegmentRun
from core.models_recommend import Segment as SegmentRow
from services.notices import NoticeSender
from services.recommend import EstimateCollector, Estimates, Kit, customer_ids, data_span, estimates, partitions

# ------------------------------------------------------------------ segments


@dataclass
class SegmentsSummary:
    run_id: int
    customers: int
    segments: list[dict[str, Any]]
    left_out: int


def build_segments(
    sessions: sessionmaker[Session], kit: Kit, seed: int = 0, progress: Callable[[int], None] | None = None
) -> SegmentsSummary:
    """Features and profiles for every customer, clustering, named segments with charts, stored as a run."""
    with sessions() as session:
        first, last = data_span(session)
        ids = customer_ids(session)
    frames, profiles = [], {}
    collector = EstimateCollector(kit)
    for part in partitions(sessions, ids, first, last):
        frames.append(feature_frame(part))
        workdays = workdays_of(sorted({d for load in part for d in load.days}))
        for load in part:
            profiles[load.customer_id] = customer_profile(load, workdays)
            collector.add(load)
        if progress:
            progress(len(part))
    if not frames:
        raise NotFound("no customers to segment; run `powerdesk demo seed` first")
    frame = pd.concat(frames, ignore_index=True)
    segments, assignment = cluster(frame, kit.naming, seed=seed)
    segment_profiles(segments, profiles)
    est = collector.result()
    with transaction(sessions) as session:
        run = SegmentRun(
            params={"first": first.isoformat(), "last": last.isoformat(), "seed": seed, "estimates": est.to_json()},
            customers=len(assignment),
        )
        session.add(run)
        session.flush()
        chart_dir = kit.var_dir / "segments" / f"run-{run.id}"
        rows = {}
        for s in segments:
            chart = segment_chart(s, chart_dir / f"{s.code}.png")
            row = SegmentRow(
                run_id=run.id,
                code=s.code,
                name=s.name,
                group=s.group,
                size=s.size,
                centroid=s.centroid,
                z=s.z,
                typical_day=s.typical_day,
                typical_year=s.typical_year,
                chart=str(chart),
            )
            session.add(row)
            rows[s.code] = row
        session.flush()
        features = frame.set_index("customer_id")
        session.add_all(
            CustomerSegment(
                run_id=run.id, customer_id=cid, segment_id=rows[code].id, features=_clean(features.loc[cid].to_dict())
            )
            for cid, code in assignment.items()
        )
        run_id = run.id
    listed = [
        {
            "code": s.code,
            "name": s.name,
            "group": s.group,
            "size": s.size,
            "chart": str(rows[s.code].chart),
            "centroid": s.centroid,
        }
        for s in segments
    ]
    return SegmentsSummary(run_id, len(assignment), listed, len(frame) - len(assignment))


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in values.items()}


def customer_segment(session: Session, customer_id: int) -> str | None:
    """The customer's segment name in the latest run."""
    row = session.execute(
        select(SegmentRow.name)
        .join(CustomerSegment, CustomerSegment.segment_id == SegmentRow.id)
        .where(CustomerSegment.customer_id == customer_id)
        .order_by(CustomerSegment.run_id.desc())
    ).first()
    return None if row is None else str(row[0])


# ------------------------------------------------------------------ campaigns


def create_campaign(
    sessions: sessionmaker[Session],
    kit: Kit,
    day: dt.date,
    risk_level: str,
    window: camp.Window,
    size: int,
    control_share: float = 0.5,
    seed: int = 0,
    baseline: int = 10,
    min_share: float = 0.08,
    name: str = "",
) -> tuple[int, dict[str, int]]:
    """Select customers with peak-shift potential before `day`, split them at random, store the campaign."""
    if risk_level not in kit.wording["campaign"]["risk_levels"]:
        known = ", ".join(kit.wording["campaign"]["risk_levels"])
        raise InvalidInput(f"risk level {risk_level!r} is not one of: {known}")
    with sessions() as session:
        first, last = data_span(session)
        ids = list(session.scalars(select(Meter.customer_id).where(Meter.resolution.in_(("15min", "hourly")))))
    read_from = day - dt.timedelta(days=8 * baseline + 1)
    if read_from < first or day - dt.timedelta(days=1) > last:
        raise InvalidInput(
            f"the baseline before {day} needs readings from {read_from}; the data covers {first} to {last}"
        )
    pool: list[camp.Candidate] = []
    for part in partitions(sessions, sorted(set(ids)), read_from, day - dt.timedelta(days=1)):
        pool += camp.candidates(part, day, window, baseline)
    chosen = camp.select(pool, size, min_share)
    if len(chosen) < 4:
        raise InvalidInput(
            f"only {len(chosen)} customers qualify for {day} {window}; lower --min-share or pick another window"
        )
    arms = camp.assign(chosen, control_share, seed)
    with transaction(sessions) as session:
        c = Campaign(
            name=name or f"{day} {window} 错峰",
            day=day,
            risk_level=risk_level,
            window_start=window.start,
            window_end=window.end,
            seed=seed,
            params={
                "size": size,
                "control_share": control_share,
                "baseline": baseline,
                "min_share": min_share,
                "candidates": len(pool),
            },
        )
        session.add(c)
        session.flush()
        session.add_all(
            CampaignMember(
                campaign_id=c.id,
                customer_id=x.customer_id,
                arm=arms[x.customer_id],
                score=x.score,
                baseline_kwh=x.baseline_kwh,
            )
            for x in chosen
        )
        cid = c.id
    counts = {
        "candidates": len(pool),
        "treatment": sum(a == "treatment" for a in arms.values()),
        "control": sum(a == "control" for a in arms.values()),
    }
    return cid, counts


def _campaign(session: Session, campaign_id: int) -> Campaign:
    c = session.get(Campaign, campaign_id)
    if c is None:
        raise NotFound(f"no campaign {campaign_id}; create one with `powerdesk campaign create --day ...`")
    return c


def send_campaign(
    sessions: sessionmaker[Session], kit: Kit, campaign_id: int, senders: list[NoticeSender], est: Estimates
) -> dict[str, int]:
    """Message every treated member not yet messaged, through the first channel that reaches them."""
    template = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined).from_string(
        kit.wording["campaign"]["message"]
    )
    with sessions() as session:
        c = _campaign(session, campaign_id)
        pending = list(
            session.scalars(
                select(CampaignMember).where(
                    CampaignMember.campaign_id == c.id,
                    CampaignMember.arm == "treatment",
                    CampaignMember.sent_at.is_(None),
                )
            )
        )
        day, window, level = c.day, f"{c.window_start}-{c.window_end}", c.risk_level
        first, last = data_span(session)
    savings = _expected_savings(sessions, kit, [m.customer_id for m in pending], first, min(last, day), est)
    counts = {"sent": 0, "no_channel": 0}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with transaction(sessions) as session:
        for member in pending:
            m = session.get_one(CampaignMember, member.id)
            saving = savings.get(m.customer_id)
            text = template.render(
                day=f"{day:%-m月%-d日}",
                window=window,
                saving=f"{saving:,.0f}" if saving else "",
                risk_level=kit.wording["campaign"]["risk_levels"][level],
            )
            sender = next((s for s in senders if s.can_reach(session, m.customer_id)), None)
            m.expected_saving = saving
            if sender is None:
                m.delivery = "no_channel"
                counts["no_channel"] += 1
                continue
            ok = sender.send(session, m.customer_id, text, campaign_id)
            m.channel, m.delivery, m.sent_at = sender.channel, "sent" if ok else "failed", now
            counts["sent" if ok else "failed"] = counts.get("sent" if ok else "failed", 0) + 1
        c = _campaign(session, campaign_id)
        c.status, c.sent_at = "sent", now
    return counts


def _expected_savings(
    sessions: sessionmaker[Session], kit: Kit, ids: list[int], first: dt.date, last: dt.date, est: Estimates
) -> dict[int, float]:
    """Each customer's engine-priced yearly saving from shifting peak energy to the valley (peak-shift advice)."""
    months = window_months(last)
    out: dict[int, float] = {}
    for part in partitions(sessions, sorted(ids), first, last):
        for load in part:
            plan = load.tariff_category
            if plan == "industrial_demand" and load.contract_demand_kw is not None:
                plan = f"industrial_demand:{load.contract_demand_kw:g}kW"
            for a in advise(load, plan, kit.book, months, kit.assumptions, None, est.valley_share):
                if a.kind == "peak_shift":
                    out[load.customer_id] = a.saving
    return out


def evaluate_campaign(sessions: sessionmaker[Session], campaign_id: int, confidence: float = 0.95) -> camp.Effect:
    """Difference in differences on the campaign day's window energy; stored on the campaign."""
    with sessions() as session:
        c = _campaign(session, campaign_id)
        members = list(session.scalars(select(CampaignMember).where(CampaignMember.campaign_id == c.id)))
        day, window, baseline = c.day, camp.Window(c.window_start, c.window_end), int(c.params.get("baseline", 10))
    arms = {m.customer_id: m.arm for m in members}
    loads: list[CustomerLoad] = []
    for part in partitions(sessions, sorted(arms), day - dt.timedelta(days=8 * baseline + 1), day):
        loads += part
    effect = camp.evaluate(loads, arms, day, window, baseline, confidence)
    with transaction(sessions) as session:
        c = _campaign(session, campaign_id)
        c.result, c.status = effect.to_json(), "evaluated"
        c.evaluated_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return effect


def backtest_all(
    sessions: sessionmaker[Session], kit: Kit, train: int = 9, test: int = 3, until: dt.date | None = None
) -> Any:
    """The plan backtest over every customer: recommend on `train` months, bill the next `test` months both ways.

    The months are the last `train + test` complete months of the data (or up to the month of `until`).
    """
    from analytics.recommend.backtest import BacktestResult, backtest

    with sessions() as session:
        first, last = data_span(session)
        ids = customer_ids(session)
    if until is not None:
        last = min(last, (until.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1))
    months = window_months(last, train + test)
    est = estimates(sessions, kit)
    total: BacktestResult | None = None
    for part in partitions(sessions, ids, first, last):
        result, _ = backtest(part, kit.book, months[:train], months[train:], est.valley_share, kit.thresholds)
        total = result if total is None else _merge(total, result)
    if total is None:
        raise NotFound("no customers to backtest; run `powerdesk demo seed` first")
    return total


def _merge(a: Any, b: Any) -> Any:
    for key in (
        "customers",
        "recommended",
        "raised",
        "measured",
        "measured_raised",
        "saving_claimed",
        "saving_realised",
    ):
        setattr(a, key, getattr(a, key) + getattr(b, key))
    for k, v in b.by_switch.items():
        entry = a.by_switch.setdefault(k, {"count": 0, "raised": 0, "claimed": 0.0, "realised": 0.0})
        for f in entry:
            entry[f] = round(entry[f] + v[f], 2)
    return a
