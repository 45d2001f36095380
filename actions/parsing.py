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


def shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    """The (year, month) `delta` months after (negative: before) the given one."""
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
        return shift_month(today.year, today.month, -2)
    if any(w in s for w in ("上个月", "上月", "上一个月", "上个月份")):
        return shift_month(today.year, today.month, -1)
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


_DAYS_AGO = (("大前天", 3), ("前天", 2), ("昨天", 1), ("昨日", 1), ("今天", 0), ("今日", 0))
_LAST_N_DAYS = re.compile(r"(?:最近|近|过去|前)(\d{1,2}|[一二两三四五六七八九十]{1,3})(天|日|周|个星期|星期)")
_MONTH_DAY = re.compile(r"(?:(\d{1,2})月)?(\d{1,2})(?:日|号)")


def parse_days(text: str | None, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The days (first, last, inclusive) a customer means, or None when the text names no day or run of days.

    Understands 昨天/前天/大前天/今天, 最近一周/近7天/过去两周/最近三天, 本月到目前/这个月到现在, 今年以来, 11月3号, 5日.
    Whole months (上个月, 9月) are parse_month's.
    """
    if not text:
        return None
    s = normalise(text).replace(" ", "")
    for word, ago in _DAYS_AGO:
        if word in s:
            day = today - dt.timedelta(days=ago)
            return day, day
    if any(w in s for w in ("这周", "本周", "这个星期", "这星期")):
        return today - dt.timedelta(days=today.weekday()), today
    match = _LAST_N_DAYS.search(s)
    if match:
        count = int(match.group(1)) if match.group(1).isdigit() else _cn_number(match.group(1).replace("两", "二"))
        if count:
            days = count * (7 if match.group(2) in ("周", "个星期", "星期") else 1)
            days = max(1, min(days, 92))
            return today - dt.timedelta(days=days), today - dt.timedelta(days=1)
    if any(w in s for w in ("一周", "一个星期", "上周", "上个星期")) and "最近" in s or "近一周" in s:
        return today - dt.timedelta(days=7), today - dt.timedelta(days=1)
    if any(
        w in s
        for w in ("本月到", "这个月到", "本月以来", "这个月以来", "本月截至", "这个月截至", "月初到现在", "月初以来")
    ):
        return today.replace(day=1), today
    if "今年以来" in s or "今年到现在" in s or "今年截至" in s:
        return dt.date(today.year, 1, 1), today
    match = _MONTH_DAY.search(s)
    if match:
        month = int(match.group(1)) if match.group(1) else today.month
        day_no = int(match.group(2))
        year = today.year if (month, day_no) <= (today.month, today.day) else today.year - 1
        try:
            day = dt.date(year, month, day_no)
        except ValueError:
            return None
        return day, day
    return None


def day_label(first: dt.date, last: dt.date) -> str:
    if first == last:
        return f"{first.month}月{first.day}日"
    return f"{first.month}月{first.day}日至{last.month}月{last.day}日"


_ANY_MONTH = re.compile(
    r"(?:(?:去年|前年)?(?:\d{4}|\d{2})?\s*[年\-/.]?\s*\d{1,2}\s*月)|(?:(?:去年|前年)?[一二三四五六七八九十]{1,3}月)"
    r"|上上个?月|上一?个?月|本月|这个?月|当月"
)


def parse_months(text: str | None, today: dt.date) -> list[tuple[int, int]]:
    """Every month a text names, in order ("为什么9月比8月多" → [(…, 9), (…, 8)])."""
    if not text:
        return []
    s = normalise(text).replace(" ", "")
    months: list[tuple[int, int]] = []
    for match in _ANY_MONTH.finditer(s):
        parsed = parse_month(match.group(0), today)
        if parsed is not None and parsed not in months:
            months.append(parsed)
    return months
