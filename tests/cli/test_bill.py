"""`powerdesk bill compute FILE|-`: the contract's output, per-request errors, malformed and large input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from core.settings import REPO_ROOT

EXAMPLE = {
    "id": "a",
    "category": "residential",
    "period": {"start": "2024-05-01", "end": "2024-05-31"},
    "year_to_date_kwh": 2600,
    "energy_kwh": {"total": 300},
}


def bill(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "bill", *args],
        cwd=REPO_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_compute_from_stdin_and_file(tmp_path: Path) -> None:
    done = bill("compute", "-", stdin=json.dumps([EXAMPLE, {"id": "x", "category": "moon"}]))
    assert done.returncode == 0, done.stderr
    first, second = json.loads(done.stdout)
    assert first["total"] == 168.40 and [x["amount"] for x in first["lines"]] == [86.08, 82.32]
    assert second["id"] == "x" and "unknown category 'moon'" in second["error"]
    assert "1 bills computed, 1 refused" in done.stderr
    path = tmp_path / "bills.json"
    path.write_text(json.dumps([EXAMPLE]), encoding="utf-8")
    assert json.loads(bill("compute", str(path)).stdout)[0]["total"] == 168.40


def test_a_missing_register_is_an_error_naming_it_not_a_zero() -> None:
    tou = {**EXAMPLE, "id": "tou", "category": "residential_tou", "energy_kwh": {"peak": 150}}
    done = bill("compute", "-", stdin=json.dumps([tou, {**tou, "id": "ok", "energy_kwh": {"peak": 150, "valley": 0}}]))
    missing, given = json.loads(done.stdout)
    assert missing == {
        "id": "tou",
        "error": "residential_tou needs energy_kwh.valley for this period (give 0 if the register read nothing)",
    }
    assert given["total"] > 0


def test_malformed_input_is_refused_with_where_it_broke(tmp_path: Path) -> None:
    broken = bill("compute", "-", stdin='[{"id": "a",')
    assert broken.returncode == 2 and "not valid JSON" in broken.stderr and "line 1" in broken.stderr
    not_list = bill("compute", "-", stdin=json.dumps(EXAMPLE))
    assert not_list.returncode == 2 and "expected a JSON list" in not_list.stderr
    missing = bill("compute", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert bill("compute", str(binary)).returncode == 2


def test_large_input_with_bad_items_mixed_in() -> None:
    """About 20 MB: 60,000 requests, one in ten bad in a different way; every good one is computed."""
    bad = [
        {"id": "neg", **{k: v for k, v in EXAMPLE.items() if k != "id"}, "energy_kwh": {"total": -1}},
        {"id": "type", **{k: v for k, v in EXAMPLE.items() if k != "id"}, "year_to_date_kwh": "many"},
        "not an object",
        {
            "id": "nosched",
            **{k: v for k, v in EXAMPLE.items() if k != "id"},
            "period": {"start": "1990-01-01", "end": "1990-01-31"},
        },
    ]
    requests = []
    for i in range(60000):
        requests.append(bad[i % len(bad)] if i % 10 == 9 else {**EXAMPLE, "id": str(i), "year_to_date_kwh": i % 6000})
    text = json.dumps(requests) + " " * (20_000_000 - len(json.dumps(requests)))
    done = bill("compute", "-", stdin=text)
    assert done.returncode == 0, done.stderr[-500:]
    results = json.loads(done.stdout)
    assert len(results) == 60000
    assert sum("error" in r for r in results) == 6000
    assert all("total" in r for i, r in enumerate(results) if i % 10 != 9)
