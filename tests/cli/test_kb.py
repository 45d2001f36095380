"""`powerdesk kb build | search | eval` with the real e5 embedder (built at set-up under var/models)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import REPO_ROOT, Settings
from knowledge.service import embedder_path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    model = embedder_path(Settings(_env_file=None))  # var/models, built by `make setup` (or now)
    var = tmp_path_factory.mktemp("kbvar")
    return {**os.environ, "VAR_DIR": str(var), "EMBEDDING_MODEL": str(model), "HF_HUB_OFFLINE": "1"}


def kb(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "kb", *args],
        cwd=REPO_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_build_search_eval_and_repair(env: dict[str, str]) -> None:
    built = kb(env, "build")
    assert built.returncode == 0, built.stderr[-2000:]
    assert "indexed" in built.stderr and "top1" in built.stderr

    hit = json.loads(kb(env, "search", "峰谷电怎么申请开通", "--json", "--k", "3").stdout)
    assert hit["answerable"] is True and hit["hits"][0]["topic"] == "tariff.tou_signup" and len(hit["hits"]) == 3
    miss = json.loads(kb(env, "search", "明天的股票会涨吗", "--json").stdout)
    assert miss["answerable"] is False

    lines = kb(env, "search", "--batch", "-", "--json", stdin="电费怎么交\n\n😀😀\n" + "电" * 5000 + "\n").stdout
    rows = [json.loads(line) for line in lines.splitlines()]
    assert len(rows) == 4 and rows[0]["answerable"] and "empty" in rows[1]["error"] and "limit" in rows[3]["error"]

    report = json.loads(kb(env, "eval", str(REPO_ROOT / "data" / "eval" / "kb_dev.yml")).stdout)
    assert report["in_scope_answered"] >= 0.95 and report["top3"] >= 0.9

    index = Path(env["VAR_DIR"]) / "knowledge" / "vectors.faiss"
    index.write_bytes(b"corrupt")
    broken = kb(env, "search", "电费怎么交", "--json")
    assert broken.returncode == 2 and "kb build" in broken.stderr
    assert kb(env, "build").returncode == 0
    assert json.loads(kb(env, "search", "电费怎么交", "--json").stdout)["answerable"]
