"""Fault benchmark: customers keep chatting while the stack's processes are killed, one at a time.

    .venv/bin/python benchmarks/faults.py [--customers 20] [--settle 20]

Starts a fresh stack with `powerdesk run` (its supervisor restarts what dies), lets --customers simulated
customers chat over the HTTP api (a message every ~1.5 s each), and kills, in turn, Rasa, the action
server and the api with SIGKILL (the whole process group), waiting --settle seconds after each recovery.
Measured per kill: seconds until /readyz is `ready` again, and what the customers saw meanwhile (answered
by the bot, told the system is busy, handed to a person, refused because the api itself was down).
At the end, from the database and Rasa's events:
- every message the api accepted (HTTP 200) is stored exactly once;
- every stored message was answered (bot, polite message, or a person's queue) — none left pending;
- no message reached Rasa twice (Rasa's `user` events per customer = messages the api sent to it).
Killing PostgreSQL and Redis is not part of it: on this machine they are shared system services (the
default profile uses neither). Results: benchmarks/results/faults.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stack import _listening_pid, running_stack  # noqa: E402
from core.db import make_engine, make_session_factory  # noqa: E402
from core.models import Conversation, Message  # noqa: E402
from core.models_reports import BrokerEvent  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "faults.json"
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


async def run(args: argparse.Namespace) -> dict:
    with running_stack(customers=50, port_base=19300, rate_limit_burst=1000, rate_limit_per_second=1000.0) as stack:
        base = stack.settings.base_url
        ports = {
            "rasa": stack.settings.rasa_port,
            "actions": stack.settings.action_server_port,
            "api": stack.settings.api_port,
        }
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
            for name in ("rasa", "actions", "api"):
                pid = _listening_pid(ports[name])
                killed_at = time.monotonic()
                os.killpg(os.getpgid(pid), signal.SIGKILL)
                print(f"killed {name} (pid {pid})", flush=True)
                await asyncio.sleep(1.0)
                while not await ready(base):
                    await asyncio.sleep(0.5)
                recovered = time.monotonic() - killed_at
                window = Counter(e["kind"] for e in log if killed_at <= e["at"] <= killed_at + recovered)
                kills.append({"process": name, "recovered_s": round(recovered, 1), "during_outage": dict(window)})
                print(f"  back after {recovered:.1f} s; customers saw {dict(window)}", flush=True)
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
            "refused_while_api_down": sum(1 for e in log if e["status"] != 200),
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
    args = parser.parse_args()
    result = asyncio.run(run(args))
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
