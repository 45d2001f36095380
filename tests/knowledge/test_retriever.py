"""Index on disk (stale and corrupt detection), hybrid retrieval and evaluation, with a fake embedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import DataError, InvalidInput
from core.settings import REPO_ROOT
from knowledge import store, topic_model
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


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory, entries, tokenizer: ChineseTokenizer) -> Retriever:  # type: ignore[no-untyped-def]
    built = store.build(entries, HashingEmbedder(), "fake:1", tmp_path_factory.mktemp("kb"))
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
    assert fusion.outside_weight == 0.0  # built without out-of-scope questions: nothing to weigh


def test_out_of_scope_neighbours_lower_the_answer_score(tmp_path: Path, entries, tokenizer) -> None:  # type: ignore[no-untyped-def]
    built = store.build(entries, HashingEmbedder(), "fake:1", tmp_path / "kb", NEGATIVES)
    lexical = LexicalIndex(tokenizer, [u.text for u in built.units])
    retriever = Retriever(built, HashingEmbedder(), lexical, Fusion(threshold=0.5, outside_weight=1.0))
    refused, answered = retriever.scores(NEGATIVES[0]), retriever.scores(entries[0].questions[0])
    assert refused.outside == pytest.approx(
        np.sort(built.outside @ HashingEmbedder().embed_queries([NEGATIVES[0]])[0])[-3:].mean()
    )
    assert refused.answer_score(retriever.fusion) < answered.answer_score(retriever.fusion)
    refusal, answer = retriever.search(NEGATIVES[0]), retriever.search(entries[0].questions[0])
    assert not refusal.answerable and refusal.out_of_scope and refused.p_none > 0.5
    assert answer.answerable and not answer.out_of_scope


NEGATIVES = ["燃气费在哪里交", "自来水公司电话多少", "宽带坏了找谁修", "讲个笑话", "帮我订一张去杭州的火车票"]


def test_the_topic_model_learns_topics_and_out_of_scope(tmp_path: Path, entries) -> None:  # type: ignore[no-untyped-def]
    built = store.build(entries, HashingEmbedder(), "fake:1", tmp_path / "kb", NEGATIVES)
    assert built.topics is not None and "none" in built.topics.classes
    embedder = HashingEmbedder()
    own = entries[0].questions[0]
    p = built.topics.proba([own, NEGATIVES[0]], embedder.embed_queries([own, NEGATIVES[0]]))
    classes = built.topics.classes
    assert classes[int(p[0].argmax())] == entries[0].topic and classes[int(p[1].argmax())] == "none"
    loaded = store.load(entries, "fake:1", tmp_path / "kb", NEGATIVES)
    assert loaded.topics is not None and loaded.topics.trained_on == built.topics.trained_on


def test_changed_negatives_or_a_corrupt_topic_model_are_refused(tmp_path: Path, entries) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "kb"
    store.build(entries, HashingEmbedder(), "fake:1", folder, NEGATIVES)
    with pytest.raises(store.StaleIndex, match="out-of-scope questions"):
        store.load(entries, "fake:1", folder, NEGATIVES[1:])
    (folder / topic_model.FILE).write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataError, match="corrupt.*kb build"):
        store.load(entries, "fake:1", folder, NEGATIVES)
    (folder / topic_model.FILE).unlink()
    with pytest.raises(DataError, match="no topic model.*kb build"):
        store.load(entries, "fake:1", folder, NEGATIVES)
    store.build(entries, HashingEmbedder(), "fake:1", folder, NEGATIVES)
    (folder / store.OUTSIDE).write_bytes(b"not an array")
    with pytest.raises(store.StaleIndex, match="out-of-scope vectors.*kb build"):
        store.load(entries, "fake:1", folder, NEGATIVES)


def test_negatives_file_errors_name_the_item(tmp_path: Path) -> None:
    path = tmp_path / "oos.yml"
    assert topic_model.load_negatives(path) == []  # no file: no negatives
    path.write_text("- {text: 讲个笑话, category: chitchat}\n- 帮我订机票\n", encoding="utf-8")
    assert topic_model.load_negatives(path) == ["讲个笑话", "帮我订机票"]
    for bad, message in (
        ("{a: 1}", "YAML list"),
        ("- {category: x}", "item 1"),
        ("- ''", "item 1"),
        (f"- {'长' * 600}", "item 1"),
        ("- [unclosed", "cannot read it"),
    ):
        path.write_text(bad, encoding="utf-8")
        with pytest.raises(DataError, match=message):
            topic_model.load_negatives(path)


def test_the_shipped_negatives_are_out_of_scope_and_not_in_the_evaluation_sets() -> None:
    files = sorted((DATA / "knowledge" / "training").glob("*.yml"))
    negatives = [text for path in files for text in topic_model.load_negatives(path)]
    assert len(negatives) >= 1000 and len(set(negatives)) == len(negatives)
    evaluated = {i.text for f in (DATA / "eval").glob("kb_*.yml") for i in load_items(f)}
    questions = {q for e in load_entries(DATA / "knowledge", load_topics(DATA)) for q in e.questions}
    assert not (set(negatives) & evaluated) and not (set(negatives) & questions)


@pytest.mark.parametrize("name", ["kb_holdout.yml", "faq_holdout4.yml", "faq_holdout5.yml"])
def test_the_held_out_sets_are_large_enough_valid_and_disjoint_from_training(entries, name: str) -> None:  # type: ignore[no-untyped-def]
    held_out = load_items(DATA / "eval" / name, load_topics(DATA))
    topics = set(load_topics(DATA))
    inside = [i for i in held_out if i.topic != "none"]
    assert len(inside) >= 150 and len(held_out) - len(inside) >= 30
    assert {i.topic for i in inside} == topics  # every topic asked about
    trained = {t for e in entries for t in (e.title, *e.questions)}
    trained |= {t for p in (DATA / "knowledge" / "training").glob("*.yml") for t in topic_model.load_negatives(p)}
    assert not {i.text for i in held_out} & trained


def test_an_evaluation_item_with_an_unknown_topic_is_named(tmp_path: Path) -> None:
    path = tmp_path / "eval.yml"
    path.write_text(
        "- {text: 电费怎么交, topic: billing.payment_methods}\n- {text: 峰谷电, topic: tariff.tuo}\n", "utf-8"
    )
    with pytest.raises(DataError, match="item 2 has topic 'tariff.tuo'"):
        load_items(path, load_topics(DATA))
    assert len(load_items(path)) == 2  # without the taxonomy any label is taken as given
