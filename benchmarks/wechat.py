"""WeChat channel benchmark: 50 simulated WeChat users sending 200 messages a minute, 5% of turns slow.

The api runs as real uvicorn processes (default 2, sharing one SQLite database; `--database-url` for
PostgreSQL) with a fake bot that answers at once, or after `--slow-s` seconds (longer than the 4 s passive
window) for 5% of the messages. A fake WeChat API server on loopback serves tokens and records the
customer-service pushes. The load generator plays WeChat: signed requests built with wechatpy, a 5 s
timeout, and up to 3 retries of the same MsgId, each sent to the next api process (so deduplication has to
hold across processes).

Measured: time to acknowledge (first POST → its response: a passive reply or `success`), p50/p95/p99/max.
Checked: every message answered exactly once (passive replies + pushes, matched by content), none lost,
each stored once in `messages` and once in `wechat_inbound` (status replied/pushed).

    /work/main/.venv/bin/python benchmarks/wechat.py [--users 50 --per-minute 200 --minutes 1 --processes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import REPO_ROOT  # noqa: E402

RESULTS = REPO_ROOT / "benchmarks" / "results" / "wechat.json"


def make_bench_app() -> Any:
    """uvicorn factory of one api process: the real app with the slow-turn fake bot."""
    from api.app import create_app
    from core.settings import get_settings
    from tests.api.fake_wechat import SlowBot

    return create_app(get_settings(), bot=SlowBot(float(os.environ.get("BENCH_SLOW_S", "6"))))


async def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from core.migrate import upgrade
    from tests.api.fake_wechat import APP_ID, APP_SECRET, FakeWeChatState, fake_wechat_app, free_port, serve
    from tests.api.wechat_sim import TOKEN, WeChatSim, fixture

    var = Path(tempfile.mkdtemp(prefix="pd-bench-wechat-"))
    db_url = args.database_url or f"sqlite:///{var / 'bench.db'}"
    upgrade(db_url)
    state = FakeWeChatState()
    procs: list[subprocess.Popen[bytes]] = []
    with serve(fake_wechat_app(state)) as wechat_url:
        ports = [free_port() for _ in range(args.processes)]
        env = {
            **os.environ,
            "VAR_DIR": str(var),
            "DATABASE_URL": db_url,
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": APP_SECRET,
            "WECHAT_API_BASE": wechat_url,
            "BENCH_SLOW_S": str(args.slow_s),
            "WECHAT_PASSIVE_REPLY_S": str(args.passive_s),
            "POWERDESK_ENV": "test",
            "RATE_LIMIT_BURST": "20",
            "LOG_LEVEL": "WARNING",
            "SERVICE_HOURS_WORKDAY": "",
            "SERVICE_HOURS_RESTDAY": "",
        }
        for port in ports:
            cmd = [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "benchmarks.wechat:make_bench_app",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ]
            procs.append(subprocess.Popen(cmd, cwd=REPO_ROOT, env=env))
        try:
            urls = [f"http://127.0.0.1:{p}" for p in ports]
            for url in urls:
                await _wait(f"{url}/healthz")
            return await _load(args, urls, state, WeChatSim(), fixture, db_url)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)


async def _load(
    args: argparse.Namespace, urls: list[str], state: Any, sim: Any, fixture: Any, db_url: str
) -> dict[str, Any]:
    rng = random.Random(args.seed)
    total = int(args.per_minute * args.minutes)
    interval = 60.0 / args.per_minute
    users = [f"o_bench_{i:03d}" for i in range(args.users)]
    plan = []
    for i in range(total):
        slow = rng.random() < args.slow_share
        text = f"{'slow' if slow else 'msg'} {i} 电费查询"
        plan.append((i, users[i % len(users)], text, slow))
    ack: dict[int, float] = {}
    passive: Counter[str] = Counter()
    attempts: Counter[int] = Counter()
    errors: list[str] = []

    async def one(client: httpx.AsyncClient, i: int, user: str, text: str) -> None:
        xml = fixture("text", openid=user, content=text, msg_id=10_000_000 + i)
        for attempt in range(4):  # the first delivery and WeChat's 3 retries
            query, body = sim.request(xml)
            url = urls[(i + attempt) % len(urls)]
            started = time.perf_counter()
            attempts[i] += 1
            try:
                response = await client.post(
                    f"{url}/wechat", params=query, content=body, headers={"Content-Type": "text/xml"}, timeout=5.0
                )
            except httpx.TimeoutException:
                ack.setdefault(i, 5.0)
                continue  # WeChat retries after 5 s
            except httpx.HTTPError as exc:
                errors.append(f"{i}: {exc}")
                continue
            ack.setdefault(i, time.perf_counter() - started)
            if response.status_code != 200:
                errors.append(f"{i}: HTTP {response.status_code} {response.text[:100]}")
                continue
            reply = sim.reply_text(response.text, query)
            if reply is not None:
                passive[reply.split("\n", 1)[0]] += 1
            return

    started = time.perf_counter()
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=400)) as client:
        tasks = []
        for i, user, text, _slow in plan:
            delay = started + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client, i, user, text)))
        await asyncio.gather(*tasks)
    # wait for the pushes of the slow turns
    deadline = time.monotonic() + args.slow_s + 30
    slow_count = sum(1 for p in plan if p[3])
    while time.monotonic() < deadline and len(state.sent) < slow_count:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)
    pushed: Counter[str] = Counter(m["text"]["content"].split("\n", 1)[0] for m in state.sent)
    answers = {text: passive[f"收到：{text}"] + pushed[f"收到：{text}"] for _, _, text, _ in plan}
    twice = [t for t, n in answers.items() if n > 1]
    lost = [t for t, n in answers.items() if n == 0]
    db = _db_check(db_url, [p[2] for p in plan])
    acks = sorted(ack.values())

    def q(p: float) -> float:
        return round(acks[min(len(acks) - 1, int(p * len(acks)))], 4) if acks else float("nan")

    return {
        "users": args.users,
        "messages": total,
        "per_minute": args.per_minute,
        "slow_share": args.slow_share,
        "slow_messages": slow_count,
        "slow_s": args.slow_s,
        "passive_s": args.passive_s,
        "api_processes": len(urls),
        "database": db_url.split(":", 1)[0],
        "ack_s": {"p50": q(0.5), "p95": q(0.95), "p99": q(0.99), "max": round(max(acks), 4) if acks else None},
        "retries_sent": sum(attempts.values()) - len(attempts),
        "answered_passively": sum(passive.values()),
        "answered_by_push": len(state.sent),
        "answered_twice": len(twice),
        "lost": len(lost),
        "http_errors": errors[:10],
        "db": db,
        "push_refused": len(state.refused),
    }


def _db_check(db_url: str, texts: list[str]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from core.db import make_engine, make_session_factory
    from core.models import Message
    from core.models_wechat import WeChatInbound

    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        stored = Counter(session.scalars(select(Message.text).where(Message.direction == "in")))
        statuses = dict(
            session.execute(select(WeChatInbound.status, func.count()).group_by(WeChatInbound.status)).all()
        )  # type: ignore[arg-type]
        retries = session.scalar(select(func.sum(WeChatInbound.retries))) or 0
    engine.dispose()
    return {
        "inbound_stored_once": sum(1 for t in texts if stored[t] == 1),
        "inbound_missing": sum(1 for t in texts if stored[t] == 0),
        "inbound_duplicated": sum(1 for t in texts if stored[t] > 1),
        "wechat_inbound_status": statuses,
        "retries_recorded": int(retries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--per-minute", type=float, default=200)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--slow-share", type=float, default=0.05)
    parser.add_argument("--slow-s", type=float, default=6.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--passive-s", type=float, default=4.0, help="WECHAT_PASSIVE_REPLY_S of the api")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    ok = result["answered_twice"] == 0 and result["lost"] == 0 and (result["ack_s"]["max"] or 99) <= 4.5
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
