"""Tomorrow's load risk for the customer's area, and an invitation to demand response when it is high.

Questions about the risk itself (明天会不会限电, 有没有负荷预警…) get the day-ahead forecast of the area's
series (`FORECAST_LOAD_FILE`; a file with a series per area is matched on the customer's area); other
load-management questions (需求响应怎么参加…) are answered from the knowledge base.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import pickle
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events, PowerDeskAction, find_bound_customer, latest_text
from actions.knowledge import answer_from_knowledge
from actions.parsing import day_label
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


def _day(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return day_label(day, day)


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


Board = dict[str | None, "AreaRisk | PowerDeskError"]


def compute_board(settings: Settings, areas: list[str | None]) -> Board:
    """Every area's risk; one area's broken series does not take the others down."""
    fitted: dict[str, AreaRisk] = {}
    board: Board = {}
    for area in areas:
        try:
            board[area] = area_risk(settings, area, fitted)
        except PowerDeskError as exc:
            log.error("load risk of %s unavailable: %s", area or "the default series", exc)
            board[area] = exc
    return board


def lowest_priority() -> None:
    """This process at the lowest CPU priority: Linux's SCHED_IDLE (it runs when nothing else wants the CPU),
    else nice 19."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(AttributeError, OSError):
            os.nice(19)


def compute_board_apart(settings: Settings, areas: list[str | None]) -> Board:
    """`compute_board` in a process of its own (`python -m actions.load_risk`) at the lowest CPU priority. In a
    thread of the action server the fits (seconds of CPU, and the GIL for the Python between them) took the CPU
    from customers' turns: in an outage storm a turn waited for them. A process has its own GIL, and its priority
    keeps it off the CPU while turns want it. (A plain subprocess: the action server's Sanic worker is a daemonic
    process, which multiprocessing does not let have children.)"""
    done = subprocess.run(
        [sys.executable, "-m", "actions.load_risk"],
        input=pickle.dumps((settings, areas)),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace")[-2000:]
        raise PowerDeskError(f"the load risk process failed (exit {done.returncode}): {tail}")
    said = done.stderr.decode("utf-8", "replace").strip()
    if said:  # the areas' errors, as logged there
        log.warning("the load risk process said: %s", said[-2000:])
    board: Board = pickle.loads(done.stdout)  # noqa: S301 - our own child's answer
    return board


def _compute_from_stdin() -> None:
    """`python -m actions.load_risk`: (settings, areas) pickled on stdin, the board pickled on stdout."""
    lowest_priority()
    settings, areas = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - from the action server that started us
    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever the libraries print goes to stderr, not into the answer
    sys.stdout = sys.stderr
    with answer:
        answer.write(pickle.dumps(compute_board(settings, areas)))


class RiskBoard:
    """Tomorrow's risk of every known area, computed ahead in a background thread and read in a turn.

    `refresh` (at warm-up, just after every local midnight, and when a turn finds no board for
    today) computes the areas it knows; an area asked about for the first time joins the next
    refresh. A turn that finds today's board still being computed waits for it up to `wait_s` (in
    its worker thread; fitting takes about 5 s), then says the forecast is not available. An area
    whose computation failed keeps its error for the day, so it is not retried on every question."""

    def __init__(
        self,
        compute: Callable[[list[str | None]], Board],
        today: Callable[[], dt.date],
        wait_s: float = 10.0,
        seconds_to_next_day: Callable[[], float] | None = None,
    ) -> None:
        self._compute, self._today, self.wait_s = compute, today, wait_s
        self._seconds_to_next_day = seconds_to_next_day
        self._lock = threading.Lock()
        self._areas: set[str | None] = {None}
        self._day: dt.date | None = None
        self._board: Board = {}
        self._running: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    def refresh(self, areas: Iterable[str | None] = ()) -> threading.Thread:
        """Start computing today's board (unless it is being computed); returns the worker thread."""
        with self._lock:
            self._areas.update(areas)
            if self._running is not None and self._running.is_alive():
                return self._running
            wanted = sorted(self._areas, key=lambda a: a or "")
            self._running = threading.Thread(target=self._work, args=(self._today(), wanted), daemon=True)
            self._running.name = "load-risk"
            self._running.start()
            return self._running

    def _work(self, today: dt.date, areas: list[str | None]) -> None:
        try:
            board = self._compute(areas)
        except Exception as exc:  # a broken file must not kill the worker silently
            log.exception("load risk computation failed")
            error = exc if isinstance(exc, PowerDeskError) else PowerDeskError(str(exc))
            board = dict.fromkeys(areas, error)
        with self._lock:
            self._day, self._board = today, board
            if self._seconds_to_next_day is not None and self._timer is None:
                self._timer = threading.Timer(self._seconds_to_next_day(), self._next_day)
                self._timer.daemon = True
                self._timer.start()

    def _next_day(self) -> None:
        with self._lock:
            self._timer = None
        self.refresh()

    def _lookup(self, area: str | None, today: dt.date) -> AreaRisk | PowerDeskError | None:
        with self._lock:
            return self._board.get(area) if self._day == today else None

    def get(self, area: str | None) -> AreaRisk | None:
        """The area's risk for today, waiting up to `wait_s` for a computation under way; None when it is not
        ready by then. Raises the area's error when its computation failed today."""
        today = self._today()
        found = self._lookup(area, today)
        if found is None:
            self.refresh([area]).join(self.wait_s)
            found = self._lookup(area, today)
        if isinstance(found, PowerDeskError):
            raise found
        return found


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
            date=_day(risk.day),
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


if __name__ == "__main__":
    # the module under its own name, so that the board's classes pickle as actions.load_risk's, not __main__'s
    from actions.load_risk import _compute_from_stdin as compute_from_stdin

    compute_from_stdin()
