"""Fault benchmark: customers keep chatting while the stack's processes are killed, one at a time.

    .venv/bin/python benchmarks/faults.py [--customers 20] [--settle 20]

Starts a fresh stack with `powerdesk run` on the scaled profile (two Rasa servers on a SQL tracker store in
PostgreSQL and a Redis lock store, two api workers; its supervisor restarts what dies), lets --customers
simulated customers chat over the HTTP api (a message every ~1.5 s each), and, in turn: kills one Rasa
server, the action server and one api worker with SIGKILL, and cuts PostgreSQL and Redis for --outage
seconds (the stack reaches them through loopback proxies: the machine's own servers are shared and stay up),
waiting --settle seconds after each recovery. Measured per fault: seconds until /readyz is `ready` again
(for the cuts: after the connection is restored), and what the customers saw meanwhile (answered by the
bot, told the system is busy, handed to a person, refused). At the end, from the database and Rasa's events:
- every message the api accepted (HTTP 200) is stored exactly once;
- every stored message was answered (bot, polite message, or a person's queue) — none left pending;
- no message reached Rasa twice (Rasa's `user` events per customer = messages the api sent to it).
Needs PostgreSQL (POWERDESK_BENCH_PG) and Redis (POWERDESK_BENCH_REDIS). Results: benchmarks/results/faults.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stack import _listening_pid, postgres_database, running_stack  # noqa: E402
from core.db import make_engine, make_session_factory  # noqa: E402
from core.models import Conversation, Message  # noqa: E402
from core.models_reports import BrokerEvent  # noqa: E402
from tests.tcp_proxy import tcp_proxy  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "faults.json"
PG = os.environ.get("POWERDESK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("POWERDESK_BENCH_REDIS", "redis://127.0.0.1:6379/0")
QUESTIONS = ["你好", "电费怎么交", "居民电价是多少", "峰谷电价几点开始", "停电了该找谁", "怎么开电子发票"]


def classify(status: int, body: object) -> str:
    if status != 200 or not isinstance(body, dict):
        return "refused"
    text = "".join(str(r.get("text") or "") for r in body.get("replies") or [] if isinstance(r, dict))
    if "系统正在恢复中" in text:
        return "kept"  # the polite message; the bot answers once it is back
    if body.get("state") == "waiting_agent" or "工单" in text and "回电" in text:
        return "person"
    return "bot" if text else "empty"


async def customer(
    client: httpx.AsyncClient, url: str, user: str, stop: asyncio.Event, rng: random.Random, log: list[dict]
) -> None:
    while not stop.is_set():
        text = rng.choice(QUESTIONS)
        started = time.monotonic()
        try:
            response = await client.post(url, json={"user_id": user, "text": text}, timeout=30)
            body: object = (
                response.json() if response.headers.get("content-type", "").startswith("application/json") else None
            )
            status = response.status_code
        except httpx.HTTPError:
            body, status = None, 0
        log.append({"user": user, "at": started, "status": status, "kind": classify(status, body)})
        await asyncio.sleep(rng.expovariate(1 / 1.5))


async def ready(base_url: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{base_url}/readyz", timeout=3)).status_code == 200
    except httpx.HTTPError:
        return False


def kill_process(name: str, port: int) -> int:
    """SIGKILL the process group listening on `port`; for the api, one of its workers only (uvicorn's master
    starts another)."""
    pid = _listening_pid(port)
    if name == "api":
        workers = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        worker = int(workers[0]) if workers else pid
        os.kill(worker, signal.SIGKILL)
        return worker
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    return pid


async def run(args: argparse.Namespace) -> dict:
    redis_port = int(REDIS.rsplit(":", 1)[1].split("/")[0])
    with (
        tcp_proxy(5432) as postgres,
        tcp_proxy(redis_port) as redis,
        postgres_database(PG) as direct_url,
        running_stack(
            customers=50,
            port_base=19300,
            database_url=direct_url.replace(":5432/", f":{postgres.port}/"),
            rasa_replicas=2,
            tracker_store="sql",
            lock_store="redis",
            redis_url=f"redis://127.0.0.1:{redis.port}/0",
            api_workers=2,
            rate_limit_burst=1000,
            rate_limit_per_second=1000.0,
        ) as stack,
    ):
        base = stack.settings.base_url
        ports = {
            "rasa": stack.settings.rasa_port,
            "actions": stack.settings.action_server_port,
            "api": stack.settings.api_port,
        }
        cuts = {"postgresql": postgres, "redis": redis}
        users = [f"fault-{i:02d}" for i in range(args.customers)]
        log: list[dict] = []
        stop = asyncio.Event()
        rng = random.Random(5)
        limits = httpx.Limits(max_connections=args.customers + 5)
        kills = []
        async with httpx.AsyncClient(limits=limits) as client:
            tasks = [
                asyncio.create_task(
                    customer(client, f"{base}/api/v1/messages", u, stop, random.Random(rng.random()), log)
                )
                for u in users
            ]
            await asyncio.sleep(args.settle)
            for name in ("rasa", "actions", "api", "postgresql", "redis"):
                killed_at = time.monotonic()
                if name in cuts:
                    cuts[name].cut()
                    print(f"cut {name} for {args.outage:.0f} s", flush=True)
                    await asyncio.sleep(args.outage)
                    cuts[name].restore()
                    back_at = time.monotonic()
                else:
                    print(f"killed {name} (pid {kill_process(name, ports[name])})", flush=True)
                    back_at = killed_at
                await asyncio.sleep(1.0)
                while not await ready(base):
                    await asyncio.sleep(0.5)
                recovered = time.monotonic() - back_at
                window = Counter(e["kind"] for e in log if killed_at <= e["at"] <= back_at + recovered)
                kills.append(
                    {
                        "fault": name,
                        "outage_s": round(back_at - killed_at, 1),
                        "recovered_s": round(recovered, 1),
                        "during_outage": dict(window),
                    }
                )
                print(f"  ready {recovered:.1f} s after; customers saw {dict(window)}", flush=True)
                await asyncio.sleep(args.settle)
            stop.set()
            await asyncio.gather(*tasks)
        deadline = time.monotonic() + 60
        engine = make_engine(stack.settings.effective_database_url)
        sessions = make_session_factory(engine)
        while time.monotonic() < deadline:  # the replayer answers what was kept
            with sessions() as session:
                pending = session.scalar(
                    select(func.count()).select_from(Message).where(Message.status.in_(("pending", "replaying")))
                )
            if not pending:
                break
            await asyncio.sleep(1)
        accepted = Counter(e["user"] for e in log if e["status"] == 200)
        with sessions() as session:
            rows = session.execute(
                select(Conversation.external_user_id, Conversation.state, Message.status, Message.intent)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Conversation.external_user_id.in_(users), Message.direction == "in")
            ).all()
            events = session.scalars(
                select(BrokerEvent.data).where(BrokerEvent.sender_id.in_([f"api:{u}" for u in users]))
            ).all()
        engine.dispose()
        stored = Counter(r[0] for r in rows)
        statuses = Counter(r[2] for r in rows)
        # went to Rasa: answered by it (its intent recorded), or failed after reaching it (never sent again)
        sent_to_rasa = Counter(r[0] for r in rows if r[3] is not None or r[2] == "failed")
        user_events = Counter(
            json.loads(d)["sender_id"].split(":", 1)[1] for d in events if json.loads(d).get("event") == "user"
        )
        return {
            "customers": args.customers,
            "messages_sent": len(log),
            "accepted": sum(accepted.values()),
            "refused": sum(1 for e in log if e["status"] != 200),  # an api worker down, or the database away
            "accepted_and_not_stored": sum(max(0, accepted[u] - stored[u]) for u in users),
            "stored_but_request_failed": sum(max(0, stored[u] - accepted[u]) for u in users),
            "left_waiting_for_the_bot": statuses.get("pending", 0) + statuses.get("replaying", 0),
            # stored in a bot conversation and never processed: the api died between storing and asking Rasa
            "stored_never_processed": sum(1 for r in rows if r[1] == "bot" and r[2] == "stored"),
            "inbound_statuses": dict(statuses),
            "reached_rasa_twice": sum(max(0, user_events[u] - sent_to_rasa[u]) for u in users),
            "what_customers_saw": dict(Counter(e["kind"] for e in log)),
            "kills": kills,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds of normal chatting around each kill")
    parser.add_argument("--outage", type=float, default=10.0, help="seconds PostgreSQL and Redis are cut")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
