"""Evaluation sets ({text, topic}; topic `none` = out of scope), metrics, and calibration of the fusion."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml

from core.errors import DataError
from knowledge.retriever import EntryScores, Fusion, Retriever

NONE = "none"
MIN_ANSWERED = 0.95  # share of in-scope questions that must still get an answer


@dataclass(frozen=True)
class Item:
    text: str
    topic: str


def load_items(path: Path) -> list[Item]:
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
        fused = s.fused(fusion)
        order = np.argsort(-fused, kind="stable")
        is_answered = fused[order[0]] >= fusion.threshold
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
        n_in, n_oos, top1 / max(n_in, 1), top3 / max(n_in, 1), rr / max(n_in, 1),
        rejected / max(n_oos, 1), answered / max(n_in, 1),
    )  # fmt: skip


def calibrate(retriever: Retriever, items: list[Item]) -> tuple[Fusion, Metrics]:
    """Pick the fusion weights for top-1 on in-scope items, then the lowest threshold that keeps
    at least MIN_ANSWERED of them answered while rejecting as many out-of-scope ones as possible."""
    scores = [retriever.scores(item.text) for item in items]
    inside = [(it, s) for it, s in zip(items, scores, strict=True) if it.topic != NONE]
    best: tuple[float, Fusion] | None = None
    for alpha in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4):
        for scale in (4.0, 8.0, 16.0):
            fusion = Fusion(alpha, scale, threshold=-1.0)
            m = metrics(retriever, [i for i, _ in inside], [s for _, s in inside], fusion)
            key = m.top1 + 0.1 * m.mrr
            if best is None or key > best[0] + 1e-9:
                best = (key, fusion)
    assert best is not None
    fusion = best[1]
    top_in = np.sort([float(s.fused(fusion).max()) for _, s in inside])
    # the threshold below which at most (1 - MIN_ANSWERED) of in-scope items fall
    cut = top_in[int(np.floor((1 - MIN_ANSWERED) * len(top_in)))] if len(top_in) else 0.0
    fusion = replace(fusion, threshold=round(float(cut) - 1e-4, 4))
    return fusion, metrics(retriever, items, scores, fusion)
