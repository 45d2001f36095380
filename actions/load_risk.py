"""Tomorrow's load risk for the customer's area, and an invitation to demand response when it is high.

Questions about the risk itself (明天会不会限电, 有没有负荷预警…) get the day-ahead forecast of the area's
series (`FORECAST_LOAD_FILE`; a file with a series per area is matched on the customer's area); other
load-management questions (需求响应怎么参加…) are answered from the knowledge base.
"""

from __future__ import annotations

import logging
import re
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


def area_risk(settings: Settings, area: str | None) -> AreaRisk:
    """Day-ahead risk of the configured series (the customer's area's, when the file holds one per area)."""
    from analytics.forecast.engine import ForecastEngine
    from analytics.forecast.readers import read_load, read_weather
    from analytics.forecast.risk import load_risk_config

    try:
        load = read_load(settings.forecast_load_file, series=area) if area else read_load(settings.forecast_load_file)
    except InvalidInput:
        load = read_load(settings.forecast_load_file)
    weather = read_weather(settings.forecast_weather_file, load.days)
    engine = ForecastEngine(load, weather)
    engine.prepare()
    forecast, risk = engine.risk(settings.forecast_capacity, load_risk_config(settings.data_dir))
    return AreaRisk(
        str(forecast.day),
        risk.level,
        risk.level_zh,
        risk.probability,
        risk.peak_p50,
        [d.as_json() for d in risk.drivers],
    )


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
