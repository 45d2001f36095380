"""How a channel user is named to Rasa, and masking of personal data for display."""

from __future__ import annotations

import re

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
