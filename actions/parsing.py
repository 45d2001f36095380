"""Pure parsing of what customers type: account numbers, phones, months."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

_ACCOUNT = re.compile(r"(?<!\d)(\d{10})(?!\d)")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
_LAST4 = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_YEAR_MONTH = re.compile(r"(?:(\d{4}|\d{2})\s*[年\-/.]\s*)?(\d{1,2})\s*月")
_ISO_MONTH = re.compile(r"(\d{4})[-/.](\d{1,2})(?![\d])")
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_CN_MONTH = re.compile(r"([一二三四五六七八九十]{1,3})月")


def normalise(text: str) -> str:
    """Full-width digits and letters to ASCII, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def extract_account_no(text: str) -> str | None:
    match = _ACCOUNT.search(normalise(text).replace(" ", ""))
    return match.group(1) if match else None


def extract_phone(text: str) -> str | None:
    match = _PHONE.search(normalise(text).replace(" ", "").replace("-", ""))
    return match.group(1) if match else None


def extract_last4(text: str) -> str | None:
    match = _LAST4.search(normalise(text))
    return match.group(1) if match else None


def _cn_number(token: str) -> int | None:
    if token == "十":
        return 10
    if token.startswith("十"):
        return 10 + _CN_DIGITS.get(token[1:], 0)
    if token.endswith("十"):
        return _CN_DIGITS.get(token[0], 0) * 10
    if len(token) == 1:
        return _CN_DIGITS.get(token)
    return None


def _shift(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def parse_month(text: str | None, today: dt.date) -> tuple[int, int] | None:
    """The (year, month) a customer means, relative to `today`; None when there is no month in it.

    Understands 上个月/上月, 本月/这个月/当月, 前两个月, 去年12月, 2024年3月, 24年3月, 2024-03, 3月份, 三月.
    A bare month later than the current one means last year's.
    """
    if not text:
        return None
    s = normalise(text).replace(" ", "")
    if any(w in s for w in ("上上个月", "上上月", "前两个月", "前2个月")):
        return _shift(today.year, today.month, -2)
    if any(w in s for w in ("上个月", "上月", "上一个月", "上个月份")):
        return _shift(today.year, today.month, -1)
    if any(w in s for w in ("本月", "这个月", "当月", "这月", "本期")):
        return today.year, today.month
    year_offset = -1 if "去年" in s else (-2 if "前年" in s else 0)
    match = _ISO_MONTH.search(s)
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        return (year, month) if 1 <= month <= 12 else None
    match = _YEAR_MONTH.search(s)
    if match:
        month = int(match.group(2))
        if not 1 <= month <= 12:
            return None
        if match.group(1):
            year = int(match.group(1))
            return (year + 2000 if year < 100 else year), month
        year = today.year + year_offset
        if year_offset == 0 and month > today.month:
            year -= 1
        return year, month
    match = _CN_MONTH.search(s)
    if match:
        month_no = _cn_number(match.group(1))
        if month_no and 1 <= month_no <= 12:
            year = today.year + year_offset
            if year_offset == 0 and month_no > today.month:
                year -= 1
            return year, month_no
    return None


def month_label(year: int, month: int) -> str:
    return f"{year}年{month}月"
