"""`powerdesk anomaly inject | score | eval | cv` on a CSV, with the output shapes of issue 10."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from core.settings import REPO_ROOT

SAMPLE = REPO_ROOT / "data" / "anomaly" / "area1_sample.csv"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("anomaly")
    result = CliRunner().invoke(
        app, ["anomaly", "inject", "--region", str(SAMPLE), "--out", str(out), "--customers", "150", "--days", "150"]
    )
    assert result.exit_code == 0, result.output
    return out


def test_score_json_shape(dev: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["anomaly", "score", "--consumption", str(dev / "consumption.csv"), "--meta", str(dev / "meta.csv"), "--json"],
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert len(records) == 150 and {"customer_id", "score", "kind", "reasons", "risk"} <= set(records[0])
    assert records == sorted(records, key=lambda r: -r["score"])


def test_eval_and_cv(dev: Path) -> None:
    args = ["--consumption", str(dev / "consumption.csv"), "--labels", str(dev / "labels.csv")]
    result = CliRunner().invoke(app, ["anomaly", "eval", *args, "--score", "pattern"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert {"auc", "map_at_100", "precision_at_100"} <= set(metrics) and metrics["auc"] > 0.6
    assert "scale" in metrics["auc_by_type"]
    result = CliRunner().invoke(app, ["anomaly", "cv", *args, "--folds", "3", "--json"])
    assert result.exit_code == 0, result.output
    cv = json.loads(result.stdout)
    assert {"auc", "map_at_100"} <= set(cv) and 0.5 < cv["auc"] <= 1


def test_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["anomaly", "score", "--consumption", str(bad)])
    assert result.exit_code != 0 and "customer_id,date,kwh" in str(result.exception)


def _powerdesk(var: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VAR_DIR": str(var), "DATABASE_URL": "", "POWERDESK_ENV": "test"}
    return subprocess.run(
        [sys.executable, "-m", "cli", "anomaly", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_train_then_score_with_the_trained_model(dev: Path, tmp_path: Path) -> None:
    data = ["--consumption", str(dev / "consumption.csv")]
    trained = _powerdesk(tmp_path, "train", *data, "--labels", str(dev / "labels.csv"), "--source", "injected")
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout)
    assert summary["path"] == str(tmp_path / "models" / "theft.joblib") and summary["customers"] == 150
    assert summary["from_findings"] == 0 and summary["positives"] > 10
    scored = _powerdesk(tmp_path, "score", *data, "--json", "--rank", "theft_probability", "--top", "10")
    assert scored.returncode == 0, scored.stderr
    records = json.loads(scored.stdout)
    probs = [r["theft_probability"] for r in records]
    assert len(records) == 10 and probs == sorted(probs, reverse=True) and all(r["theft_reasons"] for r in records)
    assert "theft model: " + str(tmp_path / "models" / "theft.joblib") in scored.stderr.replace("\n", "")


def test_inspect_and_findings_on_the_database(tmp_path: Path) -> None:
    unknown = _powerdesk(tmp_path, "inspect", "0000000000", "--finding", "theft", "--by", "张三")
    assert unknown.returncode != 0 and "户号" in unknown.stderr + unknown.stdout
    bad = _powerdesk(tmp_path, "inspect", "0000000000", "--finding", "maybe", "--by", "张三")
    assert bad.returncode != 0 and "theft" in bad.stderr + bad.stdout
    listed = _powerdesk(tmp_path, "findings", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    untrained = _powerdesk(tmp_path, "train")
    assert untrained.returncode != 0 and "demo seed" in untrained.stderr + untrained.stdout
