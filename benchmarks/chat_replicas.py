"""Chat load on the scaled profile with 1 and with 2 Rasa servers, side by side in one run.

    .venv/bin/python benchmarks/chat_replicas.py [--customers 20] [--seconds 60] [--think 5]

Both stacks run as production would scale them: trackers in PostgreSQL (SQL tracker store), Rasa's locks in
Redis, two api workers sharing Redis; only the number of Rasa servers differs. For each: p50/p95/p99 of rule
and action turns with 20 customers who think between messages (mean --think s), and turns/s at saturation (20
customers who never pause), through the api. Needs PostgreSQL (POWERDESK_BENCH_PG, default the local `test`
database's server) and Redis (POWERDESK_BENCH_REDIS). Results: benchmarks/results/chat_replicas.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.chat import bind_users, drive  # noqa: E402
from benchmarks.stack import postgres_database, rss_mib, running_stack  # noqa: E402

PG = os.environ.get("POWERDESK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("POWERDESK_BENCH_REDIS", "redis://127.0.0.1:6379/0")
RESULTS = Path(__file__).resolve().parent / "results" / "chat_replicas.json"


def measure(replicas: int, customers: int, seconds: float, think: float) -> dict[str, object]:
    overrides = {
        "rasa_replicas": replicas,
        "tracker_store": "sql",
        "lock_store": "redis",
        "redis_url": REDIS,
        "api_workers": 2,
        # simulated customers type faster than people and start a new visit every few turns: lift the limits
        "rate_limit_burst": 100_000,
        "rate_limit_per_second": 100_000.0,
        "new_conversations_per_minute": 1_000_000,
    }
    with postgres_database(PG) as url, running_stack(database_url=url, **overrides) as stack:
        print(f"{replicas} Rasa server(s): ready after {stack.ready_after_s:.1f} s", flush=True)
        users = [f"bench-{i:03d}" for i in range(customers)]
        bind_users(url, users, ("", "-sat"))
        api_url = f"{stack.settings.base_url}/api/v1/messages"
        body = lambda u, t: {"user_id": u, "text": t}  # noqa: E731
        asyncio.run(drive(api_url, body, ["warm-a", "warm-b", "warm-c", "warm-d"], 8))
        realistic = asyncio.run(drive(api_url, body, users, seconds, think))
        rss = {name: round(rss_mib(pid), 1) for name, pid in stack.pids.items()}
        saturation = asyncio.run(drive(api_url, body, [u + "-sat" for u in users], seconds / 2))
    return {
        "ready_after_start_s": round(stack.ready_after_s, 1),
        "realistic": realistic,
        "saturation": saturation,
        "rss_mib": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=5.0)
    args = parser.parse_args()
    runs = {f"{n}_rasa": measure(n, args.customers, args.seconds, args.think) for n in (1, 2)}
    result = {
        "machine": {"cpus": os.cpu_count()},
        "profile": "scaled: SQL tracker store (PostgreSQL), Redis lock store, 2 api workers",
        "concurrent_customers": args.customers,
        "think_time_mean_s": args.think,
        "seconds": args.seconds,
        "side_by_side": {
            name: {
                "p95_rule_ms": run["realistic"]["rule"]["p95_ms"],  # type: ignore[index]
                "p95_action_ms": run["realistic"]["action"]["p95_ms"],  # type: ignore[index]
                "saturation_turns_per_s": run["saturation"]["turns_per_s"],  # type: ignore[index]
                "errors": run["realistic"]["errors"] + run["saturation"]["errors"],  # type: ignore[index,operator]
            }
            for name, run in runs.items()
        },
        "runs": runs,
        "targets": {"p95_ms": 300},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result["side_by_side"], indent=2))


if __name__ == "__main__":
    main()
