"""Chinese sentiment from e5 embeddings and a logistic regression (trained on labelled data in data/sentiment).

The model is a weight vector over the embedder's normalised 384-d vectors, stored as JSON (no pickle):
`SentimentModel.score(text)` answers -1 (surely negative) … 1 (surely not negative), the same contract as
`analytics.sentiment_lexicon.SentimentScorer`, so the console's handoff can use either.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from core.errors import DataError, InvalidInput

MODEL_FILE = "model.json"
MAX_TEXT_CHARS = 512  # e5 sees at most 512 tokens; longer messages are cut


class QueryEmbedder(Protocol):
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Labelled:
    texts: list[str]
    labels: np.ndarray  # 1 = not negative, 0 = negative


def read_labelled(path: Path) -> Labelled:
    """A CSV with `label` and `text` columns (extra columns ignored); names the file and line of every problem."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}; restore it from git") from exc
    texts: list[str] = []
    labels: list[int] = []
    problems: list[str] = []
    for line, row in enumerate(rows, start=2):
        label, text = (row.get("label") or "").strip(), (row.get("text") or "").strip()
        if label not in ("0", "1") or not text:
            problems.append(f"line {line}: label must be 0 or 1 and text non-empty (got {label!r}, {text[:20]!r})")
            continue
        texts.append(text)
        labels.append(int(label))
    if problems:
        raise DataError(f"{path}: " + "; ".join(problems[:5]))
    if not texts:
        raise DataError(f"{path} has no labelled rows; it needs the columns label,text")
    return Labelled(texts, np.asarray(labels, dtype=np.int8))


@dataclass(frozen=True)
class SentimentModel:
    weights: np.ndarray  # (dim,)
    bias: float
    embedder_name: str
    embedder: QueryEmbedder | None = None

    def with_embedder(self, embedder: QueryEmbedder) -> SentimentModel:
        return SentimentModel(self.weights, self.bias, self.embedder_name, embedder)

    def probability_negative(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(logits))  # the classifier's positive class is "not negative"

    def score_vectors(self, vectors: np.ndarray) -> np.ndarray:
        return 1.0 - 2.0 * self.probability_negative(vectors)

    def score_many(self, texts: Sequence[str]) -> np.ndarray:
        if self.embedder is None:
            raise InvalidInput("this sentiment model has no embedder; call with_embedder(query_embedder(path)) first")
        if not texts:
            return np.zeros(0)
        cut = [(t or " ")[:MAX_TEXT_CHARS] for t in texts]
        return self.score_vectors(np.asarray(self.embedder.embed_queries(cut), dtype=np.float32))

    def score(self, text: str) -> float:
        """-1 (very negative) … 1 (not negative at all); drop-in for the lexicon's `score`."""
        return float(self.score_many([text])[0])

    def save(self, path: Path) -> None:
        payload = {
            "embedder": self.embedder_name,
            "bias": self.bias,
            "weights": [round(float(w), 7) for w in self.weights],
        }
        path.write_text(json.dumps(payload), encoding="utf-8")


def load_model(path: Path) -> SentimentModel:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        weights = np.asarray(raw["weights"], dtype=np.float32)
        bias = float(raw["bias"])
        name = str(raw["embedder"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"cannot read the sentiment model {path}: {exc}; retrain it with `powerdesk report train-sentiment`"
        ) from exc
    if weights.ndim != 1 or not np.isfinite(weights).all():
        raise DataError(
            f"{path}: weights must be a flat list of numbers; retrain with `powerdesk report train-sentiment`"
        )
    return SentimentModel(weights, bias, name)


def train(vectors: np.ndarray, labels: np.ndarray, embedder_name: str, *, c: float = 4.0) -> SentimentModel:
    """Logistic regression (class-balanced) on normalised embeddings."""
    from sklearn.linear_model import LogisticRegression

    if len(vectors) != len(labels) or len(set(labels.tolist())) != 2:
        raise InvalidInput("training needs as many vectors as labels, and both labels 0 and 1")
    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    clf.fit(vectors, labels)
    return SentimentModel(clf.coef_[0].astype(np.float32), float(clf.intercept_[0]), embedder_name)


@dataclass(frozen=True)
class Evaluation:
    n: int
    accuracy: float
    negative_recall: float  # share of truly negative messages caught
    negative_precision: float


def evaluate(scores: np.ndarray, labels: np.ndarray, *, threshold: float = 0.0) -> Evaluation:
    """Accuracy of `score < threshold` as "negative" against labels (0 = negative)."""
    predicted_negative = scores < threshold
    negative = labels == 0
    tp = int((predicted_negative & negative).sum())
    return Evaluation(
        n=len(labels),
        accuracy=float((predicted_negative == negative).mean()) if len(labels) else float("nan"),
        negative_recall=tp / max(int(negative.sum()), 1),
        negative_precision=tp / max(int(predicted_negative.sum()), 1),
    )
