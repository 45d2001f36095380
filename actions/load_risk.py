"""Tomorrow's load risk for the customer's area, and an invitation to demand response when it is high.

Questions about the risk itself (明天会不会限电, 有没有负荷预警…) get the day-ahead forecast of the area's
series (`FORECAST_LOAD_FILE`; a file with a series per area is matched on the customer's area); other
load-management questions (需求响应怎么参加…) are answered from the knowledge base.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events, PowerDeskAction, find_bound_customer, latest_text
from actions.knowledge import answer_from_knowledge
from actions.services import Services
from core.errors import InvalidInput, PowerDeskError
from core.settings import Settings

log = logging.getLogger(__name__)
# a question about the coming days' supply situation, not about how a programme works
FORECAST_QUESTION = re.compile(
    r"明天|今天|后天|这几天|近期|最近|本周|下周|会不会|有没有|预警|紧张|缺口|高不高|要不要|限电吗|轮停"
)
HIGH_LEVELS = ("orange", "red")
INDUSTRIAL = ("industrial", "commercial")


@dataclass(frozen=True)
class AreaRisk:
    day: str
    level: str
    level_zh: str
    probability: float
    peak_p50: float
    drivers: list[dict[str, Any]]


def area_risk(settings: Settings, area: str | None, fitted: dict[str, AreaRisk] | None = None) -> AreaRisk:
    """Day-ahead risk of the configured series (the customer's area's, when the file holds one per area).

    Reads the load file and fits the forecasting model (seconds): run it ahead, never inside a turn
    (`RiskBoard`). `fitted` caches by series, so areas that share the file's only series fit once."""
    from analytics.forecast.engine import ForecastEngine
    from analytics.forecast.readers import read_load, read_weather
    from analytics.forecast.risk import load_risk_config

    try:
        load = read_load(settings.forecast_load_file, series=area) if area else read_load(settings.forecast_load_file)
    except InvalidInput:
        load = read_load(settings.forecast_load_file)
    if fitted is not None and load.series_id in fitted:
        return fitted[load.series_id]
    weather = read_weather(settings.forecast_weather_file, load.days)
    engine = ForecastEngine(load, weather)
    engine.prepare()
    forecast, risk = engine.risk(settings.forecast_capacity, load_risk_config(settings.data_dir))
    out = AreaRisk(
        str(forecast.day),
        risk.level,
        risk.level_zh,
        risk.probability,
        risk.peak_p50,
        [d.as_json() for d in risk.drivers],
    )
    if fitted is not None:
        fitted[load.series_id] = out
    return out


class RiskBoard:
    """Tomorrow's risk of every known area, computed ahead in a background thread and only read in a turn.

    `refresh` (at warm-up, and by the first read of a new day) computes the areas it knows; an area
    asked about for the first time joins the next refresh. A failed computation is logged and kept,
    so the turn says the forecast is unavailable instead of retrying on every question."""

    def __init__(self, compute: Callable[[list[str | None]], dict[str | None, AreaRisk]]) -> None:
        self._compute = compute
        self._lock = threading.Lock()
        self._areas: set[str | None] = {None}
        self._day: dt.date | None = None
        self._risks: dict[str | None, AreaRisk] = {}
        self._error: PowerDeskError | None = None
        self._running: threading.Thread | None = None

    def refresh(self, today: dt.date, areas: Iterable[str | None] = ()) -> threading.Thread:
        """Start computing `today`'s board (unless it is being computed); returns the worker thread."""
        with self._lock:
            self._areas.update(areas)
            if self._running is not None and self._running.is_alive():
                return self._running
            wanted = sorted(self._areas, key=lambda a: a or "")
            self._running = threading.Thread(target=self._work, args=(today, wanted), name="load-risk", daemon=True)
            self._running.start()
            return self._running

    def _work(self, today: dt.date, areas: list[str | None]) -> None:
        try:
            risks, error = self._compute(areas), None
        except PowerDeskError as exc:
            log.error("load risk unavailable: %s", exc)
            risks, error = {}, exc
        except Exception as exc:  # a broken file must not kill the worker silently
            log.exception("load risk computation failed")
            risks, error = {}, PowerDeskError(str(exc))
        with self._lock:
            self._day, self._risks, self._error = today, risks, error

    def get(self, area: str | None, today: dt.date) -> AreaRisk | None:
        """The area's risk computed for `today`; None while it is being prepared (a refresh is started).

        Raises the computation's error when today's board could not be computed."""
        with self._lock:
            current = self._day == today
            if current and area in self._risks:
                return self._risks[area]
            if current and self._error is not None:
                raise self._error
        self.refresh(today, [area])
        return None


class ActionLoadRisk(PowerDeskAction):
    def name(self) -> str:
        return "action_load_risk"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        if not FORECAST_QUESTION.search(latest_text(tracker)):
            events = answer_from_knowledge(services, dispatcher, tracker)
            if events is not None:
                return events
            dispatcher.utter_message(response="utter_load_risk")
            return []
        customer = None
        if services.sessions is not None:
            with services.sessions() as session:
                customer = find_bound_customer(session, tracker)
        area = customer.area if customer is not None else None
        try:
            risk = services.load_risk(area)
        except PowerDeskError as exc:
            log.error("load risk unavailable: %s", exc)
            risk = None
        if risk is None:  # not computed yet (it is now being prepared) or failed
            dispatcher.utter_message(response="utter_load_risk_unavailable")
            return []
        main = top_driver(risk.drivers)
        dispatcher.utter_message(
            response="utter_load_risk_forecast",
            date=risk.day,
            area=area or "本地区",
            level_zh=risk.level_zh,
            probability=f"{risk.probability:.0%}",
            driver=main,
            json_message={
                "load_risk": {"date": risk.day, "level": risk.level, "probability": round(risk.probability, 4)}
            },
        )
        if risk.level in HIGH_LEVELS and (customer is None or customer.customer_category in INDUSTRIAL):
            dispatcher.utter_message(response="utter_demand_response_invite")
        return []


def top_driver(drivers: list[dict[str, Any]]) -> str:
    """The Chinese label of the driver with the largest effect on the peak."""
    with_effect = [d for d in drivers if d.get("effect_pct") is not None]
    if not with_effect:
        return "负荷趋势"
    best = max(with_effect, key=lambda d: abs(float(d["effect_pct"])))
    return str(best["zh"]).split("（")[0]
