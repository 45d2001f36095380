"""Wiring the knowledge base together from settings: documents, embedder, index, calibration."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from core.errors import DataError
from core.settings import Settings
from knowledge import store
from knowledge.documents import Entry, load_entries, load_topics
from knowledge.embedder import Embedder, TextEmbedder, query_embedder
from knowledge.evaluation import Metrics, calibrate, load_items
from knowledge.lexical import ChineseTokenizer, LexicalIndex
from knowledge.retriever import Fusion, Retriever
from knowledge.topic_model import load_negatives

CALIBRATION = "calibration.json"


def index_dir(settings: Settings) -> Path:
    return settings.var_dir / "knowledge"


def embedder_path(settings: Settings) -> Path:
    if settings.embedding_model:
        return Path(settings.embedding_model)
    from knowledge.embedder_build import ensure_embedder

    return ensure_embedder(settings.var_dir / "models")


def model_id(path: Path) -> str:
    """What identifies the embedder: its build manifest's weights checksum, else its config files."""
    manifest = path / "manifest.json"
    if manifest.exists():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return f"{path.name}:{(data.get('weights') or {}).get('sha256')}"
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "model.safetensors"):
        file = path / name
        if file.exists():
            digest.update(name.encode() + str(file.stat().st_size).encode())
    return f"{path.name}:{digest.hexdigest()[:16]}"


def tokenizer(settings: Settings) -> ChineseTokenizer:
    dictionaries = sorted((settings.bot_dir / "dictionaries").glob("*.txt"))
    return ChineseTokenizer(dictionaries, settings.data_dir / "knowledge" / "stopwords.txt")


def documents(settings: Settings) -> list[Entry]:
    return load_entries(settings.data_dir / "knowledge", load_topics(settings.data_dir))


def negatives(settings: Settings) -> list[str]:
    """The out-of-scope questions the knowledge base learns to refuse (data/knowledge/training/*.yml)."""
    files = sorted((settings.data_dir / "knowledge" / "training").glob("*.yml"))
    return [text for path in files for text in load_negatives(path)]


def build(settings: Settings, embedder: TextEmbedder | None = None) -> tuple[Retriever, Metrics | None]:
    """Embed and index the documents, then calibrate the fusion on the development sets data/eval/kb_dev*.yml."""
    entries = documents(settings)
    path = embedder_path(settings)
    embedder = embedder or Embedder(path)
    folder = index_dir(settings)
    built = store.build(entries, embedder, model_id(path), folder, negatives(settings))
    retriever = Retriever(built, embedder, LexicalIndex(tokenizer(settings), [u.text for u in built.units]), Fusion())
    development = sorted((settings.data_dir / "eval").glob("kb_dev*.yml"))
    found: Metrics | None = None
    if development:
        fusion, found = calibrate(retriever, [item for path in development for item in load_items(path)])
        retriever.fusion = fusion
    payload = {
        "corpus_hash": built.manifest["corpus_hash"],
        "model": built.manifest["model"],
        "fusion": retriever.fusion.as_dict(),
        "dev_metrics": found.as_dict() if found else None,
    }
    (folder / CALIBRATION).write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    return _with_override(retriever, settings), found


def _load_index(settings: Settings) -> tuple[store.BuiltIndex, Fusion, Path]:
    """The index and its calibration from disk, checked against the documents and the model."""
    entries = documents(settings)
    path = embedder_path(settings)
    folder = index_dir(settings)
    built = store.load(entries, model_id(path), folder, negatives(settings))
    try:
        calibration = json.loads((folder / CALIBRATION).read_text(encoding="utf-8"))
        fusion = Fusion(**calibration["fusion"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"the calibration in {folder} is missing or corrupt ({exc}); run `powerdesk kb build`") from exc
    return built, fusion, path


def open_retriever(settings: Settings, embedder: TextEmbedder | None = None) -> Retriever:
    """Load the index; a missing, stale or corrupt one is an error that says to run `powerdesk kb build`."""
    built, fusion, path = _load_index(settings)
    embedder = embedder or query_embedder(path)
    lexical = LexicalIndex(tokenizer(settings), [u.text for u in built.units])
    return _with_override(Retriever(built, embedder, lexical, fusion), settings)


def _with_override(retriever: Retriever, settings: Settings) -> Retriever:
    if settings.knowledge_min_score is not None:
        retriever.fusion = replace(retriever.fusion, threshold=settings.knowledge_min_score)
    return retriever


def ensure_index(settings: Settings) -> bool:
    """Rebuild the index when it is missing, stale or corrupt (what `powerdesk run` does); True if rebuilt."""
    try:
        _load_index(settings)  # checking needs neither the embedder loaded nor the BM25 index built
        return False
    except DataError:
        build(settings)
        return True
