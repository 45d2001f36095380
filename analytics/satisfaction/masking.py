"""Masking of personal numbers inside free text (reports and exported logs never show them whole).

ID numbers (18 characters, the last may be X), mobile numbers (11 digits from 1[3-9]), account numbers
(户号, 10 digits) and any other run of 7 or more digits (landlines, bank cards, unknown ids) are masked with
the same rules as `core.identity`'s field maskers. Full-width digits are treated as digits.
"""

from __future__ import annotations

import re

import pandas as pd

from core.identity import mask_account, mask_id_number, mask_phone

_FULLWIDTH = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789xX")
_NUMBER = re.compile(r"(?<![0-9])[0-9][0-9\- ]{5,}[0-9xX](?![0-9])")


def _mask_run(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = re.sub(r"[\- ]", "", raw)
    if len(digits) < 7:
        return raw
    if len(digits) == 18:
        return mask_id_number(digits)
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":
        return mask_phone(digits)
    if len(digits) == 10:
        return mask_account(digits)
    if digits[-1] in "xX" and len(digits) != 15:  # a trailing X belongs to ID numbers only
        return raw[:-1] if len(digits) - 1 < 7 else _mask_generic(digits[:-1]) + raw[-1]
    return _mask_generic(digits)


def _mask_generic(digits: str) -> str:
    return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]


def mask_text(text: str) -> str:
    """`我的手机13812345678` → `我的手机138****5678`; text without long numbers is returned unchanged."""
    if not text:
        return text
    normalised = text.translate(_FULLWIDTH)
    return _NUMBER.sub(_mask_run, normalised) if normalised != text or _NUMBER.search(text) else text


def mask_frame(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """A copy with every text (object) column, or the columns named, masked."""
    out = frame.copy()
    cols = (
        columns
        if columns is not None
        else [c for c in out.columns if out[c].dtype == object or pd.api.types.is_string_dtype(out[c])]
    )
    for col in cols:
        out[col] = out[col].map(lambda v: mask_text(v) if isinstance(v, str) else v)
    return out
