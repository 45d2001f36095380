"""Field rules for customer records: 身份证号 (GB 11643), 统一社会信用代码 (GB 32100), mobiles, 户号, addresses."""

from __future__ import annotations

import re
import unicodedata

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID = re.compile(r"^\d{17}[\dX]$")
_USCC = re.compile(rf"^[{USCC_CHARS}]{{18}}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_ACCOUNT = re.compile(r"^\d{10}$")


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character of a resident ID number."""
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character of a unified social credit code."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def id_number_problem(value: str) -> str | None:
    """None when `value` is a well-formed 身份证号 or 统一社会信用代码, else what is wrong (in Chinese)."""
    value = value.strip().upper()
    if _ID.match(value):
        return None if id_check_digit(value[:17]) == value[17] else "身份证号校验位错误"
    if _USCC.match(value):
        return None if uscc_check_char(value[:17]) == value[17] else "统一社会信用代码校验位错误"
    return "证件号码格式错误（应为 18 位身份证号或统一社会信用代码）"


def phone_problem(value: str) -> str | None:
    digits = re.sub(r"[\s-]", "", value)
    return None if _MOBILE.match(digits) else "手机号码格式错误（应为 1 开头的 11 位数字）"


def account_problem(value: str) -> str | None:
    return None if _ACCOUNT.match(value) else "户号格式错误（应为 10 位数字）"


def normalise_address(value: str) -> str:
    """Full-width to half-width, no spaces or punctuation, common variants unified (号楼→幢, 单元→单元)."""
    text = unicodedata.normalize("NFKC", value)
    text = re.sub(r"[\s,，.。、\-－()（）#]", "", text)
    return text.replace("号楼", "幢").replace("栋", "幢").replace("零", "0")
