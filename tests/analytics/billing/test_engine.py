"""The engine on the worked examples of billing-io.md, on properties, and against the reference."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.billing.engine import BillInputs, compute, power_factor, split_tiers
from analytics.billing.money import round_half_up
from analytics.billing.reference import reference_bill
from analytics.billing.requests import BillRequest, compute_requests, prepare
from analytics.billing.schedule import PERIOD_INDEX, PERIODS, TariffBook

EXAMPLES = [
    (
        {
            "id": "a",
            "category": "residential",
            "period": {"start": "2024-05-01", "end": "2024-05-31"},
            "year_to_date_kwh": 2600,
            "energy_kwh": {"total": 300},
        },
        [(1, None, 160, 0.538, 86.08), (2, None, 140, 0.588, 82.32)],
        168.40,
    ),
    (
        {
            "id": "b",
            "category": "residential_tou",
            "period": {"start": "2024-08-01", "end": "2024-08-31"},
            "year_to_date_kwh": 4700,
            "energy_kwh": {"peak": 150, "valley": 50},
        },
        [
            (2, "peak", 75, 0.618, 46.35),
            (2, "valley", 25, 0.338, 8.45),
            (3, "peak", 75, 0.868, 65.10),
            (3, "valley", 25, 0.588, 14.70),
        ],
        134.60,
    ),
]


@pytest.mark.parametrize(("request_", "energy_lines", "total"), EXAMPLES)
def test_worked_residential_examples(book: TariffBook, request_: dict, energy_lines: list, total: float) -> None:
    [result] = compute_requests([request_], book)
    got = [(x.get("tier"), x.get("period"), x["kwh"], x["price"], x["amount"]) for x in result["lines"]]
    assert got == energy_lines
    assert result["total"] == total


def test_worked_industrial_capacity_example(book: TariffBook) -> None:
    request = {
        "id": "c",
        "category": "industrial_capacity",
        "period": {"start": "2024-03-01", "end": "2024-03-31"},
        "energy_kwh": {"sharp": 0, "peak": 40000, "flat": 20000, "valley": 40000},
        "capacity_kva": 1250,
        "reactive_kvarh": 48432,
        "pf_standard": 0.9,
    }
    [result] = compute_requests([request], book)
    by_item = {(x["item"], x.get("period")): x for x in result["lines"]}
    assert [by_item[("energy", p)]["amount"] for p in ("peak", "flat", "valley")] == [38540.00, 12520.00, 11060.00]
    assert ("energy", "sharp") not in by_item
    assert by_item[("basic", None)] | {} == {
        "item": "basic",
        "basis": "capacity",
        "quantity": 1250.0,
        "price": 30.0,
        "amount": 37500.0,
    }
    assert by_item[("pf_adjustment", None)] == {
        "item": "pf_adjustment",
        "power_factor": 0.9,
        "percent": 0.0,
        "amount": 0.0,
    }
    assert by_item[("funds", None)]["amount"] == 2900.00
    assert result["total"] == 102520.00


def test_demand_floor_and_105_percent_rule(book: TariffBook) -> None:
    base = {
        "category": "industrial_demand",
        "period": {"start": "2024-04-01", "end": "2024-04-30"},
        "energy_kwh": {"peak": 1000, "flat": 0, "valley": 0},
        "capacity_kva": 1250,
    }
    low_contract = {**base, "id": "floor", "contract_demand_kw": 300, "max_demand_kw": 400}
    over = {**base, "id": "over", "contract_demand_kw": 600, "max_demand_kw": 700}
    actual = {**base, "id": "actual", "category": "industrial_actual_demand", "max_demand_kw": 700}
    floor, excess, act = compute_requests([low_contract, over, actual], book)
    basic = [x for x in floor["lines"] if x["item"] == "basic"]
    assert basic == [{"item": "basic", "basis": "demand", "quantity": 500.0, "price": 48.0, "amount": 24000.0}]
    basic = [x for x in excess["lines"] if x["item"] == "basic"]
    assert [(b["basis"], b["quantity"], b["price"], b["amount"]) for b in basic] == [
        ("demand", 600.0, 48.0, 28800.0),
        ("demand_excess", 70.0, 96.0, 6720.0),
    ]
    assert [x for x in act["lines"] if x["item"] == "basic"][0]["amount"] == 700 * 48.0


def test_sharp_peak_hours_only_in_their_months(book: TariffBook) -> None:
    tariff = book.schedule_for("commercial_tou", dt.date(2024, 1, 1)).categories["commercial_tou"]
    sharp, peak = PERIOD_INDEX["sharp"], PERIOD_INDEX["peak"]
    assert tariff.slot_period[6, 19 * 4] == sharp and tariff.slot_period[6, 21 * 4] == peak  # July 19:00 / 21:00
    assert tariff.slot_period[0, 9 * 4] == sharp and tariff.slot_period[0, 19 * 4] == peak  # January
    assert (tariff.slot_period[2] != sharp).all()  # March has none


def test_pf_tables_match_the_rules(book: TariffBook) -> None:
    t90, t85, t80 = book.pf_table(0.90), book.pf_table(0.85), book.pf_table(0.80)
    assert [t90[x] for x in (100, 95, 94, 91, 90, 89, 70, 69, 65, 64, 60)] == [
        -0.75,
        -0.75,
        -0.6,
        -0.15,
        0,
        0.5,
        10,
        11,
        15,
        17,
        25,
    ]
    assert [t85[x] for x in (100, 94, 93, 91, 90, 86, 85, 84, 65, 64, 60, 59)] == [
        -1.1,
        -1.1,
        -0.95,
        -0.65,
        -0.5,
        -0.1,
        0,
        0.5,
        10,
        11,
        15,
        17,
    ]
    assert [t80[x] for x in (100, 92, 91, 90, 81, 80, 79, 60, 59, 55, 54)] == [
        -1.3,
        -1.3,
        -1.15,
        -1.0,
        -0.1,
        0,
        0.5,
        10,
        11,
        15,
        17,
    ]


@given(
    ytd=st.floats(0, 20000, allow_nan=False),
    total=st.floats(0, 20000, allow_nan=False),
)
def test_tier_split_sums_to_the_month_and_respects_bounds(ytd: float, total: float) -> None:
    parts = split_tiers(np.array([total]), np.array([ytd]), (2760, 4800), np.ones(1))[0]
    assert parts.sum() == pytest.approx(total, abs=1e-6)
    assert (parts >= 0).all()
    assert parts[0] <= max(0.0, 2760 - ytd) + 1e-9
    assert parts[1] <= 4800 - 2760 + 1e-9
    if ytd + total <= 2760:
        assert parts[0] == pytest.approx(total)


@given(peak=st.integers(0, 3000), valley=st.integers(0, 3000), ytd=st.integers(0, 8000))
def test_tou_split_keeps_period_totals_and_shares(book: TariffBook, peak: int, valley: int, ytd: int) -> None:
    tariff = book.schedule_for("residential_tou", dt.date(2025, 1, 1)).categories["residential_tou"]
    energy = np.zeros((1, 5))
    energy[0, PERIOD_INDEX["peak"]], energy[0, PERIOD_INDEX["valley"]] = peak, valley
    x = BillInputs.empty_like(energy)
    x.year_to_date = np.array([float(ytd)])
    out = compute(tariff, x, book.pf_tables)
    assert out.energy_kwh[0, :, PERIOD_INDEX["peak"]].sum() == pytest.approx(peak)
    assert out.energy_kwh[0, :, PERIOD_INDEX["valley"]].sum() == pytest.approx(valley)
    for tier in range(3):  # every tier keeps the month's peak share
        t = out.energy_kwh[0, tier]
        if t.sum() > 0:
            assert t[PERIOD_INDEX["peak"]] / t.sum() == pytest.approx(peak / (peak + valley))


@settings(max_examples=60)
@given(q1=st.floats(0, 200000), q2=st.floats(0, 200000), standard=st.sampled_from([0.9, 0.85, 0.8]))
def test_power_factor_adjustment_is_monotonic(book: TariffBook, q1: float, q2: float, standard: float) -> None:
    """More reactive energy never lowers the surcharge (a worse power factor never pays less)."""
    tariff = book.schedule_for("industrial_capacity", dt.date(2025, 1, 1)).categories["industrial_capacity"]
    energy = np.zeros((2, 5))
    energy[:, PERIOD_INDEX["peak"]] = 100000
    x = BillInputs.empty_like(energy)
    x.capacity_kva = np.array([1000.0, 1000.0])
    x.reactive = np.array(sorted([q1, q2]))
    x.pf_standard = np.array([standard, standard])
    out = compute(tariff, x, book.pf_tables)
    assert out.power_factor[0] >= out.power_factor[1]
    assert out.pf_percent[0] <= out.pf_percent[1]
    assert out.total[0] <= out.total[1]


def test_rounding_is_half_up_despite_binary_floats() -> None:
    assert list(round_half_up(np.array([75 * 0.618, 10 * 0.3215, 0.125, -0.125, 2.675]))) == [
        46.35,
        3.22,
        0.13,
        -0.13,
        2.68,
    ]
    assert power_factor(np.array([100000.0]), np.array([48432.0]))[0] == 0.90


def _random_request(rng: random.Random, i: int) -> dict:
    category = rng.choice(
        [
            "residential",
            "residential_tou",
            "residential_shared_lv",
            "residential_shared_hv",
            "commercial_tou",
            "industrial_capacity",
            "industrial_demand",
            "industrial_actual_demand",
        ]
    )
    month = rng.randint(1, 12)
    req: dict = {
        "id": str(i),
        "category": category,
        "period": {"start": f"2025-{month:02d}-01", "end": f"2025-{month:02d}-28"},
    }
    if category in ("residential", "residential_shared_lv", "residential_shared_hv"):
        req["energy_kwh"] = {"total": rng.randint(0, 3000)}
    elif category == "residential_tou":
        req["energy_kwh"] = {"peak": rng.randint(0, 2000), "valley": round(rng.uniform(0, 1500), 2)}
    else:
        periods = ["peak", "flat", "valley"] + (["sharp"] if month in (1, 7, 8, 12) else [])
        req["energy_kwh"] = {p: round(rng.uniform(0, 200000), rng.choice([0, 2])) for p in periods}
        req["capacity_kva"] = rng.choice([315, 630, 1000, 1250, 2000])
        req["contract_demand_kw"] = rng.randint(100, 1500)
        req["max_demand_kw"] = round(rng.uniform(50, 2000), 1)
        if rng.random() < 0.7:
            req["reactive_kvarh"] = round(rng.uniform(0, 150000), 1)
            req["pf_standard"] = rng.choice([0.9, 0.85, 0.8])
    if category.startswith("residential") and category != "residential_shared_lv" and "shared" not in category:
        req["year_to_date_kwh"] = rng.randint(0, 9000)
    return req


def test_engine_agrees_with_the_reference_on_random_requests(book: TariffBook) -> None:
    rng = random.Random(20261124)
    requests = [_random_request(rng, i) for i in range(3000)]
    results = compute_requests(requests, book)
    assert all("error" not in r for r in results), [r for r in results if "error" in r][:3]
    for raw, result in zip(requests, results, strict=True):
        req = BillRequest.model_validate(raw)
        p = prepare(0, req, book)
        energy = {PERIODS[k]: float(p.energy[k]) for k in p.tariff.used_periods}
        expected = reference_bill(
            p.tariff,
            energy,
            req.year_to_date_kwh or 0.0,
            req.reactive_kvarh,
            req.pf_standard,
            book.pf_tables,
            req.capacity_kva,
            req.contract_demand_kw,
            req.max_demand_kw,
        )
        assert Decimal(str(result["total"])) == expected["total"], (raw, result, expected)
        got_energy = sum(Decimal(str(x["amount"])) for x in result["lines"] if x["item"] == "energy")
        want_energy = sum(x["amount"] for x in expected["lines"] if x["item"] == "energy")
        assert got_energy == want_energy, raw
