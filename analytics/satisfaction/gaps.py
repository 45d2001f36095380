"""Knowledge gaps: customer questions the bot did not understand (fallback or low confidence), clustered
by meaning with the e5 embeddings, biggest first — each cluster ready to become a knowledge entry.

Clustering is agglomerative (average link) on cosine distance with a distance threshold, over the most
frequent distinct questions (at most `max_questions`, default 300: embedding costs ~15 ms a question);
e5's cosines sit between about 0.8 and 1, so the threshold is small (0.12 ≈ cosine 0.88; see the test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from analytics.satisfaction.masking import mask_text
from analytics.satisfaction.metrics import Params, customer_messages

GAP_CONFIDENCE = 0.6  # below this a question counts as poorly answered (the fallback threshold is 0.45)


class QueryEmbedder(Protocol):
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Gap:
    size: int  # messages (repeats included)
    distinct: int  # distinct question texts
    representative: str  # the question closest to the cluster's centre (masked)
    examples: list[str]  # the most frequent questions (masked)
    intents: str  # what the bot thought they were, most common first


def gap_questions(
    messages: pd.DataFrame, params: Params | None = None, confidence: float = GAP_CONFIDENCE
) -> pd.DataFrame:
    """Customer messages that were not understood (fallback intent, or confidence below `confidence`)."""
    params = params or Params()
    m = messages[customer_messages(messages)]
    conf = pd.to_numeric(m["confidence"], errors="coerce")
    text = m["text"].fillna("").astype(str).str.strip()
    unclear = m["intent"].isin(params.fallback_intents) | (conf.notna() & (conf < confidence))
    keep = unclear & (text.str.len() >= 2) & ~text.str.fullmatch(r"[\d\s/]+")  # ratings and codes are not questions
    return pd.DataFrame({"text": text[keep], "intent": m.loc[keep, "intent"].fillna("none")})


def knowledge_gaps(
    questions: pd.DataFrame,
    embedder: QueryEmbedder,
    *,
    distance: float = 0.12,
    max_questions: int = 300,
    examples: int = 3,
    min_size: int = 1,
) -> list[Gap]:
    from sklearn.cluster import AgglomerativeClustering

    if questions.empty:
        return []
    counts = questions.groupby("text").agg(n=("intent", "size"), intents=("intent", _top_intents))
    counts = counts.sort_values("n", ascending=False, kind="stable").head(max_questions)
    texts = counts.index.tolist()
    vectors = np.asarray(embedder.embed_queries(texts), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    if len(texts) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        labels = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
        ).fit_predict(vectors)
    gaps: list[Gap] = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        sizes = counts["n"].to_numpy()[idx]
        centre = vectors[idx].mean(axis=0)
        rep = idx[int(np.argmax(vectors[idx] @ centre))]
        order = idx[np.argsort(-sizes, kind="stable")]
        intents = pd.Series(np.repeat(counts["intents"].to_numpy()[idx], sizes)).value_counts().index[:3]
        gap = Gap(
            size=int(sizes.sum()),
            distinct=len(idx),
            representative=mask_text(texts[rep]),
            examples=[mask_text(texts[i]) for i in order[:examples]],
            intents=", ".join(str(i) for i in intents),
        )
        if gap.size >= min_size:
            gaps.append(gap)
    return sorted(gaps, key=lambda g: (-g.size, g.representative))


def _top_intents(values: pd.Series) -> str:
    return str(values.value_counts().index[0])


def gaps_frame(gaps: list[Gap]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "size": g.size,
                "distinct": g.distinct,
                "representative": g.representative,
                "examples": " | ".join(g.examples),
                "intents": g.intents,
            }
            for g in gaps
        ],
        columns=["size", "distinct", "representative", "examples", "intents"],
    )
