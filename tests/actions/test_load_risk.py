"""The load_risk intent: tomorrow's risk for the area, a demand-response invitation when it is high."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.load_risk import (
    ActionLoadRisk,
    AreaRisk,
    RiskBoard,
    area_risk,
    compute_board_apart,
    lowest_priority,
    top_driver,
)
from actions.services import Services
from core.errors import InvalidInput, PowerDeskError
from core.settings import Settings

DRIVERS = [
    {
        "key": "temperature_anomaly",
        "zh": "气温距平（与近14天平均最高气温相比）",
        "value": 4.0,
        "unit": "°C",
        "effect_pct": 3.5,
    },
    {"key": "holiday", "zh": "节假日与调休", "value": 0, "unit": "day_type", "effect_pct": 0.0},
]


class StubServices(Services):
    def __init__(self, risk: AreaRisk | Exception, retriever: Any = None) -> None:
        super().__init__(Settings(_env_file=None), sessions=None)  # type: ignore[arg-type]
        self.risk = risk
        self._retriever_failed = retriever is None
        self.asked: list[str | None] = []

    def load_risk(self, area: str | None) -> Any:
        self.asked.append(area)
        if isinstance(self.risk, Exception):
            raise self.risk
        return self.risk


def run(services: Services, text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tracker = Tracker(
        "widget:x",
        {},
        {"text": text, "intent": {"name": "load_risk"}, "entities": []},
        [],
        False,
        None,
        {},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    events = ActionLoadRisk().act(services, dispatcher, tracker, {})
    return dispatcher.messages, events


def risk(level: str, probability: float) -> AreaRisk:
    return AreaRisk("2014-09-01", level, f"{level}级", probability, 11800.0, DRIVERS)


def test_high_risk_tomorrow_invites_to_demand_response() -> None:
    messages, _ = run(StubServices(risk("red", 0.82)), "明天会不会限电")
    assert [m["response"] for m in messages] == ["utter_load_risk_forecast", "utter_demand_response_invite"]
    first = messages[0]
    assert first["probability"] == "82%" and first["driver"] == "气温距平" and first["area"] == "本地区"
    assert first["custom"]["load_risk"]["level"] == "red"


def test_low_risk_gets_no_invitation() -> None:
    messages, _ = run(StubServices(risk("blue", 0.01)), "今天电网负荷高不高")
    assert [m["response"] for m in messages] == ["utter_load_risk_forecast"]


def test_programme_questions_go_to_the_knowledge_answer() -> None:
    services = StubServices(risk("red", 0.9))
    messages, _ = run(services, "需求响应补贴多少钱")
    assert [m["response"] for m in messages] == ["utter_load_risk"] and services.asked == []


def test_forecast_failure_is_an_apology_not_a_crash() -> None:
    messages, _ = run(StubServices(InvalidInput("no load file")), "明天会不会限电")
    assert [m["response"] for m in messages] == ["utter_load_risk_unavailable"]


def test_top_driver_is_the_largest_effect() -> None:
    assert top_driver(DRIVERS) == "气温距平" and top_driver([]) == "负荷趋势"


def test_area_risk_on_the_shipped_sample_falls_back_to_the_only_series() -> None:
    out = area_risk(Settings(_env_file=None), "西湖区")
    assert out.day == "2014-09-01" and out.level in ("blue", "yellow", "orange", "red") and 0 <= out.probability <= 1


@pytest.mark.parametrize("text", ["明天用电高峰要不要减产", "最近有限电通知吗", "下周会不会有序用电"])
def test_forecast_questions_are_recognised(text: str) -> None:
    messages, _ = run(StubServices(risk("yellow", 0.1)), text)
    assert messages[0]["response"] == "utter_load_risk_forecast"


def test_risk_board_computes_ahead_and_a_turn_only_reads() -> None:
    calls: list[list[str | None]] = []

    def compute(areas: list[str | None]) -> dict[str | None, AreaRisk | PowerDeskError]:
        calls.append(areas)
        return {a: risk("yellow", 0.2) for a in areas}

    day = [dt.date(2026, 12, 6)]
    board = RiskBoard(compute, lambda: day[0])
    board.refresh(["西湖区"]).join()
    assert calls == [[None, "西湖区"]]
    assert board.get("西湖区") == risk("yellow", 0.2) and len(calls) == 1  # read, not computed
    assert board.get("上城区") is not None and calls[-1] == [None, "上城区", "西湖区"]  # a new area joins a refresh
    day[0] += dt.timedelta(days=1)  # a new day: yesterday's "tomorrow" is stale, the board is computed again
    assert board.get("西湖区") is not None and len(calls) == 3


def test_a_turn_waits_only_so_long_for_a_board_being_computed() -> None:
    release = threading.Event()

    def slow(areas: list[str | None]) -> dict[str | None, AreaRisk | PowerDeskError]:
        release.wait(5)
        return {a: risk("blue", 0.01) for a in areas}

    board = RiskBoard(slow, lambda: dt.date(2026, 12, 6), wait_s=0.05)
    assert board.get(None) is None  # not ready in time: the customer is told, not kept waiting
    release.set()
    board.refresh().join()
    assert board.get(None) == risk("blue", 0.01)


def test_risk_board_keeps_an_area_s_error_for_the_day() -> None:
    calls = []

    def broken(areas: list[str | None]) -> dict[str | None, AreaRisk | PowerDeskError]:
        calls.append(areas)
        return {a: InvalidInput("load file unreadable") if a == "坏区" else risk("yellow", 0.2) for a in areas}

    board = RiskBoard(broken, lambda: dt.date(2026, 12, 6))
    board.refresh(["坏区"]).join()
    with pytest.raises(InvalidInput):
        board.get("坏区")
    with pytest.raises(InvalidInput):
        board.get("坏区")
    assert board.get(None) is not None and len(calls) == 1  # the failure is not retried on every question


def test_the_next_day_is_computed_just_after_midnight() -> None:
    computed = threading.Event()
    seen: list[list[str | None]] = []
    day = [dt.date(2026, 12, 6)]
    waits = iter([0.01])  # midnight is in 10 ms; after that, far away

    def compute(areas: list[str | None]) -> dict[str | None, AreaRisk | PowerDeskError]:
        seen.append(areas)
        if len(seen) == 2:
            computed.set()
        return {a: risk("blue", 0.01) for a in areas}

    def today() -> dt.date:
        return day[0]

    def to_midnight() -> float:
        wait = next(waits, 3600.0)
        if wait < 1:
            day[0] = dt.date(2026, 12, 7)  # the clock passes midnight before the timer fires
        return wait

    board = RiskBoard(compute, today, seconds_to_next_day=to_midnight)
    board.refresh().join()
    assert computed.wait(5) and len(seen) == 2
    for worker in [t for t in threading.enumerate() if t.name == "load-risk"]:
        worker.join(5)  # the midnight computation stores its board after `compute` returns
    assert board.get(None) is not None and len(seen) == 2  # the new day's board was ready before anyone asked


def test_a_risk_not_ready_yet_says_so_instead_of_waiting() -> None:
    class NotReady(StubServices):
        def load_risk(self, area: str | None) -> Any:
            return None

    messages, _ = run(NotReady(risk("red", 0.9)), "明天会不会限电")
    assert [m["response"] for m in messages] == ["utter_load_risk_unavailable"]


def test_the_board_is_computed_in_a_process_of_the_lowest_priority(tmp_path: Any) -> None:
    """The fits run apart from the action server (its own GIL), at the lowest CPU priority, so that customers'
    turns never wait for them; an area whose series cannot be read keeps its error, the others their risk."""
    settings = Settings(_env_file=None)
    board = compute_board_apart(settings, [None, "西湖区"])
    assert isinstance(board[None], AreaRisk) and board["西湖区"] == board[None]  # one series: fitted once
    broken = settings.model_copy(update={"forecast_load_file": tmp_path / "missing.csv"})
    assert all(isinstance(v, PowerDeskError) for v in compute_board_apart(broken, [None]).values())


def test_lowest_priority_is_idle_scheduling_or_nice_19() -> None:
    import multiprocessing
    import os

    def probe(out: Any) -> None:
        lowest_priority()
        policy = os.sched_getscheduler(0) if hasattr(os, "sched_getscheduler") else None
        out.put((policy, os.nice(0)))

    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=probe, args=(out,))
    child.start()
    policy, niceness = out.get(timeout=10)
    child.join(10)
    assert policy == getattr(os, "SCHED_IDLE", None) or niceness == 19
