from __future__ import annotations

import numpy as np

from analytics.usage import month_bounds, peak_mask, usage_from_daily, usage_from_intervals


def test_peak_mask_is_8_to_22() -> None:
    assert peak_mask(24).sum() == 14 and peak_mask(24)[8] and not peak_mask(24)[22] and not peak_mask(24)[7]
    assert peak_mask(96).sum() == 56 and peak_mask(96)[32] and not peak_mask(96)[31]


def test_usage_from_intervals_splits_peak_and_valley() -> None:
    days = np.full((30, 96), 0.25, dtype=np.float32)  # 1 kWh per hour
    usage = usage_from_intervals(2026, 6, days)
    assert usage.kwh == 720.0 and usage.peak_kwh == 420.0 and usage.valley_kwh == 300.0
    assert usage.complete


def test_usage_from_daily_knows_missing_days() -> None:
    usage = usage_from_daily(2026, 2, [5.0] * 27)
    assert usage.kwh == 135.0 and usage.days_in_month == 28 and not usage.complete
    assert month_bounds(2024, 2)[1].day == 29
