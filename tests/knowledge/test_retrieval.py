"""Index on disk (stale and corrupt detection), hybrid retrieval and evaluation, with a fake embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.settings import REPO_ROOT
from knowledge import store
from knowledge.documents import load_entries, load_topics
from knowledge.evaluation import Item, calibrate, load_items, metrics
from knowledge.lexical import ChineseTokenizer, LexicalIndex
from knowledge.retriever import Fusion, Retriever
from tests.knowledge.fakes import HashingEmbedder

DATA = REPO_ROOT / "data"


@pytest.fixture(scope="module")
def tokenizer() -> ChineseTokenizer:
    return ChineseTokenizer(
        [REPO_ROOT / "bot" / "dictionaries" / "powerdesk.txt"], DATA / "knowledge" / "stopwords.txt"
    )


@pytest.fixture(scope="module")
def entries():  # type: ignore[no-untyped-def]
    return load_entries(DATA / "knowledge", load_topics(DATA))


@pytest.fixture
def retriever(tmp_path: Path, entries, tokenizer: ChineseTokenizer) -> Retriever:  # type: ignore[no-untyped-def]
    built = store.build(entries, HashingEmbedder(), "fake:1", tmp_path / "kb")
    return Retriever(built, HashingEmbedder(), LexicalIndex(tokenizer, [u.text for u in built.units]), Fusion())


def test_tokenizer_keeps_domain_words(tokenizer: ChineseTokenizer) -> None:
    tokens = tokenizer("请问阶梯电价怎么算？户号3301234567")
    assert "阶梯电价" in tokens and "3301234567" in tokens and "请问" not in tokens and "？" not in tokens


def test_search_finds_the_entry_by_its_own_question(retriever: Retriever, entries) -> None:  # type: ignore[no-untyped-def]
    for entry in entries[:40]:
        result = retriever.search(entry.questions[0], k=3)
        assert result.hits[0].entry.topic == entry.topic
    assert [set(h.as_json()) for h in result.hits] == [{"id", "topic", "title", "score"}] * 3


def test_bad_queries_are_clear_errors(retriever: Retriever) -> None:
    for bad in ("", "   ", "电" * 5000):
        with pytest.raises(InvalidInput):
            retriever.search(bad)
    with pytest.raises(InvalidInput, match="k must be"):
        retriever.search("电费", k=0)
    for odd in ("😀😀😀", "what is the weather", "电费 bill 多少 money"):
        assert len(retriever.search(odd).hits) == 5  # answered or not, never a crash


def test_stale_and_corrupt_indexes_are_refused(tmp_path: Path, entries) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "kb"
    store.build(entries, HashingEmbedder(), "fake:1", folder)
    assert store.load(entries, "fake:1", folder).vectors.ntotal > 0
    with pytest.raises(store.StaleIndex, match="another embedding model"):
        store.load(entries, "fake:2", folder)
    with pytest.raises(store.StaleIndex, match="other knowledge documents"):
        store.load(entries[1:], "fake:1", folder)
    (folder / store.VECTORS).write_bytes(b"garbage")
    with pytest.raises(Exception, match="kb build"):
        store.load(entries, "fake:1", folder)
    (folder / store.MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(store.StaleIndex, match="corrupt"):
        store.load(entries, "fake:1", folder)
    store.build(entries, HashingEmbedder(), "fake:1", folder)  # a rebuild repairs it
    assert store.load(entries, "fake:1", folder).vectors.ntotal > 0


def test_metrics_on_a_hand_computed_set(retriever: Retriever, entries) -> None:  # type: ignore[no-untyped-def]
    items = [Item(entries[0].questions[0], entries[0].topic), Item("完全无关的内容", "none")]
    scores = [retriever.scores(i.text) for i in items]
    always = metrics(retriever, items, scores, Fusion(threshold=-10.0))
    assert always.top1 == 1.0 and always.in_scope_answered == 1.0 and always.oos_rejected == 0.0
    never = metrics(retriever, items, scores, Fusion(threshold=10.0))
    assert never.in_scope_answered == 0.0 and never.oos_rejected == 1.0


def test_calibration_keeps_in_scope_answered(retriever: Retriever) -> None:
    items = load_items(DATA / "eval" / "kb_dev.yml")
    fusion, found = calibrate(retriever, items)
    assert found.in_scope_answered >= 0.95 and fusion.threshold > 0
