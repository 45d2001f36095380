"""Knowledge gaps: which messages count as unanswered, clustering, sizes, examples (masked), order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from analytics.satisfaction.gaps import gap_questions, gaps_frame, knowledge_gaps
from core.settings import REPO_ROOT

E5 = REPO_ROOT / "var" / "models" / "multilingual-e5-small"


class TopicEmbedder:
    """Vectors by topic word, so the expected clusters are known: 光伏 / 充电桩 / anything else."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            v = (
                np.array([1.0, 0, 0])
                if "光伏" in text
                else np.array([0, 1.0, 0])
                if "充电桩" in text
                else np.array([0, 0, 1.0])
            )
            rows.append(v + 0.01 * (len(text) % 3))
        return np.asarray(rows, dtype=np.float32)


def messages(rows: list[tuple[str, str | None, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"direction": "in", "sender": "customer", "text": t, "intent": i, "confidence": c} for t, i, c in rows]
        + [{"direction": "out", "sender": "bot", "text": "光伏补贴怎么领", "intent": None, "confidence": None}]
    )


def test_unanswered_questions_are_fallbacks_and_low_confidence_but_not_ratings() -> None:
    frame = messages(
        [
            ("光伏补贴怎么领", "nlu_fallback", 0.3),
            ("光伏并网要多久", "ask_tariff", 0.5),
            ("电费怎么交", "pay_bill", 0.95),  # answered well
            ("5", "nlu_fallback", 0.2),  # a rating, not a question
            ("x", "nlu_fallback", 0.1),  # too short
        ]
    )
    assert gap_questions(frame)["text"].tolist() == ["光伏补贴怎么领", "光伏并网要多久"]


def test_clusters_have_sizes_examples_and_come_biggest_first() -> None:
    rows = [("光伏补贴怎么领", "nlu_fallback", 0.3)] * 3 + [("光伏并网要多久", "nlu_fallback", 0.3)]
    rows += [("充电桩能装阳台吗，电话13812345678", "nlu_fallback", 0.2)] * 2 + [("阿巴阿巴", "nlu_fallback", 0.1)]
    gaps = knowledge_gaps(gap_questions(messages(rows)), TopicEmbedder(), examples=2)
    assert [(g.size, g.distinct) for g in gaps] == [(4, 2), (2, 1), (1, 1)]
    assert gaps[0].examples == ["光伏补贴怎么领", "光伏并网要多久"] and gaps[0].intents == "nlu_fallback"
    assert gaps[1].examples == ["充电桩能装阳台吗，电话138****5678"]
    frame = gaps_frame(gaps)
    assert frame["size"].tolist() == [4, 2, 1] and "13812345678" not in frame.to_csv()
    assert knowledge_gaps(gap_questions(messages([])), TopicEmbedder()) == []
    assert len(knowledge_gaps(gap_questions(messages(rows)), TopicEmbedder(), max_questions=1)) == 1


@pytest.mark.skipif(not (E5 / "manifest.json").exists(), reason="the e5 embedder is built by `make setup`")
def test_the_threshold_groups_paraphrases_with_e5() -> None:
    from knowledge.embedder import query_embedder

    rows = [
        (t, "nlu_fallback", 0.2)
        for t in ("电费怎么交", "如何缴纳电费", "在哪里交电费", "停电了怎么办", "家里突然没电了", "突然停电了怎么处理")
    ]
    gaps = knowledge_gaps(gap_questions(messages(rows)), query_embedder(E5), examples=3)
    groups = sorted(sorted(g.examples) for g in gaps)
    assert len(gaps) == 2, groups
    assert sorted(["电费怎么交", "如何缴纳电费", "在哪里交电费"]) in groups
