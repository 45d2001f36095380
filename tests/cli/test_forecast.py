from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cli.main import app
from core.settings import REPO_ROOT

LOAD = str(REPO_ROOT / "data" / "forecast" / "sample_load.csv")
WEATHER = str(REPO_ROOT / "data" / "forecast" / "sample_weather.csv")
runner = CliRunner()


def test_backtest_json_shape() -> None:
    result = runner.invoke(
        app,
        [
            "forecast",
            "backtest",
            "--load",
            LOAD,
            "--weather",
            WEATHER,
            "--from",
            "2014-08-18",
            "--to",
            "2014-08-31",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(out["models"]) == {"naive_d1", "naive_d7", "lgbm_reference", "lgbm_once", "lgbm"}
    assert {"mape", "coverage"} <= set(out["models"]["lgbm"]) and out["best"] in out["models"]
    assert out["days"] == 14 and "actual weather" in out["note"]


def test_backtest_table_names_every_model() -> None:
    result = runner.invoke(
        app, ["forecast", "backtest", "--load", LOAD, "--from", "2014-08-25", "--models", "naive_d1,naive_d7"]
    )
    assert result.exit_code == 0, result.output
    assert "naive_d1" in result.stdout and "naive_d7" in result.stdout and "MAPE" in result.stdout


def test_risk_json_with_a_heat_scenario() -> None:
    args = [
        "forecast",
        "risk",
        "--load",
        LOAD,
        "--weather",
        WEATHER,
        "--capacity",
        "11000",
        "--weather-delta",
        "+5",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["date"] == "2014-09-01" and out["level"] in ("blue", "yellow", "orange", "red")
    assert out["baseline"]["probability"] <= out["probability"]
    assert [d["key"] for d in out["drivers"]][-1] == "weather_scenario"


def test_intraday_from_a_file(tmp_path: Path) -> None:
    actuals = tmp_path / "today.csv"
    stamps = pd.date_range("2014-09-01", periods=20, freq="15min")
    pd.DataFrame({"timestamp": stamps, "load": 9000.0}).to_csv(actuals, index=False)
    result = runner.invoke(
        app,
        [
            "forecast",
            "intraday",
            "--load",
            LOAD,
            "--weather",
            WEATHER,
            "--actuals",
            str(actuals),
            "--capacity",
            "11000",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["intervals"][0]["actual"] == 9000.0 and out["seconds"] < 1.0


def test_bad_input_exits_with_a_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["forecast", "backtest", "--load", str(bad)])
    assert result.exit_code != 0 and "Expected long format" in str(result.exception)
    result = runner.invoke(app, ["forecast", "risk", "--load", LOAD, "--capacity", "10"])
    assert result.exit_code != 0 and "--weather is required" in str(result.exception)
    result = runner.invoke(app, ["forecast", "check", "--load", LOAD, "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["step_minutes"] == 15
