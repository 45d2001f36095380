"""Evaluation sets ({text, topic}; topic `none` = out of scope), metrics, and calibration of the fusion."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml

from core.errors import DataError
from knowledge.retriever import EntryScores, Fusion, Retriever

NONE = "none"
# Share of the development sets' in-scope questions that must still get an answer: the target is 0.95 on
# questions never seen; one point of margin covers the spread of a threshold fitted on ~400 questions.
MIN_ANSWERED = 0.96


@dataclass(frozen=True)
class Item:
    text: str
    topic: str


def load_items(path: Path, topics: Collection[str] | None = None) -> list[Item]:
    """The {text, topic} items of a YAML/JSON file; with `topics`, a topic outside them (and not 'none') is an error."""
    try:
        raw = path.read_text(encoding="utf-8")
        data = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise DataError(f"cannot read the evaluation set {path}: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("items")
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a list of {{text, topic}} items")
    items = []
    for i, row in enumerate(data):
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row.get("topic"):
            raise DataError(f"{path}: item {i + 1} needs 'text' (string) and 'topic' (a topic or 'none')")
        if topics is not None and str(row["topic"]) not in topics and str(row["topic"]) != NONE:
            raise DataError(
                f"{path}: item {i + 1} has topic {row['topic']!r}, which is not a topic of data/taxonomy.yml"
            )
        items.append(Item(row["text"], str(row["topic"])))
    return items


@dataclass(frozen=True)
class Metrics:
    in_scope: int
    out_of_scope: int
    top1: float
    top3: float
    mrr: float
    oos_rejected: float
    in_scope_answered: float

    def as_dict(self) -> dict[str, float | int]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def metrics(retriever: Retriever, items: list[Item], scores: list[EntryScores], fusion: Fusion) -> Metrics:
    topics = np.array([e.topic for e in retriever.entries])
    top1 = top3 = rr = answered = rejected = 0.0
    n_in = sum(1 for it in items if it.topic != NONE)
    for item, s in zip(items, scores, strict=True):
        order = np.argsort(-s.fused(fusion), kind="stable")
        is_answered = s.answer_score(fusion) >= fusion.threshold
        if item.topic == NONE:
            rejected += not is_answered
            continue
        answered += is_answered
        ranked = list(dict.fromkeys(topics[order]))  # distinct topics in rank order
        rank = ranked.index(item.topic) + 1 if item.topic in ranked else None
        top1 += rank == 1
        top3 += rank is not None and rank <= 3
        rr += 1.0 / rank if rank else 0.0
    n_oos = len(items) - n_in
    return Metrics(
        n_in,
        n_oos,
        top1 / max(n_in, 1),
        top3 / max(n_in, 1),
        rr / max(n_in, 1),
        rejected / max(n_oos, 1),
        answered / max(n_in, 1),
    )


def evaluate(retriever: Retriever, items: list[Item]) -> Metrics:
    """`kb eval`: the retriever's metrics on these items with its own fusion."""
    return metrics(retriever, items, [retriever.scores(item.text) for item in items], retriever.fusion)


def threshold_for(scores: list[EntryScores], fusion: Fusion) -> float:
    """The highest threshold that still answers at least MIN_ANSWERED of these in-scope items."""
    top = np.sort([s.answer_score(fusion) for s in scores])
    if not len(top):
        return 0.0
    return round(float(top[int(np.floor((1 - MIN_ANSWERED) * len(top)))]) - 1e-4, 4)


ALPHAS = (0.0, 0.05, 0.1, 0.2, 0.3)
SCALES = (4.0, 8.0, 16.0)
TOPIC_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.8)
OUTSIDE_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


def calibrate(retriever: Retriever, items: list[Item]) -> tuple[Fusion, Metrics]:
    """Fit the fusion on a development set in two steps: the ranking weights that maximise top-1 (MRR
    breaks ties) on the in-scope items; then the out-of-scope weight and the threshold that answer
    MIN_ANSWERED of the in-scope items while rejecting as many out-of-scope items as possible."""
    scores = [retriever.scores(item.text) for item in items]
    inside = [(it, s) for it, s in zip(items, scores, strict=True) if it.topic != NONE]
    weights = TOPIC_WEIGHTS if retriever.built.topics is not None else (0.0,)
    best: tuple[float, Fusion] | None = None
    for alpha in ALPHAS:
        for scale in SCALES:
            for weight in weights:
                fusion = Fusion(alpha, scale, threshold=0.0, topic_weight=weight)
                m = metrics(retriever, [i for i, _ in inside], [s for _, s in inside], fusion)
                if best is None or m.top1 + 0.1 * m.mrr > best[0] + 1e-9:
                    best = (m.top1 + 0.1 * m.mrr, fusion)
    assert best is not None
    has_outside = retriever.built.outside is not None and len(retriever.built.outside) > 0
    chosen: tuple[float, Fusion, Metrics] | None = None
    for outside in OUTSIDE_WEIGHTS if has_outside else (0.0,):
        fusion = replace(best[1], outside_weight=outside)
        fusion = replace(fusion, threshold=threshold_for([s for _, s in inside], fusion))
        m = metrics(retriever, items, scores, fusion)
        if chosen is None or m.oos_rejected > chosen[0] + 1e-9:
            chosen = (m.oos_rejected, fusion, m)
    assert chosen is not None
    return chosen[1], chosen[2]
