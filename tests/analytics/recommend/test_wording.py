"""How a plan comparison reads: months that cost more are said as such (never a negative saving), and sample
prices are called sample prices."""

from __future__ import annotations

import datetime as dt

import numpy as np

from analytics.recommend.plans import PlanComparison, PlanOption
from analytics.recommend.wording import load_wording, plan_text
from core.settings import REPO_ROOT

WORDING = load_wording(REPO_ROOT / "data" / "messages" / "recommend.yml")
MONTHS = [dt.date(2026, m, 1) for m in range(1, 13)]


def _comparison(current: str, other: str, current_cost: list[float], other_cost: list[float]) -> PlanComparison:
    c = PlanComparison(1, "3300000001", MONTHS, current)
    c.options = [PlanOption(current, current, np.array(current_cost)), PlanOption(other, other, np.array(other_cost))]
    c.recommended, c.reason = other, "switch"
    c.saving = round(float(np.sum(current_cost) - np.sum(other_cost)), 2)
    return c


def test_months_that_cost_more_are_said_as_such() -> None:
    now = [100.0] * 12
    tou = [80.0] * 9 + [112.3, 100.0, 100.0]  # 9 months cheaper, 1 dearer by 12.30, 2 the same
    text = plan_text(_comparison("residential", "residential_tou", now, tou), WORDING)
    assert "12 个月中有 9 个月更省，单月最多省 20.00 元" in text
    assert "另有 1 个月会多花一些（单月最多多花 12.30 元）" in text
    assert "-" not in text.replace("（2026年1月至2026年12月）", "") and "现行居民电价" in text


def test_business_plans_are_priced_with_sample_prices_and_say_so() -> None:
    text = plan_text(_comparison("industrial_capacity", "industrial_actual_demand", [100.0] * 12, [90.0] * 12), WORDING)
    assert "参考示例电价（不是正式执行电价）" in text and "现行" not in text and "多花" not in text
