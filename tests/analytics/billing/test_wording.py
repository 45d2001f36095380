"""Bills and bill changes in Chinese, with the bill's own numbers."""

from __future__ import annotations

import datetime as dt

from analytics.billing.requests import compute_requests
from analytics.billing.schedule import TariffBook
from analytics.billing.wording import BillView, bill_text, explain_text, load_wording
from core.settings import REPO_ROOT

WORDING = load_wording(REPO_ROOT / "data" / "messages" / "bills.yml")


def _view(book: TariffBook, month: int, ytd: float, kwh: float, **extra: object) -> BillView:
    request = {
        "id": "x",
        "category": "residential",
        "period": {"start": f"2026-{month:02d}-01", "end": f"2026-{month:02d}-28"},
        "year_to_date_kwh": ytd,
        "energy_kwh": {"total": kwh},
        **extra,
    }
    [result] = compute_requests([request], book)
    return BillView(
        dt.date(2026, month, 1),
        dt.date(2026, month, 28),
        "residential",
        "zj-residential-2012",
        ytd,
        result["lines"],
        result["total"],
    )


def test_bill_text_lists_every_line(book: TariffBook) -> None:
    text = bill_text(_view(book, 5, 2600, 300), "2026年5月", WORDING)
    assert "第1档电量 160 千瓦时 × 0.538 元/千瓦时 = 86.08 元" in text
    assert "第2档电量 140 千瓦时 × 0.588 元/千瓦时 = 82.32 元" in text
    assert text.endswith("合计 168.40 元。")


def test_explanation_names_more_energy_and_the_tier_crossing(book: TariffBook) -> None:
    previous = _view(book, 7, 2200, 300)
    current = _view(book, 8, 2500, 450)
    text = explain_text(current, previous, None, "2026年8月", WORDING, (2760, 4800))
    assert f"电费 {current.total:,.2f} 元" in text
    assert f"比上月（{previous.total:,.2f} 元）多 {current.total - previous.total:,.2f} 元" in text
    assert "用电量 450 千瓦时，比上月多 150 千瓦时（+50%）" in text
    assert "超过 2,760 千瓦时，本月有 190 千瓦时进入第2档，按 0.588 元/千瓦时计费" in text
    assert "去年同月没有账单记录" in text


def test_a_time_of_use_bill_is_explained_with_its_peak_and_valley_split(book: TariffBook) -> None:
    """ "怎么这么多 我们白天都不在家的": the month's kWh at the peak and at the valley price, in numbers."""
    current = _view(book, 8, 1000, 400, category="residential_tou", energy_kwh={"peak": 300, "valley": 100})
    text = explain_text(current, None, None, "2026年8月", WORDING, (2760, 4800))
    assert "峰时段用电 300 千瓦时（占 75%），谷时段 100 千瓦时" in text
    flat = explain_text(_view(book, 8, 1000, 400), None, None, "2026年8月", WORDING, (2760, 4800))
    assert "峰时段" not in flat
