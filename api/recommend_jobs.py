"""Running the recommendation code over the database: segments, plans and advice per account, campaigns.

Customers are read in partitions (`load_customers`), so memory stays bounded by the partition size;
the computations themselves are the pure functions of analytics.recommend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analytics.billing.schedule import TariffBook, load_tariff_book
from analytics.recommend import campaign as camp
from analytics.recommend.advice import Advice, advise, load_assumptions, night_ratio
from analytics.recommend.charts import segment_chart
from analytics.recommend.loads import CustomerLoad, valley_share
from analytics.recommend.plans import PlanComparison, Thresholds, compare_plans, window_months
from analytics.recommend.segments import (
    cluster,
    customer_profile,
    feature_frame,
    load_naming,
    segment_profiles,
    workdays_of,
)
from analytics.recommend.wording import load_wording
from api.notices import NoticeSender
from core.db import transaction
from core.errors import InvalidInput, NotFound
from core.models import Customer
from core.models_recommend import Campaign, CampaignMember, CustomerSegment, SegmentRun
from core.models_recommend import Segment as SegmentRow
from core.recommend import customer_ids, data_range, load_customers
from core.settings import Settings

PARTITION = 250
SAMPLE_FOR_ESTIMATES = 400


@dataclass
class Kit:
    """Everything the recommendation code reads from data files and settings, loaded once."""

    book: TariffBook
    thresholds: Thresholds
    assumptions: dict[str, Any]
    wording: dict[str, Any]
    naming: dict[str, Any]
    valley_quantile: float
    var_dir: Path


def load_kit(settings: Settings) -> Kit:
    return Kit(
        book=load_tariff_book(settings.data_dir / "tariffs"),
        thresholds=Thresholds(settings.recommend_min_saving_yuan, settings.recommend_min_saving_share),
        assumptions=load_assumptions(settings.data_dir / "recommend" / "advice.yml"),
        wording=load_wording(settings.data_dir / "messages" / "recommend.yml"),
        naming=load_naming(settings.data_dir / "recommend" / "segments.yml"),
        valley_quantile=settings.recommend_valley_share_quantile,
        var_dir=settings.var_dir,
    )


def _range(session: Session) -> tuple[dt.date, dt.date]:
    found = data_range(session)
    if found is None:
        raise NotFound("no meter readings in the database; run `powerdesk demo seed` (or load readings) first")
    return found


def partitions(
    sessions: sessionmaker[Session], ids: list[int], first: dt.date, last: dt.date, size: int = PARTITION
) -> Iterator[list[CustomerLoad]]:
    for start in range(0, len(ids), size):
        with sessions() as session:
            yield load_customers(session, ids[start : start + size], first, last)


# ------------------------------------------------------------------ population estimates


@dataclass
class Estimates:
    """Population figures the per-customer code needs: the TOU split estimate and the standby references."""

    valley_share: dict[int, float]
    peer_night: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"valley_share": {str(k): v for k, v in self.valley_share.items()}, "peer_night": self.peer_night}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Estimates:
        return cls({int(k): float(v) for k, v in data["valley_share"].items()}, dict(data["peer_night"]))


class _EstimateCollector:
    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.shares: dict[int, list[float]] = {}
        self.nights: dict[str, list[float]] = {}

    def add(self, load: CustomerLoad) -> None:
        if load.household and load.has_intervals:
            for month, share in valley_share(load, self.kit.book).items():
                self.shares.setdefault(month, []).append(share)
        ratio = night_ratio(load, self.kit.assumptions["standby"]["night_hours"])
        if np.isfinite(ratio):
            self.nights.setdefault(load.tariff_category, []).append(ratio)

    def result(self) -> Estimates:
        q = self.kit.assumptions["standby"]["peer_quantile"]
        return Estimates(
            {m: round(float(np.quantile(v, self.kit.valley_quantile)), 4) for m, v in sorted(self.shares.items())
             if len(v) >= 5},
            {k: round(float(np.quantile(v, q)), 4) for k, v in self.nights.items() if len(v) >= 5},
        )  # fmt: skip


def estimates(sessions: sessionmaker[Session], kit: Kit) -> Estimates:
    """From the latest segment run when there is one; else from a sample of interval-metered customers."""
    with sessions() as session:
        run = session.scalars(select(SegmentRun).order_by(SegmentRun.id.desc())).first()
        if run is not None and "estimates" in run.params:
            return Estimates.from_json(run.params["estimates"])
        first, last = _range(session)
        from core.models import Meter

        ids = list(
            session.scalars(
                select(Meter.customer_id).where(Meter.resolution.in_(("15min", "hourly"))).order_by(Meter.customer_id)
            )
        )
    step = max(1, len(ids) // SAMPLE_FOR_ESTIMATES)
    collector = _EstimateCollector(kit)
    for part in partitions(sessions, ids[::step], first, last):
        for load in part:
            collector.add(load)
    return collector.result()


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
        first, last = _range(session)
        ids = customer_ids(session)
    frames, profiles = [], {}
    collector = _EstimateCollector(kit)
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
        run = SegmentRun(params={"first": first.isoformat(), "last": last.isoformat(), "seed": seed,
                                 "estimates": est.to_json()}, customers=len(assignment))  # fmt: skip
        session.add(run)
        session.flush()
        chart_dir = kit.var_dir / "segments" / f"run-{run.id}"
        rows = {}
        for s in segments:
            chart = segment_chart(s, chart_dir / f"{s.code}.png")
            row = SegmentRow(run_id=run.id, code=s.code, name=s.name, group=s.group, size=s.size, centroid=s.centroid,
                             z=s.z, typical_day=s.typical_day, typical_year=s.typical_year, chart=str(chart))  # fmt: skip
            session.add(row)
            rows[s.code] = row
        session.flush()
        features = frame.set_index("customer_id")
        session.add_all(
            CustomerSegment(run_id=run.id, customer_id=cid, segment_id=rows[code].id,
                            features=_clean(features.loc[cid].to_dict()))
            for cid, code in assignment.items()
        )  # fmt: skip
        run_id = run.id
    listed = [{"code": s.code, "name": s.name, "group": s.group, "size": s.size, "chart": str(rows[s.code].chart),
               "centroid": s.centroid} for s in segments]  # fmt: skip
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


# ------------------------------------------------------------------ plans and advice per customer


@dataclass
class CustomerView:
    load: CustomerLoad
    months: list[dt.date]
    estimates: Estimates


def customer_view(sessions: sessionmaker[Session], kit: Kit, customer: Customer, est: Estimates) -> CustomerView:
    with sessions() as session:
        first, last = _range(session)
        loads = load_customers(session, [customer.id], first, last)
    if not loads:
        raise NotFound(f"account {customer.account_no} has no meter readings to compare plans on")
    months = window_months(last)
    return CustomerView(loads[0], months, est)


def plan_comparison(kit: Kit, view: CustomerView) -> PlanComparison:
    return compare_plans([view.load], kit.book, view.months, view.estimates.valley_share, kit.thresholds)[0]


def customer_advice(kit: Kit, view: CustomerView, plan: str) -> list[Advice]:
    peer = view.estimates.peer_night.get(view.load.tariff_category)
    return advise(view.load, plan, kit.book, view.months, kit.assumptions, peer, view.estimates.valley_share)


def find_customer(sessions: sessionmaker[Session], account_no: str) -> Customer:
    from core.customers import find_by_account

    if not (account_no.isdigit() and len(account_no) == 10):
        raise InvalidInput(f"户号 {account_no!r} must be 10 digits; list demo accounts with `powerdesk demo accounts`")
    with sessions() as session:
        customer = find_by_account(session, account_no)
    if customer is None:
        raise NotFound(f"no customer with 户号 {account_no}; list demo accounts with `powerdesk demo accounts`")
    return customer


# ------------------------------------------------------------------ campaigns


def create_campaign(
    sessions: sessionmaker[Session], kit: Kit, day: dt.date, risk_level: str, window: camp.Window, size: int,
    control_share: float = 0.5, seed: int = 0, baseline: int = 10, min_share: float = 0.08, name: str = "",
) -> tuple[int, dict[str, int]]:  # fmt: skip
    """Select customers with peak-shift potential before `day`, split them at random, store the campaign."""
    if risk_level not in kit.wording["campaign"]["risk_levels"]:
        known = ", ".join(kit.wording["campaign"]["risk_levels"])
        raise InvalidInput(f"risk level {risk_level!r} is not one of: {known}")
    with sessions() as session:
        first, last = _range(session)
        from core.models import Meter

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
        c = Campaign(name=name or f"{day} {window} 错峰", day=day, risk_level=risk_level, window_start=window.start,
                     window_end=window.end, seed=seed,
                     params={"size": size, "control_share": control_share, "baseline": baseline,
                             "min_share": min_share, "candidates": len(pool)})  # fmt: skip
        session.add(c)
        session.flush()
        session.add_all(
            CampaignMember(campaign_id=c.id, customer_id=x.customer_id, arm=arms[x.customer_id], score=x.score,
                           baseline_kwh=x.baseline_kwh)
            for x in chosen
        )  # fmt: skip
        cid = c.id
    counts = {"candidates": len(pool), "treatment": sum(a == "treatment" for a in arms.values()),
              "control": sum(a == "control" for a in arms.values())}  # fmt: skip
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
        pending = list(session.scalars(
            select(CampaignMember).where(CampaignMember.campaign_id == c.id, CampaignMember.arm == "treatment",
                                         CampaignMember.sent_at.is_(None))
        ))  # fmt: skip
        day, window, level = c.day, f"{c.window_start}-{c.window_end}", c.risk_level
        first, last = _range(session)
    savings = _expected_savings(sessions, kit, [m.customer_id for m in pending], first, min(last, day), est)
    counts = {"sent": 0, "no_channel": 0}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with transaction(sessions) as session:
        for member in pending:
            m = session.get_one(CampaignMember, member.id)
            saving = savings.get(m.customer_id)
            text = template.render(day=f"{day:%-m月%-d日}", window=window, saving=f"{saving:,.0f}" if saving else "",
                                   risk_level=kit.wording["campaign"]["risk_levels"][level])  # fmt: skip
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


def backtest_all(sessions: sessionmaker[Session], kit: Kit, train: int = 9, test: int = 3) -> Any:
    """The plan backtest over every customer: recommend on `train` months, bill the next `test` months both ways."""
    from analytics.recommend.backtest import BacktestResult, backtest

    with sessions() as session:
        first, last = _range(session)
        ids = customer_ids(session)
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
    for key in ("customers", "recommended", "raised", "measured", "measured_raised", "saving_claimed",
                "saving_realised"):  # fmt: skip
        setattr(a, key, getattr(a, key) + getattr(b, key))
    for k, v in b.by_switch.items():
        entry = a.by_switch.setdefault(k, {"count": 0, "raised": 0, "claimed": 0.0, "realised": 0.0})
        for f in entry:
            entry[f] = round(entry[f] + v[f], 2)
    return a
