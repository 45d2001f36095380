"""Training the theft model from inspection findings (and/or a labels file), and scoring with it.

The model in use is the one `powerdesk anomaly train` saved (`ANOMALY_MODEL_FILE`, by default var/models/theft.joblib) or, until there is
one, the model shipped with PowerDesk (`ANOMALY_SHIPPED_MODEL`, trained on the public SGCC sample; see
data/models/theft/README.md), so a new installation ranks customers from day one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from analytics.anomaly.contract import Consumption
from analytics.anomaly.detector import load_texts
from analytics.anomaly.model_store import load_model, save_model
from analytics.anomaly.scoring import Meta
from analytics.anomaly.supervised import align, train, training_table
from analytics.anomaly.theft_model import TheftModel, explain
from core.errors import InvalidInput, NotFound
from core.settings import Settings
from services.anomaly_store import Population, load_population
from services.inspections import finding_labels


@dataclass
class TrainResult:
    path: Path
    customers: int
    positives: int
    from_findings: int
    from_file: int
    unmatched_labels: int

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "path": str(self.path)}


def as_consumption(pop: Population) -> tuple[Consumption, Meta]:
    """The database population as the analytics contract (account numbers as customer ids)."""
    days = pd.date_range(pd.Timestamp(pop.start), periods=pop.kwh.shape[1], freq="D")
    cons = Consumption(pop.account_nos, days, pop.kwh, np.zeros(len(pop.customer_ids), np.int32), pop.intervals)
    return cons, Meta(pop.areas, pop.categories)


def database_population(sessions: sessionmaker[Session]) -> tuple[Consumption, Meta]:
    with sessions() as session:
        pop = load_population(session)
    if not len(pop.customer_ids):
        raise NotFound("no customers in the database; run `powerdesk demo seed` or load customers first")
    return as_consumption(pop)


def merge_labels(from_file: pd.Series | None, from_findings: pd.Series | None) -> pd.Series:
    """Labels of the file, overridden by the inspectors' latest findings (they are newer)."""
    parts = [s for s in (from_file, from_findings) if s is not None and len(s)]
    if not parts:
        raise InvalidInput(
            "no labels to train on: record inspection findings (`powerdesk anomaly inspect 户号 --finding theft`) "
            "or pass --labels customer_id,label"
        )
    merged = pd.concat(parts)
    merged.index = merged.index.astype(str)
    return merged[~merged.index.duplicated(keep="last")].astype(np.int64)


def train_and_save(
    settings: Settings,
    cons: Consumption,
    meta: Meta | None,
    labels_file: pd.Series | None,
    findings: pd.Series | None,
    out: Path | None = None,
    source: str = "",
) -> TrainResult:
    labels = merge_labels(labels_file, findings)
    model = train(cons, labels, meta, threads=settings.anomaly_threads)
    path = out or settings.theft_model_file
    parts = [f"{len(findings)} inspection findings" if findings is not None and len(findings) else ""]
    parts.append(source)
    save_model(model, path, "; ".join(p for p in parts if p) or "labels")
    rows, y, unmatched = align(cons, labels)
    return TrainResult(
        path=path,
        customers=len(rows),
        positives=int(y.sum()),
        from_findings=0 if findings is None else len(findings),
        from_file=0 if labels_file is None else len(labels_file),
        unmatched_labels=unmatched,
    )


def stored_findings(sessions: sessionmaker[Session]) -> pd.Series:
    with sessions() as session:
        return finding_labels(session)


def current_model(settings: Settings) -> tuple[TheftModel, dict[str, Any]] | None:
    """The trained model, else the shipped one, else None (with neither file present)."""
    for path in (settings.theft_model_file, settings.anomaly_shipped_model):
        if path.is_file():
            model, note = load_model(path)
            return model, {**note, "path": str(path)}
    return None


def theft_probabilities(
    settings: Settings, cons: Consumption, meta: Meta | None, model: TheftModel
) -> tuple[pd.Series, list[list[dict[str, Any]]]]:
    """Each customer's calibrated theft probability and the model's reasons (Chinese, for the inspector)."""
    x = training_table(cons, meta)
    prob = pd.Series(model.predict_proba(x), index=cons.customers.astype(str), name="theft_probability")
    reasons = explain(model, x, load_texts(settings.data_dir), len(cons.days))
    return prob, reasons


def add_theft_probabilities(
    settings: Settings, cons: Consumption, meta: Meta | None, records: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Add `theft_probability` and `theft_reasons` to each record from the model in use; its note, or None."""
    found = current_model(settings)
    if found is None:
        return None
    model, note = found
    prob, reasons = theft_probabilities(settings, cons, meta, model)
    at = {c: i for i, c in enumerate(prob.index)}
    for rec in records:
        i = at[str(rec["customer_id"])]
        rec["theft_probability"] = round(float(prob.iloc[i]), 4)
        rec["theft_reasons"] = reasons[i]
    return note
