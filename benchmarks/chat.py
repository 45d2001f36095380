"""Chat load benchmark: 20 concurrent simulated customers over loopback.

    .venv/bin/python benchmarks/chat.py [--customers 20] [--seconds 60] [--think 5]

Starts a fresh stack (Rasa with the trained model, action server, api) and measures: the time
from start to ready; p50/p95/p99 latency of a rule turn (greet → utter_greet) and of an action
turn (usage question → action server → database) and turns/s, in three phases: one customer at
a time (no queueing), 20 customers who think between messages (exponential, mean --think s,
as people typing Chinese on a phone; each arrives after a first think time, so that the 20 first turns are not
sent at the same instant), and 20 customers who never pause (saturation: the
machine's capacity); each phase also straight against Rasa's REST webhook, so the api's own
overhead is measured in the same run (and, under load, from the api's Server-Timing header:
its total time minus the time it waited for Rasa). Results: benchmarks/results/chat.json.
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
from core.db import make_engine, make_session_factory, transaction  # noqa: E402
from core.models import Customer  # noqa: E402
from services.customers import bind  # noqa: E402

TURNS = {"rule": "你好", "action": "上个月用了多少电"}
EXPECTED = {"rule": "电力智能客服", "action": "千瓦时"}  # greeting; the usage answer of a bound customer
TURNS_PER_CONVERSATION = 10
VISITS = 200  # bound identities per simulated customer and phase
RESULTS = Path(__file__).resolve().parent / "results" / "chat.json"


def reply_text(body: object) -> str:
    """The texts of an api response ({"replies": [...]}) or of Rasa's PowerDesk channel ({"messages": [...]})."""
    messages = (body.get("replies") or body.get("messages") or []) if isinstance(body, dict) else body
    return (
        "".join(str(m.get("text") or "") for m in messages if isinstance(m, dict)) if isinstance(messages, list) else ""
    )


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


def bind_users(database_url: str, users: list[str], suffixes: tuple[str, ...]) -> None:
    """Every visitor id a simulated customer will use (user + suffix + visit) bound to one demo customer, so the
    action turn answers with that customer's usage."""
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        customers = list(session.scalars(select(Customer).limit(len(users))))
        for user, customer in zip(users, customers, strict=True):
            for suffix in suffixes:
                for visit in range(VISITS):
                    bind(session, "api", f"{user}{suffix}-{visit}", customer)
    engine.dispose()


async def customer_loop(client, url, body, deadline, think_s, rng, out, errors):  # type: ignore[no-untyped-def]
    """One simulated customer: alternates a rule turn and an action turn until the deadline."""
    kinds = list(TURNS)
    i = 0
    if think_s:  # customers arrive at random times, not all at the same instant (20 first turns queued together)
        await asyncio.sleep(rng.expovariate(1 / think_s))
    while time.monotonic() < deadline:
        kind = kinds[i % 2]
        visit = i // TURNS_PER_CONVERSATION  # a new visitor every few turns, as on a real site
        i += 1
        start = time.perf_counter()
        status = "?"
        try:
            response = await client.post(url, json=body(TURNS[kind], visit), timeout=30)
            status = str(response.status_code)
            ok = response.status_code == 200 and EXPECTED[kind] in reply_text(response.json())  # the right answer
            timing = response.headers.get("server-timing")
        except httpx.HTTPError as exc:
            ok, timing = False, None
            status = repr(exc)
        if ok:
            out[kind].append(time.perf_counter() - start)
            if timing:  # the api's own time in this turn: everything but waiting for Rasa
                parts = dict(p.strip().split(";dur=") for p in timing.split(","))
                out["api_own"].append((float(parts["total"]) - float(parts["bot"])) / 1000)
        else:
            errors.append(f"{kind}: {status}")
        if think_s:
            await asyncio.sleep(rng.expovariate(1 / think_s))


