from __future__ import annotations

import pandas as pd
import pytest

from analytics.satisfaction.masking import mask_frame, mask_text


@pytest.mark.parametrize(
    "text, hidden, shown",
    [
        ("我的手机13812345678", "13812345678", "138****5678"),
        ("身份证33010219900101123X", "33010219900101123X", "330102********123X"),
        ("户号3301234567请查", "3301234567", "3301****67"),
        ("电话0571-87654321", "87654321", "05********21"),
        ("１３８１２３４５６７８", "１３８１２３４５６７８", "138****5678"),  # full-width digits
        ("卡号 6222 0212 3456 7890", "6222 0212 3456 7890", "62************90"),
    ],
)
def test_personal_numbers_are_masked(text: str, hidden: str, shown: str) -> None:
    masked = mask_text(text)
    assert hidden not in masked and shown in masked


def test_ordinary_text_and_short_numbers_are_kept() -> None:
    for text in ("上个月用了123度电", "5", "2026年11月", "", "峰谷电价0.568元"):
        assert mask_text(text) == text


def test_frames_mask_every_text_column_and_keep_numbers() -> None:
    frame = pd.DataFrame({"text": ["13812345678", None], "n": [13812345678, 2]})
    out = mask_frame(frame)
    assert out["text"].tolist()[0] == "138****5678" and out["n"].tolist() == [13812345678, 2]
