"""Consumption anomalies: detection quality on injected attacks, and scoring speed at scale.

    /work/main/.venv/bin/python benchmarks/anomaly.py [--customers 1000000] [--quality-customers 2000] [--skip-dask]

1. Quality: customers derived from the real area1 15-minute load (demo/anomaly_customers.py),
   attacks and meter faults injected (demo/anomaly_attacks.py); unsupervised AUC per type
   (that type vs the normal customers, legitimate changes included), kind accuracy, and the
   supervised 5-fold CV on the same data (intra-day) and on its daily sums.
2. Speed: 1,000,000 customers × 365 days of daily kWh (area1's daily shape per area, a level,
   weather sensitivity, AR noise, 2% missing) scored in memory on 2 threads: features, peers,
   reference, score, kind and reasons for everyone. Peak RSS is reported. Then the same through
   a Dask LocalCluster (2 workers × 1 thread): each partition is generated inside its worker, as
   it would be read from storage, peers are fitted on a sample first, and only the features come
   back to fit the reference.
Results: benchmarks/results/anomaly.json. Needs ../shared/data/load (skips with a message otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402

from analytics.anomaly.contract import Consumption  # noqa: E402
from analytics.anomaly.detector import Reference, load_texts  # noqa: E402
from analytics.anomaly.metrics import auc  # noqa: E402
from analytics.anomaly.peers import fit_peers, group_keys  # noqa: E402
from analytics.anomaly.scoring import Meta, feature_table, score_consumption, score_features  # noqa: E402
from analytics.anomaly.supervised import cross_validate  # noqa: E402
from demo.anomaly_attacks import inject  # noqa: E402
from demo.anomaly_customers import daily_region, load_region, make_customers  # noqa: E402

REGION = ROOT.parent / "shared" / "data" / "load" / "area1_load.csv"
if not REGION.exists():
    REGION = Path("/work/shared/data/load/area1_load.csv")
RESULTS = ROOT / "benchmarks" / "results" / "anomaly.json"
AREAS = 10


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quality(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    days, values = load_region(REGION)
    dev = make_customers(days, values, n, rng, days=365)
    iv, truth = inject(dev.intervals, rng)
    with np.errstate(all="ignore"):
        present = (~np.isnan(iv)).sum(axis=2)
        daily = np.where(present >= 48, np.nansum(iv, axis=2) * 96 / np.maximum(present, 1), np.nan).astype(np.float32)
    negatives = (daily < 0).sum(axis=1).astype(np.int32)
    daily[daily < 0] = np.nan
    iv = np.where(iv < 0, np.nan, iv).astype(np.float32)
    meta = Meta(dev.areas, dev.categories)
    out: dict = {"customers": n, "thieves": int(truth.label.sum()), "faults": int((truth.kind == "meter_fault").sum())}
    for name, intervals in (("intraday", iv), ("daily", None)):
        cons = Consumption(dev.ids, dev.days, daily, negatives, intervals)
        started = time.perf_counter()
        scored = score_consumption(cons, meta, load_texts(ROOT / "data"))
        seconds = time.perf_counter() - started
        s = scored.table["score"].to_numpy()
        normal = truth.kind == "normal"
        by_type = {}
        for typ in sorted(set(truth.type) - {"", "vacation", "level_change"}):
            hit = (truth.type == typ) & ~normal
            sel = hit | normal
            kind_ok = float(np.mean(scored.table["kind"].to_numpy()[hit] == truth.kind[hit]))
            by_type[typ] = {"auc": round(auc(hit[sel].astype(int), s[sel]), 4), "kind_accuracy": round(kind_ok, 3)}
        legit = np.isin(truth.type, ["vacation", "level_change"])
        flagged = scored.table["kind"].to_numpy() != "normal"
        labels = pd.Series(truth.label, index=dev.ids.astype(str))
        cv = cross_validate(cons, labels, meta, folds=5, seed=seed)
        out[name] = {
            "unsupervised_auc_theft_vs_rest": round(auc(truth.label, s), 4),
            "by_type": by_type,
            "flagged_share_normal_plain": round(float(flagged[normal & ~legit].mean()), 4),
            "flagged_share_normal_legit_change": round(float(flagged[legit].mean()), 4),
            "supervised_cv_auc": round(cv.auc, 4),
            "supervised_cv_map_at_100": round(cv.map_at_100, 4),
            "score_seconds": round(seconds, 2),
        }
        print(name, json.dumps(out[name]), flush=True)
    return out


def synth_block(start: int, size: int, base: np.ndarray, offsets: np.ndarray, days: int, seed: int) -> tuple:
    """Customers start..start+size: (ids, areas, kwh float32)."""
    rng = np.random.default_rng([seed, start])
    idx = np.arange(start, start + size)
    area = idx % AREAS
    level = rng.lognormal(np.log(8), 0.7, size).astype(np.float32)
    sens = rng.uniform(0.3, 1.5, size).astype(np.float32)
    windows = np.stack([base[o : o + days] for o in offsets]).astype(np.float32)  # (areas, days)
    x = np.empty((size, days), dtype=np.float32)
    ar = np.zeros(size, dtype=np.float32)
    sigma = rng.uniform(0.1, 0.35, size).astype(np.float32)
    for j in range(days):
        ar = 0.6 * ar + sigma * rng.standard_normal(size, dtype=np.float32)
        x[:, j] = level * windows[area, j] ** sens * np.exp(ar)
    x[rng.random((size, days), dtype=np.float32) < 0.02] = np.nan
    return np.array([f"B{i:07d}" for i in idx], dtype=object), np.array([f"区{a + 1}" for a in area], dtype=object), x


def scale_inputs(days: int) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
    rdays, daily = daily_region(REGION)
    base = daily / daily.mean()
    step = (len(base) - days) // AREAS // 7 * 7
    offsets = np.array([k * step for k in range(AREAS)])
    return base, offsets, pd.date_range(rdays[0], periods=days, freq="D")


def speed(n: int, days: int, seed: int, threads: int = 2) -> dict:
    base, offsets, index = scale_inputs(days)
    t0 = time.perf_counter()
    parts = [synth_block(s, min(100_000, n - s), base, offsets, days, seed) for s in range(0, n, 100_000)]
    ids = np.concatenate([p[0] for p in parts])
    areas = np.concatenate([p[1] for p in parts])
    x = np.concatenate([p[2] for p in parts])
    del parts
    generate = time.perf_counter() - t0
    cons = Consumption(ids, index, x, np.zeros(n, np.int32))
    meta = Meta(areas, np.full(n, "residential", dtype=object))
    texts = load_texts(ROOT / "data")
    before = peak_mb()
    t1 = time.perf_counter()
    scored = score_consumption(cons, meta, texts, threads=threads, block=20_000)
    seconds = time.perf_counter() - t1
    flagged = int((scored.table["kind"] != "normal").sum())
    out = {
        "customers": n,
        "days": days,
        "threads": threads,
        "generate_seconds": round(generate, 1),
        "score_seconds": round(seconds, 1),
        "customers_per_second": round(n / seconds),
        "peak_rss_mb": round(peak_mb()),
        "peak_rss_mb_before_scoring": round(before),
        "input_matrix_mb": round(x.nbytes / 1e6),
        "flagged": flagged,
    }
    print("speed", json.dumps(out), flush=True)
    return out


def _dask_partition(start: int, size: int, days: int, seed: int, peers_json: dict) -> pd.DataFrame:
    from analytics.anomaly.peers import PeerReference

    base, offsets, index = scale_inputs(days)
    ids, areas, x = synth_block(start, size, base, offsets, days, seed)
    cons = Consumption(ids, index, x, np.zeros(size, np.int32))
    keys = group_keys(areas, np.full(size, "residential", dtype=object), size)
    return feature_table(cons, PeerReference.from_json(peers_json), keys, block=20_000)


def speed_dask(n: int, days: int, seed: int, partition: int = 50_000) -> dict:
    from dask.distributed import Client, LocalCluster

    base, offsets, index = scale_inputs(days)
    t0 = time.perf_counter()
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        started = time.perf_counter() - t0
        t1 = time.perf_counter()
        ids, areas, sample = synth_block(0, min(30_000, n), base, offsets, days, seed)  # peers from a sample
        peers = fit_peers(sample, index, group_keys(areas, np.full(len(ids), "residential", dtype=object), len(ids)))
        futures = [
            client.submit(_dask_partition, s, min(partition, n - s), days, seed, peers.to_json(), pure=False)
            for s in range(0, n, partition)
        ]
        frames = client.gather(futures)
        features = pd.concat(frames)
        ref = Reference.fit(features)
        _, score = score_features(features, ref)
        seconds = time.perf_counter() - t1
        worker_rss = client.run(lambda: psutil.Process().memory_info().rss / 2**20)
    out = {
        "customers": n,
        "days": days,
        "workers": 2,
        "partition": partition,
        "cluster_start_seconds": round(started, 1),
        "seconds_generate_and_score": round(seconds, 1),
        "peak_rss_mb_client": round(peak_mb()),
        "rss_mb_workers_at_end": [round(v) for v in worker_rss.values()],
        "scored": int(len(score)),
    }
    print("dask", json.dumps(out), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--quality-customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    if not REGION.exists():
        print(f"skipped: {REGION} not found (the benchmark derives its customers from the shared area1 load)")
        return
    results: dict = {"machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)}}
    if not args.skip_quality:
        results["quality"] = quality(args.quality_customers, args.seed)
    results["speed"] = speed(args.customers, args.days, args.seed)
    if not args.skip_dask:
        results["dask"] = speed_dask(args.customers, args.days, args.seed)
    results["measured_at"] = time.strftime("%Y-%m-%d %H:%M")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
