"""The knowledge index on disk: vectors (FAISS), units, and a manifest that detects staleness."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from core.errors import DataError
from knowledge import dense
from knowledge.documents import Entry, Unit, corpus_hash, units_of
from knowledge.embedder import TextEmbedder
from knowledge.topic_model import NONE, TopicModel, training_hash

MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
OUTSIDE = "negatives.npy"  # e5 vectors of the out-of-scope questions
FORMAT = 3  # 2: with the topic model; 3: with the out-of-scope vectors


class StaleIndex(DataError):
    """The index on disk was built from other documents or another model: never used silently."""


@dataclass
class BuiltIndex:
    entries: list[Entry]
    units: list[Unit]
    vectors: faiss.Index
    manifest: dict[str, Any]
    topics: TopicModel | None = None
    outside: npt.NDArray[np.float32] | None = None  # (out-of-scope questions, dim) unit vectors


def embed_units(units: list[Unit], embedder: TextEmbedder) -> np.ndarray:
    """Questions and titles are matched query-to-query (symmetric), answers as e5 passages."""
    vectors = np.zeros((len(units), embedder.dim), dtype=np.float32)
    as_query = [i for i, u in enumerate(units) if u.kind != "answer"]
    as_passage = [i for i, u in enumerate(units) if u.kind == "answer"]
    if as_query:
        vectors[as_query] = embedder.embed_queries([units[i].text for i in as_query])
    if as_passage:
        vectors[as_passage] = embedder.embed_passages([units[i].text for i in as_passage])
    return vectors


def topic_training(entries: list[Entry], negatives: list[str]) -> tuple[list[str], list[str]]:
    """What the topic model learns from: every title and question variant, and the out-of-scope questions."""
    texts, labels = [], []
    for entry in entries:
        for text in (entry.title, *entry.questions):
            texts.append(text)
            labels.append(entry.topic)
    return texts + list(negatives), labels + [NONE] * len(negatives)


def build(
    entries: list[Entry], embedder: TextEmbedder, model_id: str, folder: Path, negatives: list[str] | None = None
) -> BuiltIndex:
    """Embed every unit, train the topic model, and write both into `folder` (replacing it atomically)."""
    started = time.monotonic()
    units = units_of(entries)
    unit_vectors = embed_units(units, embedder)
    index = dense.build_index(unit_vectors)
    texts, labels = topic_training(entries, negatives or [])
    by_text = {u.text: unit_vectors[i] for i, u in enumerate(units) if u.kind != "answer"}
    fresh = [t for t in dict.fromkeys(texts) if t not in by_text]
    if fresh:
        by_text.update(zip(fresh, embedder.embed_queries(fresh), strict=True))
    topics = TopicModel.fit(texts, labels, np.stack([by_text[t] for t in texts]))
    outside = np.stack([by_text[t] for t in negatives or []]) if negatives else np.zeros((0, embedder.dim), np.float32)
    manifest = {
        "format": FORMAT,
        "model": model_id,
        "corpus_hash": corpus_hash(entries),
        "topic_training": topics.trained_on,
        "negatives": len(negatives or []),
        "entries": len(entries),
        "units": len(units),
        "dim": embedder.dim,
        "index_type": type(index).__name__,
        "build_seconds": round(time.monotonic() - started, 2),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    staging = folder.with_name(folder.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    dense.save(index, staging / VECTORS)
    topics.save(staging)
    np.save(staging / OUTSIDE, outside.astype(np.float32), allow_pickle=False)
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return BuiltIndex(entries, units, index, manifest, topics, outside)


def load(entries: list[Entry], model_id: str, folder: Path, negatives: list[str] | None = None) -> BuiltIndex:
    """Load the index for these entries and this model, or explain why it cannot be used."""
    fix = "run `powerdesk kb build` to rebuild it"
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StaleIndex(f"no knowledge index in {folder}; {fix}") from None
    except (OSError, ValueError) as exc:
        raise StaleIndex(f"the index manifest {folder / MANIFEST} is corrupt ({exc}); {fix}") from exc
    if manifest.get("format") != FORMAT:
        raise StaleIndex(f"the index in {folder} has format {manifest.get('format')}, expected {FORMAT}; {fix}")
    if manifest.get("corpus_hash") != corpus_hash(entries):
        raise StaleIndex(f"the index in {folder} was built from other knowledge documents; {fix}")
    if manifest.get("model") != model_id:
        raise StaleIndex(f"the index in {folder} was built with another embedding model; {fix}")
    trained_on = training_hash(*topic_training(entries, negatives or []))
    if manifest.get("topic_training") != trained_on:
        raise StaleIndex(f"the index in {folder} was trained on other out-of-scope questions; {fix}")
    units = units_of(entries)
    index = dense.load(folder / VECTORS)
    if index.ntotal != len(units) or index.d != manifest.get("dim"):
        raise StaleIndex(
            f"the vector file in {folder} holds {index.ntotal} vectors of {index.d} dims, the manifest says "
            f"{len(units)} of {manifest.get('dim')}; {fix}"
        )
    try:
        outside = np.load(folder / OUTSIDE, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise StaleIndex(f"the out-of-scope vectors in {folder} are missing or corrupt ({exc}); {fix}") from exc
    if outside.shape != (len(negatives or []), index.d):
        raise StaleIndex(f"the out-of-scope vectors in {folder} have shape {outside.shape}; {fix}")
    return BuiltIndex(entries, units, index, manifest, TopicModel.load(folder, trained_on), outside)
