"""The api's live forecast: the configured series, today's band, measured intervals and alerts.

Built lazily on first use (fitting takes seconds) in a worker thread, never at import or start-up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from starlette.concurrency import run_in_threadpool

from analytics.forecast.engine import ForecastEngine
from analytics.forecast.intraday import AlertBook
from analytics.forecast.live import LiveDay, Update
from analytics.forecast.readers import read_load, read_weather
from analytics.forecast.risk import load_risk_config
from core.settings import Settings


class ForecastService:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = asyncio.Lock()
        self._live: LiveDay | None = None
        self.alerts = AlertBook()

    def _build(self) -> LiveDay:
        s = self._settings
        load = read_load(s.forecast_load_file)
        weather = read_weather(s.forecast_weather_file, load.days)
        engine = ForecastEngine(load, weather)
        engine.prepare()
        return LiveDay.start(engine, s.forecast_capacity, load_risk_config(s.data_dir), self.alerts)

    async def live(self) -> LiveDay:
        async with self._lock:
            if self._live is None:
                self._live = await run_in_threadpool(self._build)
            return self._live

    async def post(self, stamps: list[dt.datetime], values: list[float]) -> tuple[Update, dict[str, Any]]:
        live = await self.live()
        async with self._lock:
            update = live.post(stamps, values)
            return update, live.risk.as_json()
