"""How a message reaches a customer on the channel the conversation came from.

A channel is anything with a `name`, a `rich` flag (can it show buttons and a star rating?) and
`deliver(recipient, messages)`. The widget pushes over its websocket (through the bus, so any api
process can deliver); the plain HTTP api channel has nothing to push to (the customer reads replies
in the response and the history). WeChat plugs in here: a `WeChatChannel` whose `deliver` sends
customer-service messages, registered under "wechat".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from api.bus import Bus


@dataclass(frozen=True)
class Recipient:
    channel: str
    external_user_id: str
    conversation_id: int


@dataclass(frozen=True)
class Outbound:
    """A stored outbound message (its id is the delivery receipt)."""

    id: int
    sender: str  # bot / agent / system
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    custom: dict[str, Any] | None = None

    @classmethod
    def stored(cls, message_id: int, sender: str, text: str, payload: dict[str, Any] | None) -> Outbound:
        """A stored message as delivered: its buttons and custom data come from the stored payload."""
        buttons = (payload or {}).get("buttons")
        custom = (payload or {}).get("custom")
        return cls(
            message_id,
            sender,
            text,
            buttons=list(buttons) if isinstance(buttons, list) else [],
            custom=custom if isinstance(custom, dict) else None,
        )

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "sender": self.sender, "text": self.text, "buttons": self.buttons, "custom": self.custom}


class Channel(Protocol):
    name: str
    rich: bool

    async def deliver(self, to: Recipient, messages: list[Outbound]) -> None: ...


def widget_key(external_user_id: str) -> str:
    return f"widget:{external_user_id}"


class WidgetChannel:
    name = "widget"
    rich = True

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def deliver(self, to: Recipient, messages: list[Outbound]) -> None:
        await self.bus.publish(
            widget_key(to.external_user_id),
            {
                "type": "push",
                "conversation_id": to.conversation_id,
                "replies": [m.as_json() for m in messages],
                "ack": [m.id for m in messages],
            },
        )


class StoredOnlyChannel:
    """A channel without push (the HTTP api): messages stay stored, status `stored`, for the caller to read."""

    rich = False

    def __init__(self, name: str) -> None:
        self.name = name

    async def deliver(self, to: Recipient, messages: list[Outbound]) -> None:
        return None


class Channels:
    def __init__(self, *channels: Channel) -> None:
        self._by_name: dict[str, Channel] = {c.name: c for c in channels}

    def register(self, channel: Channel) -> None:
        self._by_name[channel.name] = channel

    def get(self, name: str) -> Channel:
        return self._by_name.get(name) or StoredOnlyChannel(name)
