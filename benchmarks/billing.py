"""Billing benchmark: engine throughput and the Dask bill audit, on 2 cores.

    .venv/bin/python benchmarks/billing.py [--residential 1000000] [--ci 100000] [--audit-bills 10000000]

1. 1,000,000 residential bills (tiered, a quarter of them TOU) priced by the vectorised engine,
   and the deliberately simple per-bill Decimal reference on a sample, in the same run.
2. 100,000 commercial/industrial bills from 15-minute intervals (a 31-day month each: the
   intervals are summed into periods, then priced), in chunks of 10,000 customers.
3. The JSON contract path (`compute_requests`) on 100,000 requests, for what `bill compute` costs.
4. The bill audit of N stored bills on a Dask LocalCluster (2 workers × 1 thread): each partition
   generates its customers' months and stored bills (2% corrupted with every reason code) in the
   worker — no database — then runs the same audit code as `powerdesk bill audit`. Peak RSS of
   the workers and of the driver is reported; it is bounded by the partition size.
Results: benchmarks/results/billing.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.billing.audit import StoredBill, audit_customer  # noqa: E402
from analytics.billing.engine import BillInputs, compute  # noqa: E402
from analytics.billing.monthly import BillRow, MonthInputs, period_totals, price_rows  # noqa: E402
from analytics.billing.reference import reference_bill  # noqa: E402
from analytics.billing.requests import compute_requests  # noqa: E402
from analytics.billing.schedule import PERIOD_INDEX, load_tariff_book  # noqa: E402
from demo.bill_faults import inject_bill_faults  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "billing.json"
TARIFFS = ROOT / "data" / "tariffs"


def residential(n: int, book: Any) -> dict[str, float]:
    rng = np.random.default_rng(1)
    day = dt.date(2026, 7, 1)
    out: dict[str, float] = {}
    seconds = 0.0
    for category, share in (("residential", 0.75), ("residential_tou", 0.25)):
        m = int(n * share)
        tariff = book.schedule_for(category, day).categories[category]
        energy = np.zeros((m, 5))
        if category == "residential":
            energy[:, 0] = np.round(rng.gamma(2.0, 110.0, m))
        else:
            energy[:, PERIOD_INDEX["peak"]] = np.round(rng.gamma(2.0, 80.0, m))
            energy[:, PERIOD_INDEX["valley"]] = np.round(rng.gamma(2.0, 40.0, m))
        x = BillInputs.empty_like(energy)
        x.year_to_date = np.round(rng.uniform(0, 6000, m))
        started = time.perf_counter()
        amounts = compute(tariff, x, book.pf_tables)
        seconds += time.perf_counter() - started
        assert amounts.total.shape == (m,)
        if category == "residential":
            sample = min(20000, m)
            t0 = time.perf_counter()
            for i in range(sample):
                reference_bill(tariff, {"total": float(energy[i, 0])}, float(x.year_to_date[i]))
            out["reference_bills_per_s"] = sample / (time.perf_counter() - t0)
    out["engine_seconds"] = seconds
    out["engine_bills_per_s"] = n / seconds
    return out


def commercial_from_intervals(n: int, book: Any, chunk: int = 10000) -> dict[str, float]:
    rng = np.random.default_rng(2)
    day = dt.date(2026, 7, 1)
    tariff = book.schedule_for("commercial_tou", day).categories["commercial_tou"]
    shape = np.concatenate([np.full(32, 0.4), np.full(56, 1.2), np.full(8, 0.6)]).astype(np.float32)
    seconds = 0.0
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        intervals = (rng.gamma(4.0, 0.25, (m, 31, 96)).astype(np.float32) * shape) * rng.uniform(
            5, 50, (m, 1, 1)
        ).astype(np.float32)
        started = time.perf_counter()
        energy = np.round(period_totals(intervals.sum(axis=1, dtype=np.float64), tariff.slot_period[6]), 3)
        x = BillInputs.empty_like(energy)
        compute(tariff, x, book.pf_tables)
        seconds += time.perf_counter() - started
    return {"seconds": seconds, "bills_per_s": n / seconds, "intervals_per_bill": 31 * 96}


def contract_path(n: int, book: Any) -> dict[str, float]:
    rng = np.random.default_rng(3)
    requests = [
        {
            "id": str(i),
            "category": "residential",
            "period": {"start": "2026-07-01", "end": "2026-07-31"},
            "year_to_date_kwh": int(rng.integers(0, 6000)),
            "energy_kwh": {"total": int(rng.integers(0, 900))},
        }
        for i in range(n)
    ]
    started = time.perf_counter()
    results = compute_requests(requests, book)
    seconds = time.perf_counter() - started
    assert len(results) == n and "total" in results[-1]
    return {"seconds": seconds, "requests_per_s": n / seconds}


def audit_partition(index: int, bills: int, tariff_dir: str) -> dict[str, Any]:
    """Generate one partition of customers' stored bills (with faults) and audit them; runs in a worker."""
    started = time.perf_counter()
    book = load_tariff_book(Path(tariff_dir))
    rng = np.random.default_rng([7, index])
    customers = bills // 12
    rows: list[BillRow] = []
    register = rng.uniform(1000, 50000, customers)
    for c in range(customers):
        cid = index * customers + c
        kind = c % 10
        category = {0: "industrial_demand", 1: "commercial_tou", 2: "commercial_tou", 3: "residential_tou"}.get(
            kind, "residential"
        )
        ytd = 0.0
        for month in range(1, 13):
            energy = np.zeros(5)
            start, end = dt.date(2025, month, 1), dt.date(2025, month, 28)
            extra: dict[str, Any] = {}
            if category == "residential":
                kwh = float(np.round(rng.gamma(2.0, 110.0), 2))
                energy[0] = kwh
                m = MonthInputs(start, end, energy, round(float(register[c]), 2), round(float(register[c]) + kwh, 2))
                register[c] += kwh
            elif category == "residential_tou":
                energy[[2, 4]] = np.round(rng.gamma(2.0, [80.0, 40.0]), 3)
                m = MonthInputs(start, end, energy)
            else:
                energy[[2, 3, 4]] = np.round(rng.gamma(2.0, 20000.0, 3), 3)
                q = float(np.round(energy.sum() * rng.uniform(0.2, 0.8), 1))
                m = MonthInputs(
                    start, end, energy, reactive_kvarh=q, max_demand_kw=float(np.round(rng.uniform(300, 900), 1))
                )
                extra = {
                    "pf_standard": 0.9 if category == "industrial_demand" else 0.85,
                    "capacity_kva": 1250.0,
                    "contract_demand_kw": 600.0,
                }
            rows.append(BillRow(cid, category, m, year_to_date_kwh=ytd, **extra))
            ytd += m.total_kwh if category.startswith("residential") else 0.0
    price_rows(rows, book)
    stored_rows, faults = inject_bill_faults(rows, book, rng, 0.02)
    generated = time.perf_counter() - started
    expected: dict[int, dict[dt.date, BillRow]] = {}
    for r in rows:
        expected.setdefault(r.customer_id, {})[r.month.period_start] = r
    stored: dict[int, list[StoredBill]] = {}
    for i, r in enumerate(stored_rows):
        stored.setdefault(r.customer_id, []).append(
            StoredBill(
                i,
                r.customer_id,
                r.month.period_start,
                r.category,
                r.month.start_register,
                r.month.end_register,
                r.lines,
                r.total,
            )
        )
    t0 = time.perf_counter()
    findings = [f for cid in stored for f in audit_customer(stored[cid], expected[cid])]
    audited = time.perf_counter() - t0
    position = {id(r): i for i, r in enumerate(stored_rows)}
    injected = {(position[id(f.row)], f.reason) for f in faults}
    found = {(f.bill_id, f.reason) for f in findings}
    return {
        "bills": len(stored_rows),
        "faults": len(faults),
        "found": len(found),
        "exact": found == injected,
        "generate_s": generated,
        "audit_s": audited,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def dask_audit(total_bills: int, partition_bills: int) -> dict[str, Any]:
    from dask.distributed import Client, LocalCluster, as_completed

    parts = max(1, -(-total_bills // partition_bills))  # enough partitions for at least total_bills
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit="6GiB"
    )
    client = Client(cluster)
    started = time.perf_counter()
    futures = [client.submit(audit_partition, i, partition_bills, str(TARIFFS), pure=False) for i in range(parts)]
    results = []
    for done, future in enumerate(as_completed(futures), 1):
        results.append(future.result())
        if done % 10 == 0 or done == parts:
            print(f"  audit partitions {done}/{parts}", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    client.close()
    cluster.close()
    bills = sum(r["bills"] for r in results)
    return {
        "bills": bills,
        "partitions": parts,
        "partition_bills": partition_bills,
        "seconds": seconds,
        "bills_per_s": bills / seconds,
        "faults_injected": sum(r["faults"] for r in results),
        "findings": sum(r["found"] for r in results),
        "every_partition_exact": all(r["exact"] for r in results),
        "worker_peak_rss_mib": max(r["peak_rss_mib"] for r in results),
        "generate_cpu_s": sum(r["generate_s"] for r in results),
        "audit_cpu_s": sum(r["audit_s"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residential", type=int, default=1_000_000)
    parser.add_argument("--ci", type=int, default=100_000)
    parser.add_argument("--contract", type=int, default=100_000)
    parser.add_argument("--audit-bills", type=int, default=10_000_000)
    parser.add_argument("--partition-bills", type=int, default=120_000)
    args = parser.parse_args()
    book = load_tariff_book(TARIFFS)
    # sections not run this time (e.g. --audit-bills 0) keep their last results
    results: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    results |= {"machine": "2 cores", "date": dt.date.today().isoformat()}
    results["residential"] = {"bills": args.residential, **residential(args.residential, book)}
    print("residential", results["residential"], file=sys.stderr, flush=True)
    results["commercial_intervals"] = {"bills": args.ci, **commercial_from_intervals(args.ci, book)}
    print("commercial", results["commercial_intervals"], file=sys.stderr, flush=True)
    results["contract_json"] = {"requests": args.contract, **contract_path(args.contract, book)}
    print("contract", results["contract_json"], file=sys.stderr, flush=True)
    if args.audit_bills:
        results["dask_audit"] = dask_audit(args.audit_bills, args.partition_bills)
        print("audit", results["dask_audit"], file=sys.stderr, flush=True)
    if args.audit_bills:
        results["driver_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
