"""Hybrid retrieval (dense e5 + BM25, fused per entry) and the answer/no-answer decision."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

from core.errors import InvalidInput
from knowledge import dense
from knowledge.documents import Entry
from knowledge.embedder import TextEmbedder
from knowledge.lexical import LexicalIndex
from knowledge.store import BuiltIndex

MAX_QUERY_CHARS = 500
DENSE_CANDIDATES = 256  # units fetched from an approximate index before aggregation per entry
OUTSIDE_NEIGHBOURS = 3
# the BLAS thread limit is process-wide: whoever sets it (any retriever, any thread) sets and restores it alone
_BLAS_LOCK = threading.Lock()
OUT_OF_SCOPE_P = 0.5  # an unanswerable question is "out of scope" (not merely unclear) when P(none) ≥ this


@dataclass(frozen=True)
class Fusion:
    """Ranking: fused = dense cosine + alpha · bm25 / (bm25 + lexical_scale) + topic_weight · P(entry's topic).
    Answering: the best dense cosine to any entry minus outside_weight · the mean cosine to the 3 nearest
    out-of-scope questions (how much closer the question is to what we answer than to what we refuse);
    answerable when that is ≥ threshold."""

    alpha: float = 0.1
    lexical_scale: float = 8.0
    threshold: float = 0.9
    topic_weight: float = 0.0
    outside_weight: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float
    dense: float
    lexical: float

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.entry.id,
            "topic": self.entry.topic,
            "title": self.entry.title,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class Result:
    answerable: bool
    hits: list[Hit]
    out_of_scope: bool = False  # not answerable, and the topic model places it outside every topic

    def as_json(self) -> dict[str, object]:
        return {"answerable": self.answerable, "hits": [h.as_json() for h in self.hits]}


@dataclass(frozen=True)
class EntryScores:
    dense: npt.NDArray[np.float32]  # per entry: best cosine over its units
    lexical: npt.NDArray[np.float32]  # per entry: best BM25 over its units
    topic: npt.NDArray[np.float32]  # per entry: the topic model's probability of the entry's topic
    outside: float = 0.0  # mean cosine to the OUTSIDE_NEIGHBOURS nearest out-of-scope questions
    p_none: float = 0.0  # the topic model's probability that no topic covers the question

    def answer_score(self, fusion: Fusion) -> float:
        return float(self.dense.max()) - fusion.outside_weight * self.outside if len(self.dense) else -1.0

    def fused(self, fusion: Fusion) -> npt.NDArray[np.float32]:
        lex = self.lexical / (self.lexical + np.float32(fusion.lexical_scale))
        fused = self.dense + np.float32(fusion.alpha) * lex + np.float32(fusion.topic_weight) * self.topic
        return fused.astype(np.float32)


def clean_query(query: str) -> str:
    text = " ".join(str(query).split())
    if not text:
        raise InvalidInput("the query is empty; send the customer's question as text")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"the query has {len(text)} characters; the limit is {MAX_QUERY_CHARS}. Shorten it.")
    return text


class Retriever:
    def __init__(self, built: BuiltIndex, embedder: TextEmbedder, lexical: LexicalIndex, fusion: Fusion) -> None:
        self.built, self.embedder, self.lexical, self.fusion = built, embedder, lexical, fusion
        self._unit_entry = np.array([u.entry for u in built.units], dtype=np.int64)
        topics = built.topics
        self._topic_columns = topics.columns_for([e.topic for e in built.entries]) if topics is not None else None
        # One BLAS thread for the small per-question products: a multi-threaded BLAS keeps its threads
        # spinning after each call and starves the e5 engine of the 2 cores (p50 33 ms instead of 15 ms).
        self._blas = ThreadpoolController()

    @property
    def entries(self) -> list[Entry]:
        return self.built.entries

    def scores(self, query: str) -> EntryScores:
        text = clean_query(query)
        n = len(self.built.entries)
        vector = self.embedder.embed_queries([text])
        k = self.built.vectors.ntotal if self.built.vectors.ntotal <= 4096 else DENSE_CANDIDATES
        sims, ids = dense.search(self.built.vectors, vector, k)
        dense_best = np.full(n, -1.0, dtype=np.float32)
        valid = ids[0] >= 0
        np.maximum.at(dense_best, self._unit_entry[ids[0][valid]], sims[0][valid].astype(np.float32))
        lexical_best = np.zeros(n, dtype=np.float32)
        np.maximum.at(lexical_best, self._unit_entry, self.lexical.scores(text))
        topics, columns = self.built.topics, self._topic_columns
        # the limit is process-wide: one question at a time sets and restores it (the action server's threads)
        with _BLAS_LOCK, self._blas.limit(limits=1, user_api="blas"):
            topic_p, p_none = (
                topics.topic_proba(text, vector[0], columns)
                if topics is not None and columns is not None
                else (np.zeros(n, np.float32), 0.0)
            )
            outside = self._outside(vector[0])
        return EntryScores(dense_best, lexical_best, topic_p, outside, p_none)

    def _outside(self, vector: npt.NDArray[np.float32]) -> float:
        negatives = self.built.outside
        if negatives is None or not len(negatives):
            return 0.0
        sims = negatives @ vector
        k = min(OUTSIDE_NEIGHBOURS, len(sims))
        return float(np.partition(sims, len(sims) - k)[-k:].mean())

    def rank(self, scores: EntryScores, k: int) -> list[Hit]:
        fused = scores.fused(self.fusion)
        order = np.argsort(-fused, kind="stable")[: max(1, k)]
        return [
            Hit(self.built.entries[i], float(fused[i]), float(scores.dense[i]), float(scores.lexical[i])) for i in order
        ]

    def search(self, query: str, k: int = 5) -> Result:
        if k < 1:
            raise InvalidInput(f"k must be at least 1, got {k}")
        scores = self.scores(query)
        hits = self.rank(scores, k)
        answerable = bool(hits) and scores.answer_score(self.fusion) >= self.fusion.threshold
        return Result(answerable, hits, out_of_scope=not answerable and scores.p_none >= OUT_OF_SCOPE_P)
