"""The demo generator: well-formed identities and realistic load shapes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from analytics.calendar import DayType, day_type
from core.errors import DataError
from core.settings import REPO_ROOT
from demo import identity
from demo.config import load_demo_config
from demo.generate import build_demo, iter_readings
from tests.conftest import DEMO_TODAY

DATA = REPO_ROOT / "data"


@pytest.fixture(scope="module")
def demo():
    base = build_demo(load_demo_config(DATA, today=DEMO_TODAY, customers=300, seed=11))
    return base, list(iter_readings(base))


def test_identities_are_well_formed_and_unique(demo) -> None:
    base, _ = demo
    accounts = [c.account_no for c in base.customers]
    assert len(set(accounts)) == len(accounts)
    assert all(len(a) == 10 and a.startswith("33") and a.isdigit() for a in accounts)
    for c in base.customers:
        assert len(c.phone) == 11 and c.phone[0] == "1" and c.phone[1] in "3456789"
        if c.customer_category in ("commercial", "industrial"):
            assert identity.uscc_check_char(c.id_number[:17]) == c.id_number[17]
        else:
            assert identity.id_check_digit(c.id_number[:17]) == c.id_number[17]
            dt.date(int(c.id_number[6:10]), int(c.id_number[10:12]), int(c.id_number[12:14]))


def test_known_check_digits() -> None:
    # GB 11643 example 11010519491231002X and a published USCC 91350100M000100Y43
    assert identity.id_check_digit("11010519491231002") == "X"
    assert identity.uscc_check_char("91350100M000100Y4") == "3"


def test_every_kind_is_present_with_its_reading_resolution(demo) -> None:
    base, readings = demo
    categories = {c.tariff_category for c in base.customers}
    assert {"residential", "residential_tou", "commercial_tou", "industrial_capacity"} <= categories
    assert any(c.startswith("residential_shared") for c in categories)
    days = len(base.config.days)
    assert days >= 13 * 30
    for r in readings:
        expected = (days, 96) if r.customer.resolution == "15min" else (days,)
        assert r.energy.shape == expected and np.all(r.energy >= 0)


def _mean_profile(readings, tariff):
    rows = [r.energy for r in readings if r.customer.tariff_category == tariff]
    return np.mean([r / r.sum(axis=1, keepdims=True) for r in rows], axis=(0, 1))


def test_daily_cycles_match_each_kind(demo) -> None:
    _, readings = demo
    home = _mean_profile(readings, "residential_tou").reshape(24, 4).sum(axis=1)
    shop = _mean_profile(readings, "commercial_tou").reshape(24, 4).sum(axis=1)
    assert home[19:22].mean() > 1.5 * home[2:5].mean()  # evening peak at home
    assert shop[10:17].mean() > 2.5 * shop[1:5].mean()  # business hours
    valley = np.r_[0:8, 22:24]
    assert home[valley].sum() > 0.25  # TOU households use the valley


def test_weekly_holiday_and_temperature_effects(demo) -> None:
    base, readings = demo
    ctx = base.context
    industrial = np.array([r.energy.sum(axis=1) for r in readings if r.customer.customer_category == "industrial"])
    workday = ctx.day_types == DayType.WORKDAY
    assert industrial[:, workday].mean() > 1.1 * industrial[:, ~workday].mean()
    homes = np.array([r.energy for r in readings if r.customer.tariff_category == "residential"])
    hot, mild = ctx.temperature > 28, (ctx.temperature > 16) & (ctx.temperature < 22)
    assert homes[:, hot].mean() > 1.15 * homes[:, mild].mean()  # air conditioning


def test_calendar_knows_adjusted_working_days() -> None:
    assert day_type(dt.date(2026, 10, 1)) == DayType.HOLIDAY
    assert day_type(dt.date(2026, 2, 14)) == DayType.WORKDAY  # a Saturday worked for the Spring Festival
    assert day_type(dt.date(2026, 11, 21)) == DayType.WEEKEND
    assert day_type(dt.date(2030, 10, 1)) == DayType.HOLIDAY  # beyond chinesecalendar: holidays.CN


def test_bad_generator_config_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "demo").mkdir()
    generator = tmp_path / "demo" / "generator.yml"
    (tmp_path / "demo" / "calibration.yml").write_text("{}\n", encoding="utf-8")
    generator.write_text("mix: {residential: 1.0}\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing `history_months`"):
        load_demo_config(tmp_path, today=DEMO_TODAY)
    generator.write_text("history_months: 13\nmix: {residential: 1.0}\n", encoding="utf-8")
    with pytest.raises(DataError, match="mix lacks"):
        load_demo_config(tmp_path, today=DEMO_TODAY)
    mix = "{residential: 0.6, residential_tou: 0.15, shared: 0.06, commercial: 0.13, industrial: 0.06}"
    generator.write_text(f"history_months: 0\nmix: {mix}\n", encoding="utf-8")
    with pytest.raises(DataError, match="history_months must be a whole number"):
        load_demo_config(tmp_path, today=DEMO_TODAY)
    generator.write_text(f"history_months: 1\nmix: {mix}\n", encoding="utf-8")
    with pytest.raises(DataError, match="give a later --today"):
        load_demo_config(tmp_path, today=DEMO_TODAY, start=DEMO_TODAY)


def test_a_later_end_keeps_every_customer_and_its_level() -> None:
    """The demo is extended by generating the same customers over a longer period: records, parameters and
    load level must not depend on the period's end, only the day-to-day noise may differ."""
    short = build_demo(load_demo_config(DATA, today=DEMO_TODAY, customers=60, seed=3))
    later = DEMO_TODAY + dt.timedelta(days=70)
    long = build_demo(load_demo_config(DATA, today=later, customers=60, seed=3, start=short.config.start))
    assert [c.account_no for c in short.customers] == [c.account_no for c in long.customers]
    days = len(short.config.days)
    assert np.array_equal(short.context.temperature, long.context.temperature[:days])
    for a, b in zip(iter_readings(short), iter_readings(long), strict=True):
        assert a.customer.account_no == b.customer.account_no
        old, new = a.energy.sum(axis=-1) if a.energy.ndim == 2 else a.energy, b.energy[:days]
        new = new.sum(axis=-1) if new.ndim == 2 else new
        assert 0.9 < new.mean() / old.mean() < 1.1, (a.customer.tariff_category, old.mean(), new.mean())
