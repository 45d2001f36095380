"""`powerdesk outage …` and `powerdesk ticket …` in a subprocess (their own settings, a fresh SQLite database)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from core.db import make_engine, make_session_factory, transaction
from core.migrate import upgrade
from core.settings import REPO_ROOT
from services.tickets import create_ticket
from tests.outage_helpers import add_customers

DAY = (dt.date.today() + dt.timedelta(days=2)).isoformat()


def powerdesk(var: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VAR_DIR": str(var), "DATABASE_URL": "", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _database(var: Path) -> str:
    url = f"sqlite:///{var / 'powerdesk.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    add_customers(sessions, 3)
    with transaction(sessions) as session:
        ticket_no = create_ticket(session, "outage", description="停电了").ticket_no
    engine.dispose()
    return ticket_no


def test_outage_add_update_close_list(tmp_path: Path) -> None:
    _database(tmp_path)
    times = ["--start", f"{DAY}T08:00", "--end", f"{DAY}T17:00", "--reason", "10kV线路检修"]
    added = powerdesk(tmp_path, "outage", "add", "--kind", "planned", "--feeder", "10kV文三路1号线", *times, "--json")
    assert added.returncode == 0, added.stderr
    (event,) = json.loads(added.stdout)
    assert event["status"] == "announced" and event["affected"] == 3 and event["source"] == "cli"
    accounts = powerdesk(tmp_path, "outage", "add", "--kind", "fault", "--accounts", "3301000000,3301000002", *times)
    assert accounts.returncode == 0 and "2 customers" in accounts.stdout
    listed = json.loads(powerdesk(tmp_path, "outage", "list", "--json").stdout)
    assert [e["id"] for e in listed] == [2, 1]
    assert powerdesk(tmp_path, "outage", "list", "--active").stdout == ""
    updated = powerdesk(tmp_path, "outage", "update", "2", "--end", f"{DAY}T20:00")
    assert updated.returncode == 0 and f"{DAY}T20:00" in updated.stdout
    moved = powerdesk(tmp_path, "outage", "update", "1", "--start", f"{DAY}T09:00", "--json")
    assert moved.returncode == 0 and json.loads(moved.stdout)[0]["start"] == f"{DAY}T09:00"
    assert powerdesk(tmp_path, "outage", "close", "2").returncode == 0
    shown = json.loads(powerdesk(tmp_path, "outage", "show", "2", "--json").stdout)
    assert [h["action"] for h in shown["history"]] == ["created", "updated", "closed"]
    assert shown["history"][0]["by"].startswith("cli:")
    assert powerdesk(tmp_path, "outage", "scopes", "feeder").stdout.split() == ["10kV文三路1号线"]


def test_outage_errors_are_printed_cleanly(tmp_path: Path) -> None:
    _database(tmp_path)
    times = ["--start", f"{DAY}T08:00", "--end", f"{DAY}T17:00", "--reason", "检修"]
    for args, message in (
        (("--area", "月球区", *times), "unknown area '月球区'"),
        (
            ("--feeder", "10kV文三路1号线", "--start", f"{DAY}T08:00", "--end", f"{DAY}T07:00", "--reason", "x"),
            "is not after",
        ),
        (("--feeder", "x", "--area", "y", *times), "exactly one of"),
        (
            ("--feeder", "10kV文三路1号线", "--start", "tomorrow", "--end", f"{DAY}T07:00", "--reason", "x"),
            "--start must be",
        ),
        (("--accounts", "3301000000,123", *times), "not customers: 123"),
    ):
        refused = powerdesk(tmp_path, "outage", "add", "--kind", "planned", *args)
        assert refused.returncode == 2 and message in refused.stderr and "Traceback" not in refused.stderr, (
            refused.stderr
        )
    assert (
        powerdesk(tmp_path, "outage", "add", "--kind", "planned", "--feeder", "10kV文三路1号线", *times).returncode == 0
    )
    assert powerdesk(tmp_path, "outage", "close", "1").returncode == 0
    again = powerdesk(tmp_path, "outage", "close", "1")
    assert again.returncode == 2 and "was closed at" in again.stderr
    missing = powerdesk(tmp_path, "outage", "close", "99")
    assert missing.returncode == 2 and "no outage event 99" in missing.stderr


def test_ticket_status_and_show(tmp_path: Path) -> None:
    ticket_no = _database(tmp_path)
    moved = powerdesk(tmp_path, "ticket", "status", ticket_no, "--to", "派单", "--note", "抢修一班")
    assert moved.returncode == 0, moved.stderr
    assert "dispatched 派单" in moved.stdout and "accepted → dispatched" in moved.stdout and "抢修一班" in moved.stdout
    shown = json.loads(powerdesk(tmp_path, "ticket", "show", ticket_no, "--json").stdout)
    assert shown["status"] == "dispatched" and [s["to_status"] for s in shown["history"]] == ["accepted", "dispatched"]
    back = powerdesk(tmp_path, "ticket", "status", ticket_no, "--to", "受理")
    assert back.returncode == 2 and "cannot go to accepted" in back.stderr
    unknown = powerdesk(tmp_path, "ticket", "status", ticket_no, "--to", "完成")
    assert unknown.returncode == 2 and "unknown ticket state" in unknown.stderr
    assert powerdesk(tmp_path, "ticket", "show", "GZ0").returncode == 2


def test_outage_notify_delivers_and_notices_counts(tmp_path: Path) -> None:
    from sqlalchemy import select

    from core.models import Customer
    from tests.api.fake_wechat import APP_ID, APP_SECRET, FakeWeChatState, fake_wechat_app, serve
    from tests.notice_helpers import bind

    _database(tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path / 'powerdesk.db'}")
    sessions = make_session_factory(engine)
    with sessions() as session:
        ids = list(session.scalars(select(Customer.id).order_by(Customer.account_no)))
    bind(sessions, [(ids[0], "widget", "v_cli"), (ids[1], "wechat", "o_cli")])
    engine.dispose()
    times = ["--start", f"{DAY}T08:00", "--end", f"{DAY}T17:00", "--reason", "10kV线路检修"]
    assert (
        powerdesk(tmp_path, "outage", "add", "--kind", "planned", "--feeder", "10kV文三路1号线", *times).returncode == 0
    )
    without = powerdesk(tmp_path, "outage", "notify", "--once", "--json")
    assert without.returncode == 0, without.stderr
    assert json.loads(without.stdout) | {"seconds": 0} == {
        "sent": 1,
        "failed": 0,
        "retrying": 0,
        "cancelled": 0,
        "attempts": 0,
        "waiting_for_wechat": 1,
        "seconds": 0,
    }
    assert "1 WeChat notices wait: set WECHAT_APP_ID" in without.stderr
    state = FakeWeChatState()
    with serve(fake_wechat_app(state)) as url:
        env = {"WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": APP_SECRET, "WECHAT_API_BASE": url}
        sent = powerdesk(tmp_path, "outage", "notify", "--once", env=env)
    assert sent.returncode == 0 and sent.stdout.startswith("1 sent, 0 failed"), sent.stdout + sent.stderr
    assert [m["touser"] for m in state.sent] == ["o_cli"]
    counts = json.loads(powerdesk(tmp_path, "outage", "notices", "1", "--json").stdout)
    assert counts["by_status"]["announced"]["sent"] == 2 and counts["by_channel"] == {"wechat": 1, "widget": 1}
    assert counts["by_via"] == {"message": 1, "widget": 1}
    text = powerdesk(tmp_path, "outage", "notices", "1").stdout
    assert "announced\tpending 0\tsending 0\tsent 2" in text and "sent via\tmessage 1\twidget 1" in text


def test_outage_notify_and_notices_refuse_bad_input(tmp_path: Path) -> None:
    _database(tmp_path)
    for args, message in (
        (("notify", "--once", "--rate", "0"), "--rate"),
        (("notify", "--once", "--concurrency", "500"), "--concurrency"),
        (("notices", "99"), "no outage event 99"),
        (("notices", "seven"), "Invalid value for 'event_id'"),
    ):
        refused = powerdesk(tmp_path, "outage", *args)
        assert refused.returncode == 2 and message in refused.stderr and "Traceback" not in refused.stderr, (
            args,
            refused.stderr,
        )
