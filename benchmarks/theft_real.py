"""Theft detection on the real SGCC development sample: label-free and supervised, over fold seeds.

    /work/main/.venv/bin/python benchmarks/theft_real.py [--seeds 5] [--folds 5]

The sample (../shared/data/theft: 190 customers, 68 thieves, daily kWh 2015, public SGCC data of Zheng
et al., IEEE TII 2018) is the development sample; the owners keep a disjoint one. Measured, each as mean
± sd over fold seeds 0 … seeds−1:

1. the label-free risk and the pattern score, each held-out fold scored with the population (peers,
   reference) fitted on the other customers (`anomaly eval --seeds`);
2. the supervised model's cross-validation (`anomaly cv --seeds`), every fitted step inside the
   training folds;
3. the same with shuffled labels (a leakage check: AUC ≈ 0.5).

Results: benchmarks/results/theft_real.json. Skips with a message when the sample is not there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analytics.anomaly.contract import read_consumption, read_labels  # noqa: E402
from analytics.anomaly.evaluation import label_free_seeds, over_seeds  # noqa: E402
from analytics.anomaly.supervised import repeated_cv  # noqa: E402

THEFT = ROOT.parent / "shared" / "data" / "theft"
RESULTS = ROOT / "benchmarks" / "results" / "theft_real.json"


def supervised(cons, labels: pd.Series, folds: int, seeds: int) -> dict:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    runs = repeated_cv(cons, labels, folds=folds, seeds=seeds)
    out = over_seeds([{"auc": r.auc, "map_at_100": r.map_at_100, "map_at_50": r.map_at_50} for r in runs])
    out["brier"] = round(float(np.mean([r.brier for r in runs])), 4)
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    if not (THEFT / "sgcc_dev.csv").exists():
        print(f"skipped: {THEFT} not found (the SGCC development sample lives in ../shared/data/theft)")
        return
    cons = read_consumption(THEFT / "sgcc_dev.csv")
    labels = read_labels(THEFT / "sgcc_dev_labels.csv")
    results: dict = {"customers": int(cons.n), "thieves": int(labels.sum()), "folds": args.folds, "seeds": args.seeds}
    label_free = label_free_seeds(cons, labels, folds=args.folds, seeds=args.seeds)
    results["label_free_risk"] = label_free["risk"]
    results["pattern_score"] = label_free["pattern"]
    print("label-free", json.dumps({k: v["auc"] for k, v in label_free.items()}), flush=True)
    results["supervised"] = supervised(cons, labels, args.folds, args.seeds)
    print("supervised", json.dumps(results["supervised"]["auc"]), flush=True)
    shuffled = pd.Series(np.random.default_rng(0).permutation(labels.to_numpy()), index=labels.index)
    results["supervised_shuffled_labels"] = supervised(cons, shuffled, args.folds, args.seeds)
    print("shuffled", json.dumps(results["supervised_shuffled_labels"]["auc"]), flush=True)
    results["measured_at"] = time.strftime("%Y-%m-%d %H:%M")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
