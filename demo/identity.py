"""Fictitious but well-formed identities: 户号, 身份证号 (GB 11643), 统一社会信用代码 (GB 32100), phones."""

from __future__ import annotations

import datetime as dt

import numpy as np

from analytics.records.rules import USCC_CHARS, id_check_digit, uscc_check_char

__all__ = ["id_check_digit", "uscc_check_char"]

HANGZHOU_DISTRICTS = ("330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112", "330122")


def resident_id(rng: np.random.Generator) -> str:
    region = HANGZHOU_DISTRICTS[rng.integers(len(HANGZHOU_DISTRICTS))]
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365 * 55)))
    first17 = f"{region}{birth:%Y%m%d}{int(rng.integers(0, 1000)):03d}"
    return first17 + id_check_digit(first17)


def credit_code(rng: np.random.Generator) -> str:
    body = "".join(USCC_CHARS[int(i)] for i in rng.integers(0, 31, size=9))
    first17 = "91" + HANGZHOU_DISTRICTS[rng.integers(len(HANGZHOU_DISTRICTS))] + body
    return first17 + uscc_check_char(first17)


def mobile(rng: np.random.Generator) -> str:
    prefix = ("13", "15", "17", "18", "19")[rng.integers(5)]
    return prefix + "".join(str(d) for d in rng.integers(0, 10, size=9))


def account_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """n distinct 10-digit 户号 starting with 33 (Zhejiang)."""
    picks = rng.choice(10**8, size=n, replace=False)
    return [f"33{int(p):08d}" for p in picks]


def person_name(rng: np.random.Generator, surnames: list[str], chars: list[str]) -> str:
    given = "".join(chars[int(i)] for i in rng.integers(0, len(chars), size=int(rng.integers(1, 3))))
    return surnames[int(rng.integers(len(surnames)))] + given
