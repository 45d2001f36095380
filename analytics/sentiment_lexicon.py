"""A simple, explainable sentiment signal for handoffs: a weighted lexicon (data/console/sentiment_zh.yml)
with negation and intensifiers, squashed to -1 … 1. A trained model will replace it (the satisfaction
issue); anything with a `score(text) -> float` method can stand in for it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from core.datafiles import read_yaml_mapping
from core.errors import DataError

_EXCLAIM = re.compile(r"[!！]{2,}|[?？]{3,}")


class SentimentScorer(Protocol):
    def score(self, text: str) -> float:
        """-1 (very negative) … 1 (very positive)."""


@dataclass(frozen=True)
class Lexicon:
    weights: dict[str, float]  # negative words carry negative weights
    intensifiers: tuple[str, ...]
    negations: tuple[str, ...]
    _terms: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._terms.extend(sorted(self.weights, key=len, reverse=True))

    def score(self, text: str) -> float:
        total, i, boost = 0.0, 0, 1.0
        while i < len(text):
            term = next((t for t in self._terms if text.startswith(t, i)), None)
            if term is not None:
                weight = self.weights[term] * boost
                before = text[max(0, i - 2) : i]
                if any(before.endswith(n) for n in self.negations):
                    weight = -weight * 0.5  # 不 + 谢谢 is not praise; 没 + 生气 is not anger
                total += weight
                i += len(term)
                boost = 1.0
                continue
            word = next((w for w in self.intensifiers if text.startswith(w, i)), None)
            if word is not None:
                boost, i = 1.5, i + len(word)
                continue
            i += 1
        if total < 0 and _EXCLAIM.search(text):
            total -= 1.0
        return math.tanh(total / 3.0)

    def explain(self, text: str) -> list[str]:
        """The lexicon terms found in the text (for the handoff summary and tests)."""
        return [t for t in self._terms if t in text]


def load_lexicon(data_dir: Path) -> Lexicon:
    path = data_dir / "console" / "sentiment_zh.yml"
    raw = read_yaml_mapping(path)
    problems: list[str] = []
    weights: dict[str, float] = {}
    for section, sign in (("negative", -1.0), ("positive", 1.0)):
        entries = raw.get(section)
        if not isinstance(entries, dict) or not entries:
            problems.append(f"section {section!r} must be a mapping of word: weight (1–3)")
            continue
        for word, weight in entries.items():
            if not isinstance(word, str) or not word or not isinstance(weight, int | float) or not 0 < weight <= 3:
                problems.append(f"{section}.{word}: weight must be a number in (0, 3], got {weight!r}")
            elif word in weights:
                problems.append(f"{section}.{word}: listed twice")
            else:
                weights[word] = sign * float(weight)
    lists = {name: raw.get(name) for name in ("intensifiers", "negations")}
    for name, value in lists.items():
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            problems.append(f"{name!r} must be a list of words")
    if problems:
        raise DataError(f"{path}: " + "; ".join(problems))
    return Lexicon(weights, tuple(lists["intensifiers"] or ()), tuple(lists["negations"] or ()))