async def drive(url, make_body, users, seconds, think_s=0.0, headers=None):  # type: ignore[no-untyped-def]
    import random

    out: dict[str, list[float]] = {"rule": [], "action": [], "api_own": []}
    errors: list[str] = []
    limits = httpx.Limits(max_connections=len(users) + 5, max_keepalive_connections=len(users) + 5)
    async with httpx.AsyncClient(limits=limits, headers=headers) as client:
        deadline = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(
            *(
                customer_loop(
                    client,
                    url,
                    lambda t, v, u=u: make_body(f"{u}-{v}", t),
                    deadline,
                    think_s,
                    random.Random(i),
                    out,
                    errors,
                )
                for i, u in enumerate(users)
            )
        )
        elapsed = time.monotonic() - started
    turns = len(out["rule"]) + len(out["action"])
    result = {
        "turns": turns,
        "turns_per_s": round(turns / elapsed, 1),
        "errors": len(errors),
        "error_examples": errors[:5],
        "rule": summary(out["rule"]),
        "action": summary(out["action"]),
    }
    if out["api_own"]:
        result["api_own_time"] = summary(out["api_own"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=5.0, help="mean think time between a customer's messages (s)")
    args = parser.parse_args()
    api_body = lambda u, t: {"user_id": u, "text": t}  # noqa: E731
    rasa_body = lambda u, t: {"sender": f"api:{u}", "message": t}  # noqa: E731
    # the simulated customers of the saturation run type faster than any person: lift the per-user
    # rate limit for the whole run (it is tested on its own in tests/api)
    with running_stack(rate_limit_burst=100_000, rate_limit_per_second=100_000.0) as stack:
        print(f"stack ready after {stack.ready_after_s:.1f} s", flush=True)
        users = [f"bench-{i:03d}" for i in range(args.customers)]
        bind_users(
            stack.settings.effective_database_url, users, ("", "-rasa", "-sat", "-sat-rasa", "-seq", "-seq-rasa")
        )
        api_url = f"{stack.settings.base_url}/api/v1/messages"
        # Rasa alone: the PowerDesk channel the api calls, with the internal token
        rasa_url = f"{stack.settings.rasa_url}/webhooks/powerdesk/webhook"
        rasa_headers = {"X-PowerDesk-Token": stack.settings.rasa_token}
        asyncio.run(drive(api_url, api_body, ["warm-a", "warm-b"], 5))  # TensorFlow graphs, pools
        phases = {}
        print("one customer at a time (no queueing): api vs Rasa's REST webhook", flush=True)
        one = [users[0] + "-seq"]
        phases["sequential_api"] = asyncio.run(drive(api_url, api_body, one, 20))
        phases["sequential_rasa"] = asyncio.run(
            drive(rasa_url, rasa_body, [users[0] + "-seq-rasa"], 20, headers=rasa_headers)
        )
        print(f"{args.customers} customers, think time mean {args.think} s, {args.seconds} s", flush=True)
        phases["realistic_api"] = asyncio.run(drive(api_url, api_body, users, args.seconds, args.think))
        phases["realistic_rasa"] = asyncio.run(
            drive(rasa_url, rasa_body, [u + "-rasa" for u in users], args.seconds, args.think, headers=rasa_headers)
        )
        rss = {name: round(rss_mib(pid), 1) for name, pid in stack.pids.items()}
        print(f"{args.customers} customers, no think time (saturation), {args.seconds / 2:.0f} s", flush=True)
        phases["saturation_api"] = asyncio.run(drive(api_url, api_body, [u + "-sat" for u in users], args.seconds / 2))
        phases["saturation_rasa"] = asyncio.run(
            drive(rasa_url, rasa_body, [u + "-sat-rasa" for u in users], args.seconds / 2, headers=rasa_headers)
        )
    overhead = {
        kind: round(phases["sequential_api"][kind]["p50_ms"] - phases["sequential_rasa"][kind]["p50_ms"], 1)
        for kind in TURNS
    }
    result = {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "concurrent_customers": args.customers,
        "think_time_mean_s": args.think,
        "seconds": args.seconds,
        "ready_after_start_s": round(stack.ready_after_s, 1),
        "api_overhead_p50_ms_vs_rasa_rest": overhead,
        "api_own_time_under_load_ms": phases["realistic_api"].get("api_own_time"),
        "rss_mib": rss,
        "phases": phases,
        "targets": {"p95_ms": 300, "api_overhead_ms": 10, "ready_s": 90},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
