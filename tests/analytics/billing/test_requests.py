"""Bad requests get their own clear error; the others in the same call are still computed."""

from __future__ import annotations

import pytest

from analytics.billing.requests import compute_requests
from analytics.billing.schedule import TariffBook

GOOD = {
    "id": "ok",
    "category": "residential",
    "period": {"start": "2024-05-01", "end": "2024-05-31"},
    "year_to_date_kwh": 0,
    "energy_kwh": {"total": 100},
}


def _with(**changes: object) -> dict:
    return {**GOOD, "id": "bad", **changes}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (_with(category="farm"), "unknown category 'farm'"),
        (_with(energy_kwh={"total": -5}), "must be a finite number ≥ 0"),
        (_with(energy_kwh={"total": "lots"}), "energy_kwh.total"),
        (_with(energy_kwh={"peak": 5}), "takes energy_kwh keys ['total']"),
        (_with(year_to_date_kwh=None), "year_to_date_kwh is required"),
        (_with(period={"start": "2024-05-31", "end": "2024-05-01"}), "ends (2024-05-01) before it starts"),
        (_with(period={"start": "1999-01-01", "end": "1999-01-31"}), "no residential schedule in force on 1999-01-01"),
        (_with(period={"start": "not a date", "end": "2024-05-01"}), "period.start"),
        (_with(reactive_kvarh=10), "reactive_kvarh and pf_standard go together"),
        (_with(energy_kwh=None), "exactly one of energy_kwh, intervals or registers"),
        (_with(energy_kwh=None, registers={"start": 900, "end": 100}), "went backwards"),
        (_with(unexpected=1), "unexpected"),
        (
            _with(category="residential_tou", energy_kwh={"peak": 150}),
            "residential_tou needs energy_kwh.valley for this period",
        ),
        (
            _with(
                category="commercial_tou", period={"start": "2024-07-01", "end": "2024-07-31"}, energy_kwh={"peak": 1}
            ),
            "commercial_tou needs energy_kwh.sharp, energy_kwh.flat, energy_kwh.valley",
        ),
        (
            {**_with(category="industrial_demand", energy_kwh={"peak": 1}), "year_to_date_kwh": None},
            "needs capacity_kva",
        ),
        (
            _with(
                category="commercial_tou",
                period={"start": "2024-03-01", "end": "2024-03-31"},
                energy_kwh={"sharp": 10, "peak": 1},
            ),
            "no sharp hours in this period",
        ),
        (
            _with(
                category="residential_tou",
                energy_kwh=None,
                intervals=[{"start": "2024-05-01T00:00:00", "kwh": 1}, {"start": "2024-05-01T00:00:00", "kwh": 1}],
            ),
            "two intervals start",
        ),
        (
            _with(category="residential_tou", energy_kwh=None, intervals=[{"start": "2024-06-01T00:00:00", "kwh": 1}]),
            "outside the period",
        ),
        (
            _with(category="residential_tou", energy_kwh=None, intervals=[{"start": "2024-05-01T00:00:00", "kwh": -1}]),
            "greater than or equal to 0",
        ),
        (
            _with(
                category="industrial_capacity",
                energy_kwh={"peak": 1, "flat": 0, "valley": 0},
                capacity_kva=100,
                reactive_kvarh=1,
                pf_standard=0.7,
            ),
            "no power-factor table for standard 0.7",
        ),
    ],
)
def test_one_bad_request_does_not_stop_the_others(book: TariffBook, bad: dict, message: str) -> None:
    first, error, last = compute_requests([GOOD, bad, GOOD], book)
    assert first["total"] == last["total"] == 53.8
    assert error["id"] == "bad"
    assert message in error["error"], error["error"]


def test_not_objects_and_odd_ids(book: TariffBook) -> None:
    results = compute_requests([None, [], "x", {"id": True, "category": "residential"}, GOOD], book)
    assert [r.get("error", "").split(" ")[0] for r in results[:3]] == ["request"] * 3
    assert results[3]["id"] is None and "error" in results[3]
    assert results[4]["total"] == 53.8


def test_register_rollover_and_multiplier(book: TariffBook) -> None:
    rolled = _with(energy_kwh=None, registers={"start": 99950, "end": 50, "digits": 5, "multiplier": 2})
    [result] = compute_requests([rolled], book)
    assert result["lines"][0]["kwh"] == 200.0


def test_intervals_are_assigned_to_periods_and_give_max_demand(book: TariffBook) -> None:
    intervals = [{"start": f"2024-07-01T{h:02d}:{m:02d}:00", "kwh": 10.0} for h in range(24) for m in (0, 15, 30, 45)]
    request = {
        "id": "i",
        "category": "industrial_demand",
        "period": {"start": "2024-07-01", "end": "2024-07-31"},
        "intervals": intervals,
        "capacity_kva": 1000,
        "contract_demand_kw": 30,
    }
    [result] = compute_requests([request], book)
    kwh = {x["period"]: x["kwh"] for x in result["lines"] if x["item"] == "energy"}
    # July: sharp 19–21 (2 h), peak 08–11 + 13–19 + 21–22 (10 h), flat 11–13 + 22–23 (3 h), valley 9 h; 40 kWh/h
    assert kwh == {"sharp": 80.0, "peak": 400.0, "flat": 120.0, "valley": 360.0}
    basic = [x for x in result["lines"] if x["item"] == "basic"]
    assert [b["quantity"] for b in basic] == [400.0]  # the 40% floor of 1000 kVA; 40 kW is under 105% of it
    [small] = compute_requests([{**request, "capacity_kva": 50}], book)
    basic = [x for x in small["lines"] if x["item"] == "basic"]
    assert [b["quantity"] for b in basic] == [30.0, 8.5]  # max demand 10 kWh per 15 min = 40 kW > 1.05 × 30
