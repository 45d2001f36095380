"""Masking personal data before it is stored: transcripts and Rasa's events keep no phone, account or binding digits."""

from __future__ import annotations

import pytest

from core.identity import mask_event, mask_personal


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("3300000001", "3300****01"),
        ("户号3301234567", "户号3301****67"),
        ("我的手机是138 1234 5678", "我的手机是138********"),
        ("13812345678", "138********"),
        ("1234", "****"),
        ("尾号1234", "尾号****"),
        ("后四位是５６７８", "后四位是****"),
        ("绑定户号3301234567手机尾号5678", "绑定户号3301****67手机尾号****"),
    ],
)
def test_personal_digits_are_masked(typed: str, stored: str) -> None:
    assert mask_personal(typed) == stored


@pytest.mark.parametrize(
    "text",
    [
        "2024年电费",
        "我家1234号楼停电了",
        "上个月电费123.5元",
        "电费1234元",
        "9月用了1234度电吗",
        "你好",
        "峰谷电价几点开始",
    ],
)
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert mask_personal(text) == text


def test_events_lose_text_entities_and_personal_slots() -> None:
    user = {
        "event": "user",
        "text": "3301234567",
        "parse_data": {"text": "3301234567", "entities": [{"entity": "account_no", "value": "3301234567"}]},
        "sender_id": "widget:abcdefghij0123456789",
    }
    masked = mask_event(user)
    assert masked["text"] == masked["parse_data"]["text"] == "3301****67"
    assert masked["parse_data"]["entities"][0]["value"] == "3301****67"
    assert masked["sender_id"] == user["sender_id"] and user["text"] == "3301234567"  # the original is untouched
    assert mask_event({"event": "slot", "name": "phone_last4", "value": "5678"})["value"] == "****"
    assert mask_event({"event": "slot", "name": "bound_account", "value": "3301234567"})["value"] == "3301****67"
    assert mask_event({"event": "slot", "name": "topic_month", "value": "2026-07"})["value"] == "2026-07"
