"""A topic classifier over the knowledge entries' question variants, with an out-of-scope class.

Features: the question's e5 vector (the one retrieval already computed) and character n-grams
(TF-IDF over 1–3 characters of the NFKC, lower-cased text, which catches domain words jieba
splits badly and typos that keep most characters). A multinomial logistic regression predicts
one of the topics or ``none``; it is trained at ``kb build`` on every entry's title and question
variants plus the out-of-scope questions of ``data/knowledge/training/*.yml``.
Retrieval adds ``topic_weight · P(topic of the entry)`` to each entry's score, so the topic
evidence of all variants, not only the nearest one, decides the ranking, and a question the
classifier places in ``none`` falls below the answer threshold.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from core.datafiles import read_yaml_list
from core.errors import DataError

NONE = "none"
FILE = "topic_model.joblib"
EMBEDDING_WEIGHT = 2.0  # the e5 block's scale against the unit-norm TF-IDF block
C = 16.0
MAX_NEGATIVE_CHARS = 500


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def load_negatives(path: Path) -> list[str]:
    """Out-of-scope training questions: a YAML list of {text, category} (or plain strings)."""
    if not path.exists():
        return []
    data = read_yaml_list(path)
    texts: list[str] = []
    for i, row in enumerate(data):
        text = row.get("text") if isinstance(row, dict) else row
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_NEGATIVE_CHARS:
            raise DataError(f"{path}: item {i + 1} needs a non-empty 'text' of at most {MAX_NEGATIVE_CHARS} characters")
        texts.append(text.strip())
    return texts


def training_hash(texts: Sequence[str], labels: Sequence[str]) -> str:
    payload = json.dumps([list(texts), list(labels)], ensure_ascii=False).encode()
    return hashlib.sha256(payload).hexdigest()


@dataclass
class TopicModel:
    classes: list[str]
    vectorizer: Any  # sklearn TfidfVectorizer
    classifier: Any  # sklearn LogisticRegression
    trained_on: str  # training_hash of the texts and labels

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[str], vectors: npt.NDArray[np.float32]) -> TopicModel:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if len(texts) != len(labels) or len(texts) != len(vectors):
            raise ValueError("texts, labels and vectors must have the same length")
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), preprocessor=normalise, sublinear_tf=True)
        grams = vectorizer.fit_transform(texts)
        classifier = LogisticRegression(C=C, max_iter=5000)
        classifier.fit(_features(vectors, grams), list(labels))
        return cls(list(classifier.classes_), vectorizer, classifier, training_hash(texts, labels))

    def proba(self, texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(n, classes) probabilities; columns in the order of ``classes``."""
        grams = self.vectorizer.transform(list(texts))
        return np.asarray(self.classifier.predict_proba(_features(vectors, grams)), dtype=np.float32)

    def columns_for(self, topics: Sequence[str]) -> npt.NDArray[np.int64]:
        """The probability column of each topic (-1 for a topic the model does not know), for topic_proba."""
        column = {c: i for i, c in enumerate(self.classes)}
        return np.array([column.get(t, -1) for t in topics], dtype=np.int64)

    def topic_proba(
        self, text: str, vector: npt.NDArray[np.float32], columns: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float32], float]:
        """P(topic) in each of ``columns`` (from columns_for; 0 where -1), and P(none)."""
        p = self.proba([text], vector.reshape(1, -1))[0]
        per_entry = np.where(columns >= 0, p[columns], 0.0).astype(np.float32)
        return per_entry, float(p[self.classes.index(NONE)]) if NONE in self.classes else 0.0

    def save(self, folder: Path) -> None:
        import joblib

        joblib.dump(self, folder / FILE)

    @staticmethod
    def load(folder: Path, trained_on: str | None = None) -> TopicModel:
        """The model in ``folder``; raises DataError (with the fix) when missing, corrupt or stale."""
        import joblib

        fix = "run `powerdesk kb build` to rebuild it"
        path = folder / FILE
        if not path.exists():
            raise DataError(f"no topic model in {folder}; {fix}")
        try:
            model = joblib.load(path)
        except Exception as exc:  # a truncated or foreign file: any unpickling error
            raise DataError(f"the topic model {path} is corrupt ({type(exc).__name__}); {fix}") from exc
        if not isinstance(model, TopicModel):
            raise DataError(f"{path} does not hold a topic model; {fix}")
        if trained_on is not None and model.trained_on != trained_on:
            raise DataError(f"the topic model in {folder} was trained on other questions; {fix}")
        return model


def _features(vectors: npt.NDArray[np.float32], grams: Any) -> Any:
    from scipy import sparse

    dense_part = sparse.csr_matrix(np.asarray(vectors, dtype=np.float32) * EMBEDDING_WEIGHT)
    return sparse.hstack([dense_part, grams]).tocsr()
