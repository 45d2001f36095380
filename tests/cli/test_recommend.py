"""`powerdesk segments build`, `recommend plan|advice|backtest`, `campaign create|send|evaluate` on a seeded database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.db import make_engine, make_session_factory
from core.migrate import upgrade
from core.settings import REPO_ROOT
from demo.config import load_demo_config
from ops.demo_seed import seed_demo
from tests.conftest import DEMO_TODAY


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    var = tmp_path_factory.mktemp("cli-recommend")
    url = f"sqlite:///{var / 'c.db'}"
    upgrade(url)
    engine = make_engine(url)
    seed_demo(
        make_session_factory(engine),
        load_demo_config(REPO_ROOT / "data", today=DEMO_TODAY, customers=120, seed=5),
        batch=60,
    )
    engine.dispose()
    return {**os.environ, "DATABASE_URL": url, "VAR_DIR": str(var), "POWERDESK_ENV": "test"}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_demo_accounts_one_per_line(env: dict[str, str]) -> None:
    done = cli(env, "demo", "accounts", "--limit", "3", "--category", "residential")
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and len(lines) == 3 and all(x.isdigit() and len(x) == 10 for x in lines)


def test_plan_json_is_exactly_the_contract(env: dict[str, str]) -> None:
    account = cli(env, "demo", "accounts", "--limit", "1", "--category", "industrial_demand").stdout.strip()
    done = cli(env, "recommend", "plan", account, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert list(data) == ["current", "options", "recommended", "saving"]
    assert data["current"].startswith("industrial_demand:") and len(data["options"]) == 4
    costs = {o["plan"]: o["annual_cost"] for o in data["options"]}
    if data["recommended"] != data["current"]:
        assert data["saving"] == round(costs[data["current"]] - costs[data["recommended"]], 2) > 0
    text = cli(env, "recommend", "plan", account).stdout
    assert "两部制" in text and f"{costs[data['current']]:,.2f}" in text


def test_bad_accounts_are_refused_with_what_to_do(env: dict[str, str]) -> None:
    for bad in ("123", "0000000000", "'; DROP TABLE customers; --", "１２３４５６７８９０", "9" * 5000):
        done = cli(env, "recommend", "plan", bad, "--json")
        message = " ".join(done.stderr.split())
        assert done.returncode == 2 and "powerdesk demo accounts" in message and not done.stdout
        assert len(message) < 300


def test_segments_advice_backtest_and_a_campaign(env: dict[str, str], tmp_path: Path) -> None:
    built = cli(env, "segments", "build", "--json")
    assert built.returncode == 0, built.stderr
    segments = json.loads(built.stdout)["segments"]
    assert len(segments) >= 3 and all(Path(s["chart"]).stat().st_size > 1000 for s in segments)
    assert any(s["name"].endswith("居民") for s in segments)
    account = cli(env, "demo", "accounts", "--limit", "1", "--category", "commercial_tou").stdout.strip()
    advice = json.loads(cli(env, "recommend", "advice", account, "--json").stdout)
    assert any(a["kind"] == "peak_shift" and a["saving"] > 0 for a in advice)
    backtest = json.loads(cli(env, "recommend", "backtest", "--json").stdout)
    assert backtest["test"] == ["2026-08-01", "2026-10-01"] and backtest["raised"] <= backtest["recommended"]
    # about 40 of the 120 demo customers have 15-minute meters, and not all qualify: ask for fewer
    created = cli(env, "campaign", "create", "--day", "2026-08-12", "--size", "30")
    assert created.returncode == 0, created.stderr
    campaign = json.loads(created.stdout)
    assert campaign["treatment"] + campaign["control"] == 30
    sent = json.loads(cli(env, "campaign", "send", str(campaign["campaign_id"])).stdout)
    assert sent["sent"] == campaign["treatment"]
    again = json.loads(cli(env, "campaign", "send", str(campaign["campaign_id"])).stdout)
    assert again["sent"] == 0  # nobody is messaged twice
    result = json.loads(cli(env, "campaign", "evaluate", str(campaign["campaign_id"])).stdout)
    assert (
        result["treated"] + result["controls"] == 30 and result["ci_low"] <= result["effect_share"] <= result["ci_high"]
    )
    for bad in (
        ["--day", "tomorrow"],
        ["--day", "2030-01-01"],
        ["--day", "2026-08-12", "--window", "9-11"],
        ["--day", "2026-08-12", "--risk-level", "apocalyptic"],
    ):
        done = cli(env, "campaign", "create", *bad)
        assert done.returncode == 2 and "error" in done.stderr and "Traceback" not in done.stderr
    assert cli(env, "campaign", "evaluate", "999").returncode == 2
