from __future__ import annotations

import datetime as dt

import pytest

from actions.parsing import extract_account_no, extract_last4, extract_phone, parse_month

TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("上个月用了多少电", (2026, 10)),
        ("上月", (2026, 10)),
        ("这个月", (2026, 11)),
        ("上上个月的电费", (2026, 9)),
        ("2024年3月", (2024, 3)),
        ("24年3月", (2024, 3)),
        ("2025-07", (2025, 7)),
        ("3月份", (2026, 3)),
        ("12月", (2025, 12)),  # a bare month after the current one means last year's
        ("去年12月", (2025, 12)),
        ("三月", (2026, 3)),
        ("十二月", (2025, 12)),
        ("２０２５年８月", (2025, 8)),  # full-width digits
        ("13月", None),
        ("查电费", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_month(text: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_month(text, TODAY) == expected


def test_parse_month_across_new_year() -> None:
    assert parse_month("上个月", dt.date(2026, 1, 5)) == (2025, 12)


def test_extractors() -> None:
    assert extract_account_no("我的户号是 3301234567 谢谢") == "3301234567"
    assert extract_account_no("33012345678") is None  # 11 digits is a phone, not a 户号
    assert extract_account_no("３３０１２３４５６７") == "3301234567"
    assert extract_phone("电话138-1234-5678") == "13812345678"
    assert extract_phone("12345678901") is None
    assert extract_last4("后四位是5678") == "5678"
    assert extract_last4("56789") is None


def test_days_and_runs_of_days_relative_to_today() -> None:
    from actions.parsing import parse_days, parse_months

    today = dt.date(2026, 12, 6)
    assert parse_days("昨天用了多少电", today) == (dt.date(2026, 12, 5),) * 2
    assert parse_days("前天呢", today) == (dt.date(2026, 12, 4),) * 2
    assert parse_days("最近一周", today) == (dt.date(2026, 11, 29), dt.date(2026, 12, 5))
    assert parse_days("近10天用电", today) == (dt.date(2026, 11, 26), dt.date(2026, 12, 5))
    assert parse_days("本月到目前用了多少", today) == (dt.date(2026, 12, 1), today)
    assert parse_days("11月3号", today) == (dt.date(2026, 11, 3),) * 2
    assert parse_days("12月25日", today) == (dt.date(2025, 12, 25),) * 2  # not yet this year: last year's
    assert parse_days("2月30日", today) is None
    assert parse_days("上个月电费", today) is None
    assert parse_months("为什么9月比8月多", today) == [(2026, 9), (2026, 8)]
    assert parse_months("那上上个月呢", today) == [(2026, 10)]
    assert parse_months("去年12月和今年11月", today) == [(2025, 12), (2026, 11)]
