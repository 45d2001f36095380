"""Derive the demo generator's calibration from real regional load (run by hand, output committed).

    .venv/bin/python scripts/calibrate_demo.py ../shared/data/load > data/demo/calibration.yml

Source: ../shared/data/load/area1_load.csv and area1_weather.csv (2016 电工杯 contest data, one
Chinese region, 15-minute load 2012-2015). The generator itself never reads ../shared.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from demo.load import SEASON_OF_MONTH  # noqa: E402 - the generator's own seasons


def main(folder: Path) -> None:
    load = pd.read_csv(folder / "area1_load.csv")
    weather = pd.read_csv(folder / "area1_weather.csv")
    weather.columns = ["YMD", "tmax", "tmin", "tmean", "humidity", "rain", "daytype"]
    df = load.merge(weather, on="YMD").dropna()
    values = df.filter(like="T").drop(columns=["tmax", "tmin", "tmean"], errors="ignore").to_numpy(float)
    dates = pd.to_datetime(df["YMD"].astype(str))
    daily = values.mean(axis=1)
    # In this file −1 marks working days, 0 weekends and 1 public holidays (checked against the
    # weekday of every date: 731 of the −1 days fall on Monday–Friday), not what its header suggests.
    workday = df["daytype"].to_numpy() == -1
    # hourly shape (24 values, mean 1) per season and day type
    hourly = values.reshape(len(values), 24, 4).mean(axis=2)
    shapes: dict[str, dict[str, list[float]]] = {}
    for season in ("winter", "spring", "summer", "autumn"):
        in_season = dates.dt.month.map(SEASON_OF_MONTH).to_numpy() == season
        shapes[season] = {}
        for name, mask in (("workday", workday), ("restday", ~workday)):
            sel = hourly[in_season & mask]
            shape = (sel / sel.mean(axis=1, keepdims=True)).mean(axis=0)
            shapes[season][name] = [round(float(x), 4) for x in shape]
    # temperature response: daily mean load relative to its 15-25 °C level, piecewise linear
    t = df["tmean"].to_numpy(float)
    trend = pd.Series(daily).rolling(365, center=True, min_periods=90).median().to_numpy()
    rel = daily / trend
    base = np.median(rel[(t >= 15) & (t <= 22) & workday])
    rel = rel / base
    cool = np.polyfit(t[(t > 24) & workday] - 24, rel[(t > 24) & workday] - 1, 1)[0]
    heat = np.polyfit(14 - t[(t < 14) & workday], rel[(t < 14) & workday] - 1, 1)[0]
    rest_ratio = float(np.median(rel[df["daytype"].to_numpy() == 0]) / np.median(rel[workday]))
    holiday_ratio = float(np.median(rel[df["daytype"].to_numpy() == 1]) / np.median(rel[workday]))
    monthly = weather.assign(month=pd.to_datetime(weather["YMD"].astype(str)).dt.month).groupby("month")["tmean"]
    out = {
        "source": "../shared/data/load area1 (2016 电工杯 contest data), derived by scripts/calibrate_demo.py",
        "temperature": {
            "cooling_base_c": 24.0,
            "cooling_slope_per_c": round(float(cool), 4),
            "heating_base_c": 14.0,
            "heating_slope_per_c": round(float(heat), 4),
        },
        "restday_ratio": round(rest_ratio, 4),
        "holiday_ratio": round(holiday_ratio, 4),
        "climate_monthly_mean_c": [round(float(x), 2) for x in monthly.mean()],
        "climate_monthly_std_c": [round(float(x), 2) for x in monthly.std()],
        "hourly_shape": shapes,
    }
    yaml.safe_dump(out, sys.stdout, allow_unicode=True, sort_keys=False, default_flow_style=None, width=200)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
