"""Loading and validating knowledge entries; the copy of the taxonomy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.settings import REPO_ROOT
from knowledge.documents import KnowledgeDataError, corpus_hash, load_entries, load_topics, units_of

DATA = REPO_ROOT / "data"


def test_shipped_entries_cover_every_topic() -> None:
    topics = load_topics(DATA)
    entries = load_entries(DATA / "knowledge", topics)
    assert len(entries) >= 120
    per_topic = {t: sum(e.topic == t for e in entries) for t in topics}
    assert min(per_topic.values()) >= 3, per_topic
    assert all(len(e.questions) >= 3 and e.source and e.answer for e in entries)


def test_taxonomy_copy_matches_the_shared_spec() -> None:
    shared = REPO_ROOT.parent / "shared" / "spec" / "taxonomy.yml"
    if not shared.exists():
        pytest.skip("../shared is not beside this checkout")
    assert load_topics(DATA) == yaml.safe_load(shared.read_text(encoding="utf-8"))["topics"]


def _write(folder: Path, entries: list) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "x.yml").write_text(yaml.safe_dump({"entries": entries}, allow_unicode=True), encoding="utf-8")


def test_every_problem_is_named_by_file_entry_and_field(tmp_path: Path) -> None:
    topics = {"a.b": "test", "c.d": "other"}
    good = {
        "id": "e1",
        "topic": "a.b",
        "title": "标题",
        "questions": ["一", "二", "三"],
        "answer": "答",
        "source": "来源",
        "updated": "2026-11-01",
    }
    _write(
        tmp_path,
        [
            good,
            {**good, "id": "e1"},  # duplicate id
            {**good, "id": "e2", "topic": "nope"},
            {**good, "id": "e3", "questions": ["一", "一", "二"]},
            {**good, "id": "e4", "answer": ""},
            {**good, "id": "e5", "updated": "yesterday"},
            "not a mapping",
        ],
    )
    with pytest.raises(KnowledgeDataError) as info:
        load_entries(tmp_path, topics)
    problems = "\n".join(info.value.problems)
    assert "x.yml: entry e1: field 'id' duplicates" in problems
    assert "x.yml: entry e2: field 'topic': 'nope'" in problems
    assert "x.yml: entry e3: field 'questions' needs at least 3" in problems
    assert "x.yml: entry e4: field 'answer' is missing" in problems
    assert "x.yml: entry e5: field 'updated' must be a date" in problems
    assert "x.yml: entry #7: an entry must be a mapping" in problems
    assert "no entry for topic(s) c.d" in problems


def test_units_and_corpus_hash() -> None:
    entries = load_entries(DATA / "knowledge", load_topics(DATA))
    units = units_of(entries)
    assert len(units) == sum(len(e.questions) + 2 for e in entries)
    assert corpus_hash(entries) == corpus_hash(list(entries))
    changed = [entries[0].__class__(**{**entries[0].__dict__, "answer": "改了"}), *entries[1:]]
    assert corpus_hash(changed) != corpus_hash(entries)
