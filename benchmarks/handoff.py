"""Handoff delivery benchmark: 50 concurrent customers (widget websockets) and 5 agents (console websockets and
its HTTP api) on two api processes joined by Redis pub/sub (one process without Redis).

Each customer asks for a person; the agents claim the cases from the queue and then every conversation
exchanges ROUNDS messages each way, customer → agent → customer, all conversations at once. Measured:
latency customer → agent (widget send → the agent's console websocket receives it) and agent → customer
(reply POST sent → the customer's widget websocket receives it). Checked: every message was received
exactly once by the right client, and the database holds each message once with status `delivered`;
at the end every case is closed and every customer rates it (stored with human_involved).

Rasa is replaced by the fake Rasa server (tests/api/fake_rasa_server.py): it is only asked once per
conversation (the request for a person) and is not on the measured path, which is api + database +
Redis + websockets. The load generator runs on the same 2 cores as the servers.

    /work/main/.venv/bin/python benchmarks/handoff.py [--customers 50 --agents 5 --rounds 5 --processes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import func, select
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.widget_session import WidgetSessions  # noqa: E402
from benchmarks.stack import postgres_database  # noqa: E402
from core.db import make_engine, make_session_factory, normalise_url, transaction  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.models import Handoff, Message, Rating  # noqa: E402
from core.settings import REPO_ROOT, Settings  # noqa: E402
from services import agents  # noqa: E402
from tests.api.multiprocess import api_processes  # noqa: E402

PASSWORD = "benchmark password"
RESULTS = REPO_ROOT / "benchmarks" / "results" / "handoff.json"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else float("nan")


class Agent:
    def __init__(self, name: str, base: str) -> None:
        self.name, self.base = name, base
        self.http = httpx.AsyncClient(base_url=base, timeout=30)
        self.csrf = ""
        self.received: Counter[int] = Counter()  # customer message ids seen on the console websocket
        self.cases: list[int] = []

    async def login(self) -> None:
        page = await self.http.get("/console/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        await self.http.post(
            "/console/login", data={"username": self.name, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        home = await self.http.get("/console")
        found = re.search(r'data-csrf="([^"]+)"', home.text)
        assert found, "login failed"
        self.csrf = found.group(1)

    async def post(self, path: str, body: dict | None = None) -> httpx.Response:
        response = await self.http.post(path, json=body, headers={"X-CSRF-Token": self.csrf})
        return response


@contextmanager
def database(postgres_admin_url: str | None, root: Path) -> Iterator[str]:
    """A SQLite file, or a throw-away PostgreSQL database dropped afterwards."""
    if not postgres_admin_url:
        yield f"sqlite:///{root / 'handoff.db'}"
        return
    with postgres_database(normalise_url(postgres_admin_url)) as url:
        yield url


async def run(customers: int, n_agents: int, rounds: int, processes: int, redis_url: str, url: str) -> dict:
    root = Path(tempfile.mkdtemp(prefix="powerdesk-handoff-"))
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    names = [f"agent{i}" for i in range(n_agents)]
    with transaction(sessions) as session:
        for name in names:
            agents.create_agent(session, name, name, PASSWORD)
    settings = Settings(
        powerdesk_env="test",
        var_dir=root,
        database_url=url,
        redis_url=redis_url if processes > 1 else "",
        service_hours_workday="00:00-24:00",
        service_hours_restday="00:00-24:00",
        rate_limit_burst=1000,
        rate_limit_per_second=1000.0,
        # every simulated customer comes from 127.0.0.1 and asks for a person: lift the per-address limits
        new_conversations_per_client_minute=100_000,
        handoffs_per_minute=100_000,
        handoffs_per_client_minute=100_000,
        _env_file=None,
    )
    c2a: list[float] = []
    a2c: list[float] = []
    sent_at: dict[str, float] = {}
    problems: list[str] = []
    with api_processes(settings, processes, root) as stack:
        urls = stack.urls
        team = [Agent(name, urls[(i + 1) % len(urls)]) for i, name in enumerate(names)]
        await asyncio.gather(*(a.login() for a in team))
        agent_sockets = [
            await connect(
                f"{a.base.replace('http', 'ws')}/console/ws",
                additional_headers={"Cookie": f"pd_console={a.http.cookies['pd_console']}"},
            )
            for a in team
        ]
        users = [f"benchcustomer{i:04d}xxxxxx" for i in range(customers)]
        # each customer's widget session, signed with the stack's secret for a visitor id the benchmark knows
        sessions = WidgetSessions(settings.secret_key, settings.widget_session_days * 86400)
        widget_sockets = []
        for i, u in enumerate(users):
            ws = await connect(f"{urls[i % len(urls)].replace('http', 'ws')}/api/v1/widget/ws")
            await ws.send(json.dumps({"type": "auth", "token": sessions.issue(u).token}))
            assert json.loads(await ws.recv()) == {"type": "ready"}
            widget_sockets.append(ws)
        pushes: dict[str, Counter[int]] = defaultdict(Counter)
        push_events: dict[str, asyncio.Queue[dict]] = {u: asyncio.Queue() for u in users}
        conversation_of: dict[str, int] = {}

        async def customer_reader(user: str, ws) -> None:  # type: ignore[no-untyped-def]
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "push":
                    now = time.perf_counter()
                    for reply in frame["replies"]:
                        pushes[user][reply["id"]] += 1
                        if reply["text"] in sent_at:
                            a2c.append((now - sent_at[reply["text"]]) * 1000)
                        await push_events[user].put(reply)
                elif frame.get("type") == "replies":
                    conversation_of[user] = frame["conversation_id"]
                    await push_events[user].put({"reply_frame": frame})

        async def agent_reader(agent: Agent, ws) -> None:  # type: ignore[no-untyped-def]
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") != "message" or frame["message"]["direction"] != "in":
                    continue
                now = time.perf_counter()
                message = frame["message"]
                agent.received[message["id"]] += 1
                if message["text"] in sent_at:
                    c2a.append((now - sent_at[message["text"]]) * 1000)
                if message["text"].startswith("c-"):
                    # like a browser, the console keeps receiving while a reply is being sent
                    pending.add(asyncio.create_task(answer(agent, message["text"])))

        async def answer(agent: Agent, text: str) -> None:
            reply = "a-" + text[2:]
            handoff_id = int(text.split("-")[1])
            sent_at[reply] = time.perf_counter()
            response = await agent.post(f"/console/api/cases/{handoff_id}/reply", {"text": reply})
            if response.status_code != 200:
                problems.append(f"reply {reply}: {response.status_code} {response.text}")

        pending: set[asyncio.Task[None]] = set()
        readers = [asyncio.create_task(customer_reader(u, ws)) for u, ws in zip(users, widget_sockets, strict=True)]
        readers += [asyncio.create_task(agent_reader(a, ws)) for a, ws in zip(team, agent_sockets, strict=True)]

        started = time.perf_counter()
        await asyncio.gather(*(ws.send(json.dumps({"text": "我要转人工"})) for ws in widget_sockets))
        for user in users:  # the handoff reply
            await asyncio.wait_for(push_events[user].get(), 30)

        # the agents take cases from the queue (round robin until the queue is empty)
        async def take(agent: Agent) -> None:
            while True:
                waiting = (await agent.http.get("/console/api/queue")).json()["waiting"]
                if not waiting:
                    return
                for case in waiting[: max(1, customers // n_agents)]:
                    response = await agent.post(f"/console/api/cases/{case['handoff_id']}/claim")
                    if response.status_code == 200:
                        agent.cases.append(case["handoff_id"])

        await asyncio.gather(*(take(a) for a in team))
        handoff_of: dict[int, int] = {}
        for agent, ws in zip(team, agent_sockets, strict=True):
            for handoff_id in agent.cases:
                await ws.send(json.dumps({"type": "watch", "handoff_id": handoff_id}))
        with sessions() as session:
            for h in session.scalars(select(Handoff)):
                handoff_of[h.conversation_id] = h.id
        await asyncio.sleep(1.0)  # watch subscriptions in place
        for user in users:  # drain "agent joined"
            while not push_events[user].empty():
                push_events[user].get_nowait()
        claimed_after = time.perf_counter() - started

        async def converse(user: str, ws) -> None:  # type: ignore[no-untyped-def]
            handoff_id = handoff_of[conversation_of[user]]
            for i in range(rounds):
                text = f"c-{handoff_id}-{i}"
                sent_at[text] = time.perf_counter()
                await ws.send(json.dumps({"text": text}))
                while True:
                    event = await asyncio.wait_for(push_events[user].get(), 30)
                    if event.get("text") == f"a-{handoff_id}-{i}":
                        break

        t0 = time.perf_counter()
        await asyncio.gather(*(converse(u, ws) for u, ws in zip(users, widget_sockets, strict=True)))
        exchange_s = time.perf_counter() - t0

        # close every case; every customer rates with the widget's stars
        for agent in team:
            for handoff_id in agent.cases:
                response = await agent.post(f"/console/api/cases/{handoff_id}/close", {"resolution": "resolved"})
                if response.status_code != 200:
                    problems.append(f"close {handoff_id}: {response.text}")
        for user in users:
            while True:
                event = await asyncio.wait_for(push_events[user].get(), 30)
                if (event.get("custom") or {}).get("rating"):
                    break
        await asyncio.gather(
            *(ws.send(json.dumps({"type": "rating", "score": 5, "comment": "bench"})) for ws in widget_sockets)
        )
        await asyncio.sleep(2.0)
        for task in readers:
            task.cancel()
        for ws in widget_sockets + agent_sockets:
            await ws.close()
        for agent in team:
            await agent.http.aclose()

    duplicates = sum(n - 1 for c in pushes.values() for n in c.values() if n > 1)
    duplicates += sum(n - 1 for a in team for n in a.received.values() if n > 1)
    with sessions() as session:
        agent_rows = session.scalars(select(Message).where(Message.sender == "agent")).all()
        customer_rows = session.scalars(select(Message).where(Message.text.like("c-%"))).all()
        ratings = session.scalar(select(func.count()).select_from(Rating).where(Rating.human_involved.is_(True)))
    expected = customers * rounds
    received_by_customers = {i for c in pushes.values() for i in c}
    received_by_agents = {i for a in team for i in a.received}
    lost_to_customers = [m.id for m in agent_rows if m.id not in received_by_customers]
    lost_to_agents = [m.id for m in customer_rows if m.id not in received_by_agents]
    engine.dispose()
    return {
        "customers": customers,
        "agents": n_agents,
        "rounds": rounds,
        "api_processes": processes,
        "redis": bool(settings.redis_url),
        "database": url.split(":")[0].split("+")[0],
        "messages_each_way": expected,
        "agent_messages_in_db": len(agent_rows),
        "customer_messages_in_db": len(customer_rows),
        "delivered_status_agent_messages": sum(m.status == "delivered" for m in agent_rows),
        "delivered_status_customer_messages": sum(m.status == "delivered" for m in customer_rows),
        "lost_to_customers": len(lost_to_customers),
        "lost_to_agents": len(lost_to_agents),
        "duplicates": duplicates,
        "errors": problems[:10],
        "ratings_with_human": ratings,
        "customer_to_agent_ms": {"p50": pct(c2a, 0.5), "p95": pct(c2a, 0.95), "p99": pct(c2a, 0.99), "n": len(c2a)},
        "agent_to_customer_ms": {"p50": pct(a2c, 0.5), "p95": pct(a2c, 0.95), "p99": pct(a2c, 0.99), "n": len(a2c)},
        "median_ms_both": {
            "c2a": round(statistics.median(c2a), 1) if c2a else None,
            "a2c": round(statistics.median(a2c), 1) if a2c else None,
        },
        "handoff_and_claim_s": round(claimed_after, 2),
        "exchange_s": round(exchange_s, 2),
        "messages_per_s": round(2 * expected / exchange_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="ADMIN_URL",
        help="run on a throw-away PostgreSQL database, e.g. postgresql://postgres@127.0.0.1:5432/test",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="powerdesk-handoff-db-") as tmp, database(args.postgres, Path(tmp)) as url:
        result = asyncio.run(run(args.customers, args.agents, args.rounds, args.processes, args.redis_url, url))
    ok = (
        result["agent_messages_in_db"] == result["messages_each_way"] == result["customer_messages_in_db"]
        and result["delivered_status_agent_messages"] == result["messages_each_way"]
        and result["delivered_status_customer_messages"] == result["messages_each_way"]
        and result["duplicates"] == 0
        and result["lost_to_customers"] == 0
        and result["lost_to_agents"] == 0
        and not result["errors"]
    )
    result["exactly_once"] = ok
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]  # 2 cores shared with other work
    result["load_average_before"] = load_before
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
