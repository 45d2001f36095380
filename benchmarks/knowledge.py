"""Knowledge-base benchmark: single-query latency, build time and memory on the real corpus.

    .venv/bin/python benchmarks/knowledge.py [--queries 200]

Uses the e5 embedder under var/models (built by `make setup`) and builds the index into a
temporary folder. Latency is one customer question end to end: cleaning, e5 embedding, FAISS
search, BM25, fusion. Results: benchmarks/results/knowledge.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import Settings  # noqa: E402
from knowledge import service  # noqa: E402
from knowledge.evaluation import load_items  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "knowledge.json"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    model = service.embedder_path(Settings(_env_file=None))
    settings = Settings(var_dir=Path(tempfile.mkdtemp(prefix="kb-bench-")), embedding_model=str(model), _env_file=None)
    started = time.perf_counter()
    retriever, dev = service.build(settings)
    build_s = time.perf_counter() - started
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
        "targets": {"query_p95_ms": 25},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
