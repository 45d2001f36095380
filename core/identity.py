"""How a channel user is named to Rasa, and masking of personal data for display and for storage."""

from __future__ import annotations

import re
from typing import Any

CHANNELS = ("widget", "wechat", "api")
_SENDER = re.compile(r"^(widget|wechat|api):(.{1,128})$", re.S)


def sender_id(channel: str, external_user_id: str) -> str:
    return f"{channel}:{external_user_id}"


def parse_sender_id(value: str) -> tuple[str, str] | None:
    """`widget:abc` → ("widget", "abc"); anything else → None."""
    match = _SENDER.match(value)
    return (match.group(1), match.group(2)) if match else None


def mask_account(account_no: str) -> str:
    """3301234567 → 3301****67."""
    return account_no[:4] + "****" + account_no[-2:] if len(account_no) >= 8 else "****"


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else "****"


def mask_id_number(id_number: str) -> str:
    return id_number[:6] + "********" + id_number[-4:] if len(id_number) == 18 else "****"


def mask_name(name: str) -> str:
    """张三丰 → 张**; companies keep their first four characters."""
    if not name:
        return ""
    if len(name) > 4:
        return name[:4] + "***"
    return name[0] + "*" * (len(name) - 1)


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_ACCOUNT_NO = re.compile(r"(?<!\d)(\d{4})(\d{4,})(\d{2})(?!\d)")  # 10+ digits: an account (or a card) number
# four digits alone in a short message (the phone's last four when binding), not a year, an amount or a date
_LAST4_NAMED = re.compile(r"(尾号|后四位|后4位|末四位|末4位|后四个|验证码)(\D{0,4}?)(?<!\d)\d{4}(?!\d)")
_LAST4_ALONE = re.compile(r"^(\D{0,10}?)(?<!\d)\d{4}(?![\d年月日号元度点:.])(\D{0,6})$")


def mask_personal(text: str) -> str:
    """Text as it may be stored in transcripts and events: mobile numbers, account numbers and the last four
    digits typed to bind lose their digits (a stored "1234" would hand the binding secret to any reader)."""
    normal = text.translate(_FULLWIDTH_DIGITS)
    masked = _MOBILE.sub(lambda m: m.group(1) + "********", normal)
    masked = _ACCOUNT_NO.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), masked)
    masked = _LAST4_NAMED.sub(lambda m: m.group(1) + m.group(2) + "****", masked)
    if len(masked) <= 16:
        masked = _LAST4_ALONE.sub(lambda m: m.group(1) + "****" + m.group(2), masked)
    return masked if masked != normal else text


PERSONAL_SLOTS = frozenset({"account_no", "bound_account", "phone", "phone_last4"})


def mask_event(event: dict[str, Any]) -> dict[str, Any]:
    """A Rasa tracker event as it may be stored (bot/brokers.py masks every event before Rasa's broker writes it):
    the customer's text, the parsed text and entity values, and the values of the personal slots."""
    masked = dict(event)
    if isinstance(masked.get("text"), str):
        masked["text"] = mask_personal(masked["text"])
    parse_data = masked.get("parse_data")
    if isinstance(parse_data, dict):
        parse_data = dict(parse_data)
        if isinstance(parse_data.get("text"), str):
            parse_data["text"] = mask_personal(parse_data["text"])
        entities = parse_data.get("entities")
        if isinstance(entities, list):
            parse_data["entities"] = [
                {**e, "value": mask_personal(str(e["value"]))} if isinstance(e, dict) and "value" in e else e
                for e in entities
            ]
        masked["parse_data"] = parse_data
    if masked.get("event") == "slot" and masked.get("name") in PERSONAL_SLOTS and masked.get("value") is not None:
        value = str(masked["value"])
        masked["value"] = "****" if masked["name"] == "phone_last4" else mask_personal(value)
    return masked
