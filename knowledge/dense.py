"""FAISS over normalised vectors (inner product = cosine): exact for small corpora, HNSW for large."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from core.errors import DataError

APPROXIMATE_FROM = 50_000  # vectors; below this an exact flat index is both faster to build and exact
# HNSW search breadth: on a million e5-like vectors recall@10 against exact search is 0.89 at 128,
# 0.968 at 512, 0.985 at 1024 (2.2 ms a query on 2 cores), 0.993 at 2048 (benchmarks/knowledge.py)
EF_SEARCH = 1024


def build_index(vectors: npt.NDArray[np.float32], approximate_from: int = APPROXIMATE_FROM) -> faiss.Index:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a 2-d array, got shape {vectors.shape}")
    dim = vectors.shape[1]
    index: faiss.Index
    if len(vectors) < approximate_from:
        index = faiss.IndexFlatIP(dim)
    else:
        hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.hnsw.efSearch = EF_SEARCH
        index = hnsw
    index.add(vectors)
    return index


def search(index: faiss.Index, queries: npt.NDArray[np.float32], k: int) -> tuple[np.ndarray, np.ndarray]:
    k = max(1, min(k, index.ntotal))
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def save(index: faiss.Index, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    faiss.write_index(index, str(tmp))
    tmp.replace(path)


def load(path: Path) -> faiss.Index:
    try:
        index = faiss.read_index(str(path))
    except (RuntimeError, OSError) as exc:
        raise DataError(f"the vector index {path} is unreadable ({exc}); rebuild it with `powerdesk kb build`") from exc
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = EF_SEARCH  # a search-time setting: the current one, whatever the file says
    return index
