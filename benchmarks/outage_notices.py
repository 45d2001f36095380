"""Outage-notice benchmark (issue 18): one planned outage announced to 10,000 WeChat-bound customers (and 500 on the
widget), delivered within a minute, each exactly once, through WeChat's transient errors.

A fresh database (SQLite in a temporary folder; `--database-url postgresql://…/test` creates a database of its own
on that server and drops it afterwards) gets the customers on one feeder and their bindings. A fake WeChat API
server runs as its own process on loopback and answers a share of the pushes with WeChat's transient errors
(-1 system busy, 45009 frequency limit), at random; it counts what it accepted per openid. The outage is created
through `services.outages.create_outage` (which queues the notices), then `--workers` processes of
`powerdesk outage notify --once --json` deliver them with the default pace (OUTAGE_NOTICE_RATE a second and
OUTAGE_NOTICE_CONCURRENCY at once per process), as the api's background workers would.

Measured: queuing time, seconds from the announcement to the last notice delivered (process start included),
throughput; checked: messages per openid (exactly 1 each), retries, failures, the rows' statuses.

    /work/main/.venv/bin/python benchmarks/outage_notices.py [--customers 10000 --widget 500 --workers 2]
        [--database-url postgresql://127.0.0.1:5432/test] [--workers 2 --redis-url redis://127.0.0.1:6379/13]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import REPO_ROOT, Settings  # noqa: E402

RESULTS = REPO_ROOT / "benchmarks" / "results"
FEEDER = "10kV文三路1号线"


def fake_wechat() -> Any:
    """uvicorn factory of the fake WeChat server, with the error shares of BENCH_ERRORS ({"-1": 0.05, …}) and
    /bench/counts: the accepted messages per openid."""
    import random

    from tests.api.fake_wechat import FakeWeChatState, fake_wechat_app

    rates = {int(k): float(v) for k, v in json.loads(os.environ.get("BENCH_ERRORS", "{}")).items()}
    state = FakeWeChatState(error_rates=rates, rng=random.Random(int(os.environ.get("BENCH_SEED", "18"))))
    app = fake_wechat_app(state)

    @app.get("/bench/counts")
    async def counts() -> dict[str, Any]:
        return {
            "per_openid": Counter(m["touser"] for m in state.sent),
            "refused": Counter(str(m["errcode"]) for m in state.refused),
            "tokens_issued": state.tokens_issued,
        }

    return app


def _database(url: str | None, var: Path) -> tuple[str, Any]:
    """A fresh, migrated database and how to drop it."""
    from sqlalchemy import create_engine, text

    from core.db import normalise_url
    from core.migrate import upgrade

    if not url:
        db_url = f"sqlite:///{var / 'bench.db'}"
        upgrade(db_url)
        return db_url, lambda: None
    admin_url = normalise_url(url)
    name = f"powerdesk_bench_notices_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(db_url)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return db_url, drop


def _customers(db_url: str, wechat: int, widget: int) -> float:
    """`wechat` customers bound on WeChat (openid o_bench_00000 …) and `widget` on the widget, all on FEEDER."""
    from sqlalchemy import insert, select

    from core.db import make_engine, make_session_factory, transaction
    from core.models import ChannelBinding, Customer

    started = time.perf_counter()
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    total = wechat + widget
    with transaction(sessions) as session:
        session.execute(
            insert(Customer),
            [
                {
                    "account_no": f"{3300000000 + i}",
                    "name": "测试",
                    "address": f"杭州市西湖区文三路{i}号",
                    "area": "西湖区",
                    "feeder": FEEDER,
                    "transformer_area": f"文三路1-{i % 40 + 1}号台区",
                    "customer_category": "residential",
                    "tariff_category": "residential",
                    "opened_on": dt.date(2020, 1, 1),
                }
                for i in range(total)
            ],
        )
        ids = list(session.scalars(select(Customer.id).order_by(Customer.account_no)))
        session.execute(
            insert(ChannelBinding),
            [
                {"channel": "wechat", "external_user_id": f"o_bench_{i:05d}", "customer_id": c}
                if i < wechat
                else {"channel": "widget", "external_user_id": f"v_bench_{i:05d}", "customer_id": c}
                for i, c in enumerate(ids)
            ],
        )
    engine.dispose()
    return time.perf_counter() - started


def _announce(db_url: str) -> tuple[int, int, float]:
    """The planned outage of FEEDER tomorrow, created as the api creates it (its notices queued); (id, notices, s)."""
    from sqlalchemy import func, select

    from core.clock import local_now
    from core.db import make_engine, make_session_factory, transaction
    from core.models_outages import OutageNotice
    from services.outages import NewOutage, create_outage

    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    start = local_now().replace(hour=8, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    new = NewOutage("planned", start, start + dt.timedelta(hours=9), "10kV线路计划检修", "feeder", FEEDER)
    started = time.perf_counter()
    with transaction(sessions) as session:
        outage_id = create_outage(session=session, new=new, by="benchmark", source="api").id
    seconds = time.perf_counter() - started
    with sessions() as session:
        queued = int(session.scalar(select(func.count()).select_from(OutageNotice)) or 0)
    engine.dispose()
    return outage_id, queued, seconds


def _rows(db_url: str) -> dict[str, Any]:
    from sqlalchemy import func, select

    from core.db import make_engine, make_session_factory
    from core.models_outages import OutageNotice
    from core.models_recommend import CustomerNotice

    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        statuses = {
            f"{channel}.{status}": int(n)
            for channel, status, n in session.execute(
                select(OutageNotice.channel, OutageNotice.status, func.count()).group_by(
                    OutageNotice.channel, OutageNotice.status
                )
            )
        }
        attempts = Counter(int(a) for a in session.scalars(select(OutageNotice.attempts)))
        widget = int(session.scalar(select(func.count()).select_from(CustomerNotice)) or 0)
    engine.dispose()
    return {"statuses": dict(sorted(statuses.items())), "attempts": attempts, "widget_notices": widget}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.api.fake_wechat import APP_ID, APP_SECRET, free_port

    var = Path(tempfile.mkdtemp(prefix="pd-bench-notices-"))
    db_url, drop = _database(args.database_url, var)
    if args.redis_url:  # a token of an earlier run's fake server would be refused once
        from redis import Redis

        Redis.from_url(args.redis_url).delete(f"powerdesk:wechat:{APP_ID}_access_token")
    port = free_port()
    errors = {"-1": args.busy_share, "45009": args.limit_share}
    env = {**os.environ, "BENCH_ERRORS": json.dumps(errors), "PYTHONPATH": str(REPO_ROOT)}
    wechat = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.outage_notices:fake_wechat", "--port", str(port)]
        + ["--log-level", "warning", "--no-access-log"],
        cwd=REPO_ROOT,
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(url)
        setup_s = _customers(db_url, args.customers, args.widget)
        outage_id, queued, queue_s = _announce(db_url)
        announced = time.perf_counter()
        worker_env = {
            **os.environ,
            "VAR_DIR": str(var),
            "DATABASE_URL": db_url,
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": APP_SECRET,
            "WECHAT_API_BASE": url,
            "POWERDESK_ENV": "test",
            "REDIS_URL": args.redis_url,  # the WeChat token, shared by the workers (as by api workers)
        }
        logs = [open(var / f"worker{i}.log", "w") for i in range(args.workers)]  # noqa: SIM115
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "cli", "outage", "notify", "--once", "--json"],
                cwd=REPO_ROOT,
                env=worker_env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
            for log in logs
        ]
        reports = [json.loads(w.communicate(timeout=600)[0].strip().splitlines()[-1]) for w in workers]
        delivered_s = time.perf_counter() - announced
        for log in logs:
            log.close()
        counts = httpx.get(f"{url}/bench/counts", timeout=30).json()
        rows = _rows(db_url)
    finally:
        wechat.terminate()
        wechat.wait(timeout=30)
        drop()
    per_openid = counts["per_openid"]
    expected = [f"o_bench_{i:05d}" for i in range(args.customers)]
    told = Counter(per_openid.get(o, 0) for o in expected)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    sent = sum(r["sent"] for r in reports)
    return {
        "measured_at": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)",
        "database": db_url.split(":", 1)[0].split("+")[0],
        "wechat_customers": args.customers,
        "widget_customers": args.widget,
        "workers": args.workers,
        "shared_token_in_redis": bool(args.redis_url),
        "rate_per_s_per_worker": settings.outage_notice_rate,
        "concurrency_per_worker": settings.outage_notice_concurrency,
        "injected_errors": {"system_busy_share": args.busy_share, "rate_limit_45009_share": args.limit_share},
        "setup_s": round(setup_s, 2),
        "queue_s": round(queue_s, 3),
        "notices_queued": queued,
        "deliver_s": round(delivered_s, 2),
        "throughput_per_s": round(sent / delivered_s, 1),
        "sent": sent,
        "failed": sum(r["failed"] for r in reports),
        "retrying": sum(r["retrying"] for r in reports),
        "wechat_calls": sum(r["attempts"] for r in reports),
        "wechat_refused": counts["refused"],
        "sent_per_worker": [r["sent"] for r in reports],
        "openids_told_once": told.get(1, 0),
        "openids_told_twice_or_more": sum(n for k, n in told.items() if k > 1),
        "openids_not_told": told.get(0, 0),
        "unexpected_openids": len(set(per_openid) - set(expected)),
        "widget_notices": rows["widget_notices"],
        "rows": rows["statuses"],
        "rows_by_attempts": {str(k): v for k, v in sorted(rows["attempts"].items())},
        "outage_id": outage_id,
        "under_60_s": delivered_s < 60 and told.get(1, 0) == args.customers,
    }


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/bench/counts", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the fake WeChat server at {url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000, help="customers bound on WeChat")
    parser.add_argument("--widget", type=int, default=500, help="customers bound on the widget")
    parser.add_argument("--workers", type=int, default=1, help="`powerdesk outage notify` processes")
    parser.add_argument("--busy-share", type=float, default=0.05, help="pushes answered -1 (system busy)")
    parser.add_argument("--limit-share", type=float, default=0.01, help="pushes answered 45009 (frequency limit)")
    parser.add_argument(
        "--redis-url", default="", help="Redis for the shared WeChat token; needed by several workers (a spare db)"
    )
    parser.add_argument("--database-url", default="", help="a PostgreSQL server's database (a new one is made there)")
    parser.add_argument("--out", default="", help="default: results/outage_notices[_postgresql][_2workers].json")
    args = parser.parse_args()
    if args.customers < 1 or args.widget < 0 or args.workers < 1:
        parser.error("--customers and --workers must be at least 1, --widget at least 0")
    if args.workers > 1 and not args.redis_url:
        parser.error("several workers share the WeChat token through Redis, as api workers do: give --redis-url")
    result = run(args)
    name = "outage_notices" + ("" if result["database"] == "sqlite" else f"_{result['database']}")
    name += f"_{args.workers}workers.json" if args.workers > 1 else ".json"
    out = Path(args.out) if args.out else RESULTS / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
