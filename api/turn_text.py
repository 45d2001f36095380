"""Text at the api's edge: what a customer typed, cleaned and made unable to act as a Rasa command, and what Rasa
said, as replies."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from api.schemas import Button, Reply
from core.errors import InvalidInput

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def clean_text(text: str, limit: int) -> str:
    """Drop control and bidi characters, trim, and enforce the length limit (clear errors)."""
    cleaned = _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()
    if not cleaned:
        raise InvalidInput("text is empty (after removing control characters); send what the customer typed")
    if len(cleaned) > limit:
        raise InvalidInput(f"text has {len(cleaned)} characters; the limit is {limit}. Split or shorten it.")
    return cleaned


def as_customer_text(text: str) -> str:
    """Text the customer typed, made unable to act as a Rasa command: "/restart" or '/inform{"account_no":…}'
    would skip the NLU and set slots. The leading "/" becomes a full-width "／" (the words are kept)."""
    return "／" + text[1:] if text.startswith("/") else text


def replies_from_rasa(messages: list[dict[str, Any]]) -> list[Reply]:
    """Rasa's collected messages as replies; a custom-only message joins the reply before it."""
    replies: list[Reply] = []
    for message in messages:
        text = message.get("text") or ""
        buttons = [
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in message.get("buttons") or []
            if isinstance(b, dict)
        ]
        custom = message.get("custom") if isinstance(message.get("custom"), dict) else None
        if not text and not buttons and custom is not None and replies:
            replies[-1].custom = {**(replies[-1].custom or {}), **custom}
            continue
        if text or buttons or custom:
            replies.append(Reply(text=text, buttons=buttons, custom=custom))
    return replies
