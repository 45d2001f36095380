"""Chat load benchmark: 20 concurrent simulated customers over loopback.

    .venv/bin/python benchmarks/chat.py [--customers 20] [--seconds 60]

Measures, on a fresh stack started by this script: time from start to ready (trained model),
turns/s, p50/p95/p99 latency of a rule turn (greet → utter_greet) and of an action turn
(usage question → action server → database), the RSS of each process, and the api's own
overhead per turn against Rasa's REST webhook driven the same way in the same run.
Results: benchmarks/results/chat.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stack import rss_mib, running_stack  # noqa: E402
from core.customers import bind  # noqa: E402
from core.db import make_engine, make_session_factory, transaction  # noqa: E402
from core.models import Customer  # noqa: E402

TURNS = {"rule": "你好", "action": "上个月用了多少电"}
RESULTS = Path(__file__).resolve().parent / "results" / "chat.json"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p95_ms": round(percentile(values, 95) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else float("nan"),
    }


async def customer_loop(client: httpx.AsyncClient, url: str, body, deadline: float, out: dict, errors: list) -> None:  # type: ignore[no-untyped-def]
    kinds = list(TURNS)
    i = 0
    while time.monotonic() < deadline:
        kind = kinds[i % 2]
        i += 1
        start = time.perf_counter()
        try:
            response = await client.post(url, json=body(TURNS[kind]), timeout=30)
            ok = response.status_code == 200 and response.json()
        except httpx.HTTPError as exc:
            ok = False
            errors.append(repr(exc))
        if ok:
            out[kind].append(time.perf_counter() - start)
        else:
            errors.append(f"{kind}: {getattr(response, 'status_code', '?')}")


async def drive(url: str, make_body, users: list[str], seconds: float) -> dict:  # type: ignore[no-untyped-def]
    out: dict[str, list[float]] = {k: [] for k in TURNS}
    errors: list[str] = []
    limits = httpx.Limits(max_connections=len(users) + 5, max_keepalive_connections=len(users) + 5)
    async with httpx.AsyncClient(limits=limits) as client:
        deadline = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(
            *(customer_loop(client, url, lambda t, u=u: make_body(u, t), deadline, out, errors) for u in users)
        )
        elapsed = time.monotonic() - started
    turns = sum(len(v) for v in out.values())
    return {
        "turns": turns,
        "turns_per_s": round(turns / elapsed, 1),
        "errors": len(errors),
        "error_examples": errors[:5],
        **{kind: summary(values) for kind, values in out.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    # simulated customers type as fast as the bot answers: lift the per-user rate limit for the run
    with running_stack(rate_limit_burst=100_000, rate_limit_per_second=100_000.0) as stack:
        print(f"stack ready after {stack.ready_after_s:.1f} s", flush=True)
        engine = make_engine(stack.settings.effective_database_url)
        sessions = make_session_factory(engine)
        users = [f"bench-{i:03d}" for i in range(args.customers)]
        with transaction(sessions) as session:
            customers = list(session.scalars(select(Customer).limit(args.customers)))
            for user, customer in zip(users, customers, strict=True):
                bind(session, "api", user, customer)
                bind(session, "api", user + "-rasa", customer)
        engine.dispose()
        base = stack.settings.base_url
        # warm-up (TensorFlow graphs, connection pools)
        asyncio.run(drive(f"{base}/api/v1/messages", lambda u, t: {"user_id": u, "text": t}, users[:2], 5))
        api = asyncio.run(
            drive(f"{base}/api/v1/messages", lambda u, t: {"user_id": u, "text": t}, users, args.seconds)
        )
        rss = {name: round(rss_mib(pid), 1) for name, pid in stack.pids.items()}
        rasa_url = f"{stack.settings.rasa_url}/webhooks/rest/webhook"
        direct = asyncio.run(
            drive(rasa_url, lambda u, t: {"sender": f"api:{u}-rasa", "message": t}, users, args.seconds)
        )
    overhead = {
        kind: round(api[kind]["p50_ms"] - direct[kind]["p50_ms"], 1) for kind in TURNS
    }
    result = {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "concurrent_customers": args.customers,
        "seconds": args.seconds,
        "ready_after_start_s": round(stack.ready_after_s, 1),
        "api": api,
        "rasa_rest_direct": direct,
        "api_overhead_p50_ms": overhead,
        "rss_mib": rss,
        "targets": {"p95_ms": 300, "api_overhead_ms": 10, "ready_s": 90},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
