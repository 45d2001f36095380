"""Recommendation benchmark: plan comparison for 100,000 customers on 2 cores, and the plan backtest.

    .venv/bin/python benchmarks/recommend.py [--customers 100000] [--workers 2]

1. Plan comparison at scale: the demo database's customers (seeded when missing) are read once;
   100,000 customers are made from them (each copy's energy, demand and registers scaled by its own
   random factor, so no two are alike), partition by partition inside 2 worker processes, and each
   partition goes through `compare_plans` from its readings: monthly bill inputs per plan from
   15-minute / daily data, best contract demand, every option priced by the engine, the decision.
   Reading the readings from the database is timed separately (SQLite, the demo's 2,000 customers).
2. The backtest on the demo: recommend on the first 9 of the last 12 months, bill the next 3 under
   the old and the recommended plan (the README's number).
Results: benchmarks/results/recommend.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.recommend.loads import CustomerLoad  # noqa: E402
from analytics.recommend.plans import compare_plans, window_months  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BASE: list[CustomerLoad] = []  # the demo's customers, read before the workers fork
CONTEXT: dict[str, Any] = {}


def _copy(load: CustomerLoad, new_id: int, factor: float) -> CustomerLoad:
    f32 = np.float32(factor)
    registers = None
    if load.registers is not None:
        registers = np.round(load.registers[0] + (load.registers - load.registers[0]) * factor, 2)
    return dataclasses.replace(
        load,
        customer_id=new_id,
        daily_kwh=load.daily_kwh * factor,
        registers=registers,
        intervals=None if load.intervals is None else load.intervals * f32,
        reactive=None if load.reactive is None else np.round(load.reactive * factor, 3),
        max_demand=None if load.max_demand is None else np.round(load.max_demand * factor, 3),
    )


def _partition(args: tuple[int, int]) -> dict[str, Any]:
    start, count = args
    rng = np.random.default_rng(start)
    t0 = time.perf_counter()
    loads = [_copy(BASE[(start + i) % len(BASE)], start + i, float(rng.uniform(0.7, 1.3))) for i in range(count)]
    made = time.perf_counter() - t0
    t1 = time.perf_counter()
    comparisons = compare_plans(loads, CONTEXT["book"], CONTEXT["months"], CONTEXT["valley"], CONTEXT["thresholds"])
    seconds = time.perf_counter() - t1
    reasons: dict[str, int] = {}
    for c in comparisons:
        reasons[c.reason] = reasons.get(c.reason, 0) + 1
    return {
        "customers": count,
        "compare_s": seconds,
        "make_s": made,
        "reasons": reasons,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partition", type=int, default=2_000)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from core.db import make_engine, make_session_factory
    from core.migrate import upgrade
    from core.settings import get_settings
    from services.recommend import customer_ids, data_span, estimates, load_customers, load_kit
    from services.recommend_jobs import backtest_all

    settings = get_settings()
    upgrade(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        if not customer_ids(session):
            raise SystemExit("no demo customers: run `powerdesk demo seed` first")
    kit = load_kit(settings)
    t0 = time.perf_counter()
    with sessions() as session:
        first, last = data_span(session)
        BASE.extend(load_customers(session, customer_ids(session), first, last))
    read_s = time.perf_counter() - t0
    est = estimates(sessions, kit)
    CONTEXT.update(book=kit.book, months=window_months(last), valley=est.valley_share, thresholds=kit.thresholds)

    jobs = [(s, min(args.partition, args.customers - s)) for s in range(0, args.customers, args.partition)]
    t1 = time.perf_counter()
    with mp.get_context("fork").Pool(args.workers) as pool:
        parts = pool.map(_partition, jobs, chunksize=1)
    wall = time.perf_counter() - t1
    reasons: dict[str, int] = {}
    for p in parts:
        for k, v in p["reasons"].items():
            reasons[k] = reasons.get(k, 0) + v
    compare_cpu = sum(p["compare_s"] for p in parts)

    t2 = time.perf_counter()
    bt = backtest_all(sessions, kit, 9, 3)
    backtest_s = time.perf_counter() - t2
    engine.dispose()

    result = {
        "date": dt.date.today().isoformat(),
        "plan_comparison": {
            "customers": args.customers,
            "workers": args.workers,
            "partition": args.partition,
            "wall_s": round(wall, 1),
            "compare_cpu_s": round(compare_cpu, 1),
            "making_copies_cpu_s": round(sum(p["make_s"] for p in parts), 1),
            "customers_per_s": round(args.customers / wall),
            "reasons": reasons,
            "worker_peak_rss_mb": round(max(p["rss_mb"] for p in parts)),
            "target_s": 60,
            "met": wall < 60,
        },
        "reading_from_database": {
            "customers": len(BASE),
            "seconds": round(read_s, 1),
            "database": "sqlite" if "sqlite" in settings.effective_database_url else "other",
        },
        "backtest": {**bt.to_json(), "seconds": round(backtest_s, 1)},
    }
    out = ROOT / "benchmarks" / "results" / "recommend.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
