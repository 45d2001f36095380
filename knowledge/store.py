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

from core.errors import DataError
from knowledge import dense
from knowledge.documents import Entry, Unit, corpus_hash, units_of
from knowledge.embedder import TextEmbedder

MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
FORMAT = 1


class StaleIndex(DataError):
    """The index on disk was built from other documents or another model: never used silently."""


@dataclass
class BuiltIndex:
    entries: list[Entry]
    units: list[Unit]
    vectors: faiss.Index
    manifest: dict[str, Any]


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


def build(entries: list[Entry], embedder: TextEmbedder, model_id: str, folder: Path) -> BuiltIndex:
    """Embed every unit and write the index into `folder` (replacing it atomically)."""
    started = time.monotonic()
    units = units_of(entries)
    index = dense.build_index(embed_units(units, embedder))
    manifest = {
        "format": FORMAT,
        "model": model_id,
        "corpus_hash": corpus_hash(entries),
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
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return BuiltIndex(entries, units, index, manifest)


def load(entries: list[Entry], model_id: str, folder: Path) -> BuiltIndex:
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
    units = units_of(entries)
    index = dense.load(folder / VECTORS)
    if index.ntotal != len(units) or index.d != manifest.get("dim"):
        raise StaleIndex(
            f"the vector file in {folder} holds {index.ntotal} vectors of {index.d} dims, the manifest says "
            f"{len(units)} of {manifest.get('dim')}; {fix}"
        )
    return BuiltIndex(entries, units, index, manifest)
