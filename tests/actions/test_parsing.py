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
