"""Outage storm: a fault on one 10 kV feeder with 2,000 bound customers, all of them writing "停电了" within
2 minutes, half through the widget's channel of the HTTP api and half through WeChat, against the running stack
(`powerdesk run`); then power comes back and every one of them is told so, once.

    .venv/bin/python benchmarks/outage_storm.py [--customers 2000 --seconds 120] [--profile single|scaled]

The fault is announced through `POST /api/v1/outages` (as dispatch would) before the storm. Each customer writes
once, at a random moment of the window, one of a few ways of saying it. WeChat customers are played as WeChat
does: signed callbacks (wechatpy), a 5 s timeout and up to 3 retries of the same MsgId; an answer slower than the
passive window arrives as a customer-service push at a fake WeChat API on loopback.

Measured: answer latency p50/p95/p99 (api: the request; WeChat: the passive reply, or the push's arrival).
Checked: every message answered with the fault (its reason), 0 lost (each stored once), 0 answered twice, 0 new
repair tickets, every customer linked to the event once. Then the fault is closed (`PATCH … {"status": "closed"}`)
and the restoration notices counted: each WeChat customer pushed exactly once, each widget customer given exactly
one widget notice, and the seconds from the close to the last one. Results: benchmarks/results/outage_storm[_scaled].json.
`--profile scaled`: 2 Rasa servers on a SQL tracker store in PostgreSQL, a Redis lock store, 2 api workers.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.chat import percentile  # noqa: E402
from benchmarks.stack import postgres_database, running_stack  # noqa: E402

PG = os.environ.get("POWERDESK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("POWERDESK_BENCH_REDIS", "redis://127.0.0.1:6379/0")
RESULTS = Path(__file__).resolve().parent / "results"
FEEDER = "10kV风暴测试1号线"
REASON = "10kV风暴测试1号线故障跳闸，抢修人员已赶赴现场"
TEXTS = ("停电了", "家里没电了", "我家停电了", "怎么又停电了", "突然没电了，怎么回事", "停电了 快来修")
API_KEY = "bench-outage-storm-key-0123456789"


def add_customers(database_url: str, n: int) -> tuple[list[str], list[str]]:
    """`n` customers on FEEDER, bound alternately on the widget and on WeChat: (widget user ids, WeChat openids)."""
    from sqlalchemy import insert, select

    from core.clock import utc_now
    from core.db import make_engine, make_session_factory, transaction
    from core.models import ChannelBinding, Customer

    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    rows = [
        {
            "account_no": f"{3390000000 + i}",
            "name": "风暴测试",
            "phone": f"139{i:08d}",
            "address": f"杭州市西湖区风暴路{i + 1}号",
            "area": "西湖区",
            "feeder": FEEDER,
            "transformer_area": f"风暴路1-{i % 8 + 1}号台区",
            "customer_category": "residential",
            "tariff_category": "residential",
            "opened_on": dt.date(2020, 1, 1),
        }
        for i in range(n)
    ]
    api_users, openids = [], []
    with transaction(sessions) as session:
        session.execute(insert(Customer), rows)
        ids = dict(session.execute(select(Customer.account_no, Customer.id).where(Customer.feeder == FEEDER)).all())
        bindings = []
        for i in range(n):
            channel, user = ("widget", f"storm-{i:05d}") if i % 2 == 0 else ("wechat", f"o_storm_{i:05d}")
            (api_users if channel == "widget" else openids).append(user)
            bindings.append(
                {
                    "channel": channel,
                    "external_user_id": user,
                    "customer_id": ids[f"{3390000000 + i}"],
                    "verified_at": utc_now(),
                }
            )
        session.execute(insert(ChannelBinding), bindings)
    engine.dispose()
    return api_users, openids


def announce_fault(base_url: str) -> int:
    now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)  # local (Asia/Shanghai) wall-clock time
    body = {
        "kind": "fault",
        "start": (now - dt.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M"),
        "end": (now + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "reason": REASON,
        "feeder": FEEDER,
    }
    response = httpx.post(f"{base_url}/api/v1/outages", json=body, headers={"X-API-Key": API_KEY}, timeout=30)
    response.raise_for_status()
    return int(response.json()["id"])


async def storm(
    base_url: str, api_users: list[str], openids: list[str], seconds: float, state: Any, seed: int
) -> dict[str, Any]:
    from tests.api.wechat_sim import WeChatSim, fixture

    rng = random.Random(seed)
    sim = WeChatSim()
    plan = [("api", u) for u in api_users] + [("wechat", o) for o in openids]
    starts = {user: rng.uniform(0, seconds) for _, user in plan}
    texts = {user: rng.choice(TEXTS) for _, user in plan}
    latency: dict[str, float] = {}
    answered: Counter[str] = Counter()  # answers carrying the fault, per customer
    pushed_pending: dict[str, float] = {}  # WeChat: when it was sent (wall clock), for answers that come as a push
    errors: list[str] = []
    other: dict[str, str] = {}  # what a customer got instead of the fault
    t0 = time.perf_counter()

    async def api_customer(client: httpx.AsyncClient, user: str) -> None:
        await asyncio.sleep(starts[user])
        started = time.perf_counter()
        try:
            r = await client.post(
                f"{base_url}/api/v1/messages",
                json={"user_id": user, "text": texts[user], "channel": "widget"},
                headers={"X-API-Key": API_KEY},
                timeout=60,
            )
        except httpx.HTTPError as exc:
            errors.append(f"api {user}: {type(exc).__name__}")
            return
        latency[user] = time.perf_counter() - started
        if r.status_code != 200:
            errors.append(f"api {user}: HTTP {r.status_code} {r.text[:100]}")
            return
        replies = r.json().get("replies") or []
        if any(REASON in str(x.get("text") or "") for x in replies):
            answered[user] += 1
        else:
            other[user] = " | ".join(str(x.get("text") or "")[:60] for x in replies)

    async def wechat_customer(client: httpx.AsyncClient, i: int, openid: str) -> None:
        await asyncio.sleep(starts[openid])
        xml = fixture("text", openid=openid, content=texts[openid], msg_id=50_000_000 + i)
        started, started_wall = time.perf_counter(), time.time()
        for _attempt in range(4):  # the first delivery and WeChat's 3 retries of the same MsgId
            query, body = sim.request(xml)
            try:
                r = await client.post(
                    f"{base_url}/wechat", params=query, content=body, headers={"Content-Type": "text/xml"}, timeout=5.0
                )
            except httpx.TimeoutException:
                continue
            except httpx.HTTPError as exc:
                errors.append(f"wechat {openid}: {type(exc).__name__}")
                continue
            reply = sim.reply_text(r.text, query)
            if reply is None:  # "success": the answer comes as a push
                pushed_pending[openid] = started_wall
            else:
                latency[openid] = time.perf_counter() - started
                if REASON in reply:
                    answered[openid] += 1
                else:
                    other[openid] = reply[:120]
            return
        errors.append(f"wechat {openid}: no answer to 4 deliveries")

    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits) as client:
        tasks = [api_customer(client, u) for u in api_users]
        tasks += [wechat_customer(client, i, o) for i, o in enumerate(openids)]
        await asyncio.gather(*tasks)
        deadline = time.monotonic() + 60  # pushes still on their way
        while time.monotonic() < deadline and any(not state.texts_to(o) for o in pushed_pending):
            await asyncio.sleep(0.5)
    for openid, sent_at in pushed_pending.items():
        pushes = [m for m in state.sent if m.get("touser") == openid]
        if pushes:
            latency[openid] = pushes[0]["at"] - sent_at
    for m in state.sent:
        if REASON in str((m.get("text") or {}).get("content") or ""):
            answered[str(m.get("touser"))] += 1
    everyone = [user for _, user in plan]
    values = [latency[u] for u in everyone if u in latency]
    return {
        "customers": len(everyone),
        "window_s": seconds,
        "elapsed_s": round(time.perf_counter() - t0, 1),
        "latency_ms": {
            "p50": round(percentile(values, 50) * 1000),
            "p95": round(percentile(values, 95) * 1000),
            "p99": round(percentile(values, 99) * 1000),
            "max": round(max(values) * 1000) if values else None,
        },
        "by_channel_p95_ms": {
            ch: round(percentile([latency[u] for c, u in plan if c == ch and u in latency], 95) * 1000)
            for ch in ("api", "wechat")
        },
        "answered_with_the_fault": sum(1 for u in everyone if answered[u] >= 1),
        "answered_twice": sum(1 for u in everyone if answered[u] > 1),
        "not_answered": [u for u in everyone if answered[u] == 0][:20],
        "answered_otherwise": [{"said": texts[u], "got": other[u]} for u in everyone if u in other][:10],
        "wechat_by_push": len(pushed_pending),
        "errors": len(errors),
        "error_samples": errors[:10],
    }


RESTORED = "【恢复供电通知】"  # the title of every restoration notice (data/messages/outage_notices.yml, `restored`)


def _text(message: dict[str, Any]) -> str:
    return str((message.get("text") or {}).get("content") or "")


def restoration(base_url: str, database_url: str, event_id: int, openids: list[str], state: Any) -> dict[str, Any]:
    """Close the fault as dispatch would, then wait for the restoration notices (at most 120 s)."""
    from sqlalchemy import func, select

    from core.db import make_engine, make_session_factory
    from core.models import Customer
    from core.models_recommend import CustomerNotice

    before = len(state.sent)
    closed_at = time.time()
    response = httpx.patch(
        f"{base_url}/api/v1/outages/{event_id}", json={"status": "closed"}, headers={"X-API-Key": API_KEY}, timeout=30
    )
    response.raise_for_status()
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    deadline = time.monotonic() + 120
    pushes: Counter[str] = Counter()
    widget: dict[int, int] = {}
    while time.monotonic() < deadline:
        # restoration notices only: a storm answer the replayer pushes late (after the close) is not a notice
        pushes = Counter(str(m.get("touser")) for m in state.sent[before:] if RESTORED in _text(m))
        with sessions() as session:
            widget = dict(
                session.execute(
                    select(CustomerNotice.customer_id, func.count())
                    .join(Customer, Customer.id == CustomerNotice.customer_id)
                    .where(Customer.feeder == FEEDER)
                    .group_by(CustomerNotice.customer_id)
                ).all()
            )
        if all(pushes[o] for o in openids) and len(widget) >= len(openids):
            break
        time.sleep(1)
    last = max((m["at"] for m in state.sent[before:] if RESTORED in _text(m)), default=closed_at)
    engine.dispose()
    return {
        "wechat_told_once": sum(1 for o in openids if pushes[o] == 1),
        "wechat_told_twice": sum(1 for o in openids if pushes[o] > 1),
        "wechat_not_told": sum(1 for o in openids if pushes[o] == 0),
        "widget_told_once": sum(1 for n in widget.values() if n == 1),
        "widget_told_twice": sum(1 for n in widget.values() if n > 1),
        "seconds_to_last_push": round(last - closed_at, 1),
    }


def database_checks(database_url: str, event_id: int, since: dt.datetime, users: list[str]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from core.db import make_engine, make_session_factory
    from core.models import Conversation, Message, Ticket
    from core.models_outages import OutageContact

    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        inbound = Counter(
            session.scalars(
                select(Conversation.external_user_id)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Message.direction == "in", Conversation.external_user_id.in_(users))
            )
        )
        tickets = session.scalar(select(func.count()).where(Ticket.created_at >= since)) or 0
        contacts = session.scalar(select(func.count()).where(OutageContact.event_id == event_id)) or 0
        reports = session.scalar(select(func.sum(OutageContact.reports)).where(OutageContact.event_id == event_id))
    engine.dispose()
    return {
        "stored_once": sum(1 for u in users if inbound[u] == 1),
        "lost": sum(1 for u in users if inbound[u] == 0),
        "stored_twice": sum(1 for u in users if inbound[u] > 1),
        "new_tickets": int(tickets),
        "customers_linked_to_the_event": int(contacts),
        "reports_counted": int(reports or 0),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.api.fake_wechat import APP_ID, APP_SECRET, FakeWeChatState, fake_wechat_app, serve
    from tests.api.wechat_sim import TOKEN

    state = FakeWeChatState()
    overrides: dict[str, Any] = {
        "api_key": API_KEY,
        "wechat_token": TOKEN,
        "wechat_app_id": APP_ID,
        "wechat_app_secret": APP_SECRET,
        # a storm comes from everywhere; here from one address: lift the per-address limits
        "rate_limit_burst": 100_000,
        "rate_limit_per_second": 100_000.0,
        "new_conversations_per_minute": 1_000_000,
        "new_conversations_per_client_minute": 1_000_000,
    }
    if args.profile == "scaled":
        overrides |= {"rasa_replicas": 2, "tracker_store": "sql", "lock_store": "redis", "redis_url": REDIS}
        overrides |= {"api_workers": 2}
    with serve(fake_wechat_app(state)) as wechat_url:
        overrides["wechat_api_base"] = wechat_url
        if args.profile == "scaled":
            with postgres_database(PG) as url, running_stack(database_url=url, **overrides) as stack:
                return measure(args, stack, url, state)
        with running_stack(**overrides) as stack:
            return measure(args, stack, stack.settings.database_url, state)


def measure(args: argparse.Namespace, stack: Any, url: str, state: Any) -> dict[str, Any]:
    print(f"stack ready after {stack.ready_after_s:.1f} s", flush=True)
    api_users, openids = add_customers(url, args.customers)
    event_id = announce_fault(stack.settings.base_url)
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    result = asyncio.run(storm(stack.settings.base_url, api_users, openids, args.seconds, state, args.seed))
    result["database"] = database_checks(url, event_id, since, api_users + openids)
    result["restoration_notices"] = restoration(stack.settings.base_url, url, event_id, openids, state)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--profile", choices=("single", "scaled"), default="single")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    measured = dt.date.today().isoformat()
    result = {"measured_at": measured, "machine": {"cpus": os.cpu_count()}, "profile": args.profile, **run(args)}
    out = RESULTS / ("outage_storm.json" if args.profile == "single" else "outage_storm_scaled.json")
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
