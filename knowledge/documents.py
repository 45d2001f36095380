"""Knowledge entries (data/knowledge/*.yml): loading, validation, and the units that get indexed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.datafiles import read_yaml_mapping
from core.errors import DataError

REQUIRED = ("id", "topic", "title", "questions", "answer", "source", "updated")
SAMPLE_MARK = "示例"  # a source naming sample (reference) data carries it; the customer is told
MIN_QUESTIONS = 3


@dataclass(frozen=True)
class WorkedExample:
    """The inputs of a calculation an answer shows, as a bill request (../shared/spec/billing-io.md), and the
    figures the answer states, each named by what of the bill it is (`total`, `basic`, `energy.tier1`,
    `pf_adjustment:percent`...): a test recomputes them with the billing engine."""

    request: dict[str, Any]
    figures: dict[str, float]


@dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    title: str
    questions: tuple[str, ...]
    answer: str
    source: str
    updated: dt.date
    file: str
    examples: tuple[WorkedExample, ...] = field(default=(), compare=False)

    @property
    def sample(self) -> bool:
        """The answer quotes sample (reference) prices, not ones in force: the customer must be told."""
        return SAMPLE_MARK in self.source


@dataclass(frozen=True)
class Unit:
    """One indexed text of an entry: a question variant or the title (matched as queries), or the answer."""

    entry: int  # index into the entry list
    kind: str  # "question" | "title" | "answer"
    text: str


class KnowledgeDataError(DataError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the knowledge documents:\n" + "\n".join(problems))
        self.problems = problems


def load_topics(data_dir: Path) -> dict[str, str]:
    path = data_dir / "taxonomy.yml"
    topics = read_yaml_mapping(path, required=("topics",))["topics"]
    if not isinstance(topics, dict):
        raise DataError(f"{path}: `topics` must map each topic to its description")
    return {str(k): str(v) for k, v in topics.items()}


def _check(raw: Any, where: str, topics: dict[str, str], problems: list[str]) -> Entry | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: an entry must be a mapping with fields {', '.join(REQUIRED)}")
        return None
    before = len(problems)
    for name in REQUIRED:
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(f"{where}: field '{name}' is missing or empty")
    topic = raw.get("topic")
    if topic is not None and topic not in topics:
        problems.append(f"{where}: field 'topic': {topic!r} is not a topic of data/taxonomy.yml")
    questions = raw.get("questions")
    if questions is not None:
        if not isinstance(questions, list) or not all(isinstance(q, str) and q.strip() for q in questions):
            problems.append(f"{where}: field 'questions' must be a list of non-empty strings")
        elif len(set(questions)) < MIN_QUESTIONS:
            problems.append(f"{where}: field 'questions' needs at least {MIN_QUESTIONS} distinct variants")
    try:
        updated = dt.date.fromisoformat(str(raw.get("updated")))
    except ValueError:
        if raw.get("updated") is not None:
            problems.append(f"{where}: field 'updated' must be a date YYYY-MM-DD, got {raw.get('updated')!r}")
        updated = dt.date.min
    examples = _examples(raw.get("examples"), where, problems)
    if len(problems) > before:
        return None
    return Entry(
        id=str(raw["id"]),
        topic=str(topic),
        title=str(raw["title"]).strip(),
        questions=tuple(q.strip() for q in questions or ()),
        answer=str(raw["answer"]).strip(),
        source=str(raw["source"]).strip(),
        updated=updated,
        file=where.split(":")[0],
        examples=examples,
    )


def _examples(raw: Any, where: str, problems: list[str]) -> tuple[WorkedExample, ...]:
    """The optional `examples:` of an entry that computes something: [{request: {...}, figures: {name: number}}]."""
    if raw is None:
        return ()
    shape = "a list of {request: {...a bill request...}, figures: {name: number}}"
    if not isinstance(raw, list):
        problems.append(f"{where}: field 'examples' must be {shape}")
        return ()
    out = []
    for item in raw:
        request = item.get("request") if isinstance(item, dict) else None
        figures = item.get("figures") if isinstance(item, dict) else None
        if (
            not isinstance(request, dict)
            or not isinstance(figures, dict)
            or not figures
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in figures.values())
        ):
            problems.append(f"{where}: field 'examples' must be {shape}")
            return ()
        out.append(WorkedExample(request, {str(k): float(v) for k, v in figures.items()}))
    return tuple(out)


def load_entries(folder: Path, topics: dict[str, str]) -> list[Entry]:
    """Every entry of folder/*.yml, validated; all problems reported at once, by file and field."""
    problems: list[str] = []
    entries: list[Entry] = []
    files = sorted(folder.glob("*.yml"))
    if not files:
        raise KnowledgeDataError([f"{folder}: no *.yml knowledge files"])
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            problems.append(f"{path.name}: not readable YAML: {exc}")
            continue
        items = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(items, list):
            problems.append(f"{path.name}: needs a top-level 'entries:' list")
            continue
        for i, raw in enumerate(items):
            label = raw.get("id") if isinstance(raw, dict) else None
            entry = _check(raw, f"{path.name}: entry {label or '#' + str(i + 1)}", topics, problems)
            if entry is not None:
                entries.append(entry)
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.id in seen:
            problems.append(f"{entry.file}: entry {entry.id}: field 'id' duplicates one in {seen[entry.id]}")
        seen[entry.id] = entry.file
    missing = sorted(set(topics) - {e.topic for e in entries})
    if missing:
        problems.append(f"{folder}: no entry for topic(s) {', '.join(missing)}")
    if problems:
        raise KnowledgeDataError(problems)
    return entries


def units_of(entries: list[Entry]) -> list[Unit]:
    units: list[Unit] = []
    for i, entry in enumerate(entries):
        units.append(Unit(i, "title", entry.title))
        units += [Unit(i, "question", q) for q in entry.questions]
        units.append(Unit(i, "answer", f"{entry.title}。{entry.answer}"))
    return units


def corpus_hash(entries: list[Entry]) -> str:
    """Changes whenever anything indexed changes (a stale index is detected by it)."""
    payload = [[e.id, e.topic, e.title, list(e.questions), e.answer] for e in entries]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()
