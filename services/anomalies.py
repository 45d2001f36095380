"""The I/O edge of consumption anomalies: database in, analytics, database out (CLI and api share it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analytics.anomaly.detector import Reference, load_texts
from analytics.anomaly.peers import PeerReference, group_keys
from analytics.anomaly.realtime import Window, merge, rescore
from analytics.anomaly.regional import area_means, detect
from analytics.anomaly.scoring import score_consumption
from core.clock import local_today
from core.db import transaction
from core.errors import InvalidInput, NotFound
from core.models import Customer
from core.settings import Settings
from services.anomaly_alerts import AlertView, raise_alert, view_of
from services.anomaly_store import latest_reference as stored_reference
from services.anomaly_store import load_population, save_reference, save_scores, state_of, unpack_window
from services.anomaly_store import pack_window as pack
from services.theft_training import add_theft_probabilities, as_consumption

ALERT_KINDS = ("theft", "meter_fault")
MAX_INGEST_ROWS = 10_000


@dataclass
class BatchResult:
    records: list[dict[str, Any]]
    alerts_new: int
    alerts_seen: int
    problems: list[str] = field(default_factory=list)


def _alert_customers(
    session: Session, settings: Settings, ids: list[int], records: list[dict[str, Any]]
) -> tuple[int, int]:
    new = seen = 0
    for cid, rec in zip(ids, records, strict=True):
        if rec["score"] >= settings.anomaly_alert_score and rec["kind"] in ALERT_KINDS:
            summary = rec["reasons"][0]["text"] if rec["reasons"] else ""
            _, created = raise_alert(
                session,
                f"customer:{cid}:{rec['kind']}",
                "customer",
                rec["kind"],
                rec["score"],
                summary,
                rec["reasons"],
                customer_id=cid,
            )
            new, seen = new + created, seen + (not created)
    return new, seen


def score_database(sessions: sessionmaker[Session], settings: Settings, with_model: bool = False) -> BatchResult:
    """Score every customer in the database, store scores, windows and the reference, raise alerts.

    `with_model` adds each customer's theft probability and reasons from the theft model in use.
    """
    texts = load_texts(settings.data_dir)
    with sessions() as session:
        pop = load_population(session)
    if not len(pop.customer_ids):
        raise NotFound("no customers in the database; run `powerdesk demo seed` or load customers first")
    cons, meta = as_consumption(pop)
    days = cons.days
    scored = score_consumption(cons, meta, texts, threads=settings.anomaly_threads)
    records = scored.as_records()
    if with_model:
        add_theft_probabilities(settings, cons, meta, records)
    keep = min(settings.anomaly_window_days, pop.kwh.shape[1])
    window_start = (days[-keep]).date()
    with transaction(sessions) as session:
        save_scores(session, pop.customer_ids, records, window_start, pop.kwh[:, -keep:], cons.negatives)
        payload = {"peers": scored.peers.to_json(), "reference": scored.reference.to_json()}
        save_reference(session, payload, len(records))
        new, seen = _alert_customers(session, settings, [int(c) for c in pop.customer_ids], records)
    return BatchResult(records, new, seen)


def _reference(session: Session) -> tuple[PeerReference, Reference]:
    payload = stored_reference(session)
    if payload is None:
        raise NotFound("no anomaly reference yet; run `powerdesk anomaly score` once on the database first")
    return PeerReference.from_json(payload["peers"]), Reference.from_json(payload["reference"])


def ingest(
    sessions: sessionmaker[Session],
    settings: Settings,
    rows: list[tuple[str, dt.date, float]],
    today: dt.date | None = None,
) -> BatchResult:
    """Apply new daily readings (account number, day, kWh) and rescore only the customers concerned."""
    if len(rows) > MAX_INGEST_ROWS:
        raise InvalidInput(f"{len(rows)} readings in one call; send at most {MAX_INGEST_ROWS} at a time")
    texts = load_texts(settings.data_dir)
    today = today or local_today()
    by_account: dict[str, list[tuple[dt.date, float]]] = {}
    for account, day, kwh in rows:
        by_account.setdefault(str(account).strip(), []).append((day, kwh))
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    new = seen = 0
    with transaction(sessions) as session:
        peers, reference = _reference(session)
        customers = {
            c.account_no: c for c in session.scalars(select(Customer).where(Customer.account_no.in_(list(by_account))))
        }
        for account, readings in by_account.items():
            customer = customers.get(account)
            if customer is None:
                problems.append(f"{account}: no such customer (account number), {len(readings)} readings ignored")
                continue
            state = state_of(session, customer.id)
            window = None
            if state is not None:
                window = Window(state.window_start, unpack_window(state.window), state.negatives)
            merged = merge(window, readings, settings.anomaly_window_days, today)
            problems += [f"{account}: {p}" for p in merged.problems]
            keys = group_keys([customer.area], [customer.customer_category], 1)[0]
            rec = rescore(account, merged, keys, peers, reference, texts)
            if state is None:
                save_scores(
                    session, [customer.id], [rec], merged.start, merged.values[None, :], [merged.negatives], "ingest"
                )
            else:
                state.score, state.kind, state.reasons = rec["score"], rec["kind"], rec["reasons"]
                state.window_start, state.days, state.window = merged.start, len(merged.values), pack(merged.values)
                state.negatives, state.source = merged.negatives, "ingest"
            a, b = _alert_customers(session, settings, [customer.id], [rec])
            new, seen = new + a, seen + b
            records.append(rec)
    return BatchResult(records, new, seen, problems)


def regional_alerts(
    sessions: sessionmaker[Session],
    settings: Settings,
    temperature: pd.Series | None = None,
    recent: int = 14,
    z: float = 3.5,
) -> list[AlertView]:
    """Detect areas departing from season, calendar (and weather) in the last `recent` days; store them."""
    with sessions() as session:
        pop = load_population(session)
    days = pd.date_range(pd.Timestamp(pop.start), periods=pop.kwh.shape[1], freq="D")
    found = detect(area_means(pop.kwh, pop.areas, days), temperature, recent=recent, z=z)
    texts = load_texts(settings.data_dir)
    weather = texts["regional_weather"] if temperature is not None else ""
    views = []
    with transaction(sessions) as session:
        for alert in found:
            text = texts[f"regional_{alert.direction}"].format(
                area=alert.area,
                start=alert.start,
                end=alert.end,
                observed=alert.observed,
                expected=alert.expected,
                weather=weather,
            )
            row, _ = raise_alert(
                session,
                alert.dedup_key,
                "area",
                f"regional_{alert.direction}",
                alert.z,
                text,
                [{"code": f"regional_{alert.direction}", "text": text, "evidence": alert.z}],
                area=alert.area,
                period=(alert.start, alert.end),
            )
            views.append(view_of(row, None))
    return views
