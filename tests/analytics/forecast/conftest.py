"""Fixtures: the area1 sample shipped in data/forecast, and small generated files in every layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.forecast.contract import LoadData, WeatherData
from analytics.forecast.readers import read_load, read_weather
from core.settings import REPO_ROOT

SAMPLE_LOAD = REPO_ROOT / "data" / "forecast" / "sample_load.csv"
SAMPLE_WEATHER = REPO_ROOT / "data" / "forecast" / "sample_weather.csv"
FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path("/work/shared/data/load")


@pytest.fixture(scope="session")
def sample() -> tuple[LoadData, WeatherData]:
    load = read_load(SAMPLE_LOAD)
    return load, read_weather(SAMPLE_WEATHER, load.days)


def synthetic_long(days: int = 40, step: int = 60, start: str = "2014-03-03", seed: int = 1) -> pd.DataFrame:
    """A plausible load: daily shape, weekly rhythm, noise; long layout (timestamp, load)."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(start, periods=days * 1440 // step, freq=f"{step}min")
    hour = stamps.hour + stamps.minute / 60
    shape = 1 + 0.3 * np.sin((hour - 6) / 24 * 2 * np.pi)
    weekly = np.where(stamps.dayofweek >= 5, 0.8, 1.0)
    load = 1000 * shape * weekly * (1 + rng.normal(0, 0.01, len(stamps)))
    return pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "load": load.round(2)})


def write(tmp_path: Path, name: str, frame: pd.DataFrame) -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path
