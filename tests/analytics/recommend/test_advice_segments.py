"""Energy-saving advice priced by the engine, and segment features, names and the data contract."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from analytics.billing.monthly import BillRow, MonthInputs, price_rows
from analytics.billing.schedule import PERIOD_INDEX
from analytics.recommend.advice import advise, load_assumptions
from analytics.recommend.loads import monthly_inputs
from analytics.recommend.plans import window_months
from analytics.recommend.segments import cluster, feature_frame, invalid_features, load_naming, name_segment
from core.settings import REPO_ROOT
from tests.analytics.recommend.conftest import Demo

MONTHS = window_months(dt.date(2026, 10, 31))
ASSUMPTIONS = load_assumptions(REPO_ROOT / "data" / "recommend" / "advice.yml")
NAMING = load_naming(REPO_ROOT / "data" / "recommend" / "segments.yml")


def test_peak_shift_saving_is_the_engines_bill_difference(demo: Demo) -> None:
    load = next(x for x in demo.loads if x.tariff_category == "commercial_tou")
    [shift] = [
        a for a in advise(load, load.tariff_category, demo.book, MONTHS, ASSUMPTIONS, None) if a.kind == "peak_shift"
    ]
    months = monthly_inputs(load, load.tariff_category, demo.book)

    def bills(shifted: bool) -> float:
        rows = []
        for m in MONTHS:
            energy = months[m].energy.copy()
            if shifted:
                moved = np.round(energy[[PERIOD_INDEX["sharp"], PERIOD_INDEX["peak"]]] * 0.10, 3)
                energy[[PERIOD_INDEX["sharp"], PERIOD_INDEX["peak"]]] -= moved
                energy[PERIOD_INDEX["valley"]] += moved.sum()
            inputs = MonthInputs(
                m,
                months[m].period_end,
                energy,
                reactive_kvarh=months[m].reactive_kvarh,
                max_demand_kw=months[m].max_demand_kw,
            )
            rows.append(
                BillRow(
                    load.customer_id,
                    load.tariff_category,
                    inputs,
                    pf_standard=load.pf_standard,
                    capacity_kva=load.capacity_kva,
                )
            )
        price_rows(rows, demo.book)
        return sum(r.total for r in rows)

    assert shift.saving == round(bills(False) - bills(True), 2) > 0


def test_flat_tariff_households_get_no_peak_shift_advice(demo: Demo) -> None:
    load = next(x for x in demo.loads if x.tariff_category == "residential")
    assert all(a.kind != "peak_shift" for a in advise(load, "residential", demo.book, MONTHS, ASSUMPTIONS, None))


def test_standby_advice_for_a_customer_above_its_peers(demo: Demo) -> None:
    load = next(x for x in demo.loads if x.tariff_category == "commercial_tou")
    [standby] = [a for a in advise(load, "commercial_tou", demo.book, MONTHS, ASSUMPTIONS, 0.01) if a.kind == "standby"]
    assert standby.kwh > 0 and standby.saving > 0 and standby.detail["night_kw"] > standby.detail["peer_night_kw"]
    assert not [a for a in advise(load, "commercial_tou", demo.book, MONTHS, ASSUMPTIONS, 5.0) if a.kind == "standby"]


def test_features_and_named_segments(demo: Demo) -> None:
    frame = feature_frame(demo.loads)
    assert invalid_features(frame).empty and set(frame["group"]) == {
        "household_daily",
        "household_interval",
        "business",
    }
    tou = frame[frame["kind"] == "residential_tou"]
    assert tou["night_share"].between(0.2, 0.6).all()  # measured 22:00–08:00 share, not a default
    segments, assignment = cluster(frame, NAMING, seed=0)
    assert len({s.name for s in segments}) == len(segments) and len(assignment) == len(frame)
    assert all(s.name.endswith(("居民", "合表用户", "商业用户", "大工业")) for s in segments)


def test_invalid_feature_rows_are_returned_not_hidden(demo: Demo) -> None:
    frame = feature_frame(demo.loads[:20]).copy()
    frame.loc[3, "level"] = np.nan
    frame.loc[5, "summer_uplift"] = np.inf
    assert list(invalid_features(frame).index) == [3, 5]
    _, assignment = cluster(frame, NAMING)
    assert frame.loc[3, "customer_id"] not in assignment and frame.loc[5, "customer_id"] not in assignment


@pytest.mark.parametrize(
    ("z", "kind", "expected"),
    [
        ({"summer_uplift": 1.2, "level": 0.1}, "residential", "空调敏感型居民"),
        ({"night_share": 2.0, "load_factor": 1.5}, "residential_tou", "夜间用电型峰谷居民"),
        ({"load_factor": 1.4, "night_share": 0.3}, "industrial", "稳定大工业"),
        ({"level": 0.1, "growth": -0.2}, "commercial", "稳定型商业用户"),
    ],
)
def test_segment_names(z: dict[str, float], kind: str, expected: str) -> None:
    assert name_segment(z, kind, NAMING, set()) == expected
    assert name_segment(z, kind, NAMING, {expected}) != expected


def test_a_malformed_naming_file_says_what_is_missing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "segments.yml"
    path.write_text("min_z: 0.6\n", encoding="utf-8")
    from core.errors import DataError

    with pytest.raises(DataError, match="missing `stable`"):
        load_naming(path)
