"""Scoring a population: features per block of customers, peers, the unsupervised score, kinds, reasons.

`feature_table` works block by block (`block` customers at a time) so memory stays bounded, and
`threads` blocks run at once (numpy releases the GIL in its array loops). The same function is
what a Dask partition runs (`benchmarks/anomaly.py --engine dask`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.anomaly.contract import Consumption
from analytics.anomaly.detector import Reference, combine, evidence, kinds, reasons_for
from analytics.anomaly.features import daily_features, intraday_features, to_frame
from analytics.anomaly.peers import PeerReference, fit_peers, group_keys
from analytics.anomaly.risk import risk_components, risk_reasons, risk_score

F32 = npt.NDArray[np.float32]


@dataclass
class Meta:
    """Area and category per customer (for peer groups); empty strings when unknown."""

    areas: npt.NDArray[np.object_]
    categories: npt.NDArray[np.object_]

    @classmethod
    def unknown(cls, n: int) -> Meta:
        return cls(np.full(n, "", dtype=object), np.full(n, "", dtype=object))

    @classmethod
    def from_frame(cls, customers: npt.ArrayLike, frame: pd.DataFrame | None) -> Meta:
        ids = pd.Index(np.asarray(customers, dtype=object).astype(str))
        if frame is None or frame.empty:
            return cls.unknown(len(ids))
        frame = frame.copy()
        frame.index = frame.index.astype(str)
        frame = frame[~frame.index.duplicated(keep="last")]
        areas = frame.get("area", pd.Series(dtype=object)).reindex(ids).fillna("").astype(str)
        cats = frame.get("category", pd.Series(dtype=object)).reindex(ids).fillna("").astype(str)
        return cls(areas.to_numpy(dtype=object), cats.to_numpy(dtype=object))


@dataclass
class Scored:
    table: pd.DataFrame  # customer_id, score, kind, reasons
    features: pd.DataFrame
    evidence: pd.DataFrame
    peers: PeerReference
    reference: Reference
    extra: dict[str, Any] = field(default_factory=dict)

    def as_records(self) -> list[dict[str, Any]]:
        t = self.table
        return [
            {"customer_id": str(c), "score": round(float(s), 4), "kind": k, "reasons": r, "risk": round(float(v), 4)}
            | ({"risk_reasons": rr} if rr is not None else {})
            for c, s, k, r, v, rr in zip(
                t["customer_id"],
                t["score"],
                t["kind"],
                t["reasons"],
                t["risk"],
                t.get("risk_reasons", pd.Series([None] * len(t))),
                strict=True,
            )
        ]


def feature_table(
    cons: Consumption,
    peers: PeerReference | None,
    keys: list[tuple[str, ...]] | None,
    block: int = 20_000,
    threads: int = 1,
    full: bool = False,
) -> pd.DataFrame:
    """The detector's per-customer features (all of them with `full`) (daily, peer-relative, intra-day when present), block by block."""

    def one(start: int) -> pd.DataFrame:
        stop = min(start + block, cons.n)
        x = cons.kwh[start:stop]
        peer = None if peers is None or keys is None else peers.levels_for(keys[start:stop], cons.days)
        feats = daily_features(x, cons.days, peer, cons.negatives[start:stop].astype(np.float32), full=full)
        if cons.intervals is not None:
            feats.update(intraday_features(cons.intervals[start:stop]))
        return to_frame(feats)

    starts = list(range(0, cons.n, block))
    if threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(one, starts))
    else:
        parts = [one(s) for s in starts]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    frame.index = pd.Index(cons.customers.astype(str), name="customer_id")
    return frame


def score_features(frame: pd.DataFrame, ref: Reference) -> tuple[pd.DataFrame, npt.NDArray[np.float64]]:
    ev = evidence(frame, ref)
    return ev, combine(ev)


def score_table(
    cons: Consumption, frame: pd.DataFrame, reference: Reference, texts: dict[str, str] | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """customer_id, score, kind, reasons (the patterns) and risk (+ risk_reasons with texts); and the evidence."""
    ev, score = score_features(frame, reference)
    kind = kinds(frame, ev, score)
    components = risk_components(frame, reference.stats)
    risk = risk_score(components)
    table = pd.DataFrame({"customer_id": cons.customers.astype(str), "score": score, "kind": kind, "risk": risk})
    d = len(cons.days)
    table["reasons"] = reasons_for(frame, ev, texts, d) if texts is not None else [[] for _ in range(cons.n)]
    if texts is not None:
        table["risk_reasons"] = risk_reasons(frame, components, risk, texts, d)
    return table, ev


def score_consumption(
    cons: Consumption,
    meta: Meta | None = None,
    texts: dict[str, str] | None = None,
    peers: PeerReference | None = None,
    reference: Reference | None = None,
    threads: int = 1,
    block: int = 20_000,
) -> Scored:
    """Score every customer; peers and the population reference are fitted here unless given.

    `score` (with `kind` and `reasons`) weighs patterns — sudden drops, zeros, flat lines, rollbacks — and
    raises alerts; `risk` is the label-free theft risk of the consumption profile (`risk.py`) that ranks
    customers for inspection when there are no inspection results.
    """
    meta = meta or Meta.unknown(cons.n)
    keys = group_keys(meta.areas, meta.categories, cons.n)
    peers = peers or fit_peers(cons.kwh, cons.days, keys)
    frame = feature_table(cons, peers, keys, block=block, threads=threads)
    reference = reference or Reference.fit(frame)
    table, ev = score_table(cons, frame, reference, texts)
    return Scored(table, frame, ev, peers, reference)
