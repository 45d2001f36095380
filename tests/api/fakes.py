"""A fake Rasa for api tests: answers by rule, can be told to fail or to signal a handoff."""

from __future__ import annotations

import asyncio
from typing import Any

from api.bot_client import BotTurn, turn_in_events
from core.errors import UpstreamUnavailable


class FakeBot:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.down = False  # unreachable (connection refused): the message never reached it
        self.fail_reached = False  # reached, then failed or too slow: it may have acted
        self.delay_s = 0.0
        self.paused: set[str] = set()
        self.resumed: list[str] = []
        self.events: dict[str, list[dict[str, Any]]] = {}  # each sender's tracker events, as Rasa keeps them
        self.tracker_reads: list[str] = []

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> BotTurn:
        self.sent.append((sender, text, metadata))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.down:
            raise UpstreamUnavailable("fake Rasa is down", unreached=True)
        if self.fail_reached:
            raise UpstreamUnavailable("fake Rasa timed out")
        turn = self._answer(sender, text)
        self.events.setdefault(sender, []).extend(
            [
                {
                    "event": "user",
                    "text": text,
                    "metadata": metadata,
                    "parse_data": {"intent": {"name": turn.intent, "confidence": turn.confidence}},
                },
                *(
                    {
                        "event": "bot",
                        "text": m.get("text"),
                        "data": {"buttons": m.get("buttons"), "custom": m.get("custom")},
                    }
                    for m in turn.messages
                ),
                {"event": "action", "name": "action_listen"},
            ]
        )
        return turn

    async def find_turn(self, sender: str, message_id: int) -> BotTurn | None:
        self.tracker_reads.append(sender)
        if self.down:
            raise UpstreamUnavailable("fake Rasa is down", unreached=True)
        return turn_in_events(self.events.get(sender, []), message_id)

    def _answer(self, sender: str, text: str) -> BotTurn:
        if sender in self.paused:  # like Rasa: a paused conversation gets no answer
            return BotTurn([], None, None)
        if "人工" in text or "投诉" in text:
            reason, intent = ("complaint", "complain") if "投诉" in text else ("asked", "request_human")
            self.paused.add(sender)
            return BotTurn(
                [{"text": "正在为您转接人工客服，请稍候。"}, {"custom": {"handoff": {"reason": reason}}}], intent, 0.97
            )
        if text == "silence":
            return BotTurn([], "greet", 0.5)
        return BotTurn(
            [{"text": f"收到：{text}", "buttons": [{"title": "查电费", "payload": "/query_bill"}]}], "greet", 0.91
        )

    async def resume(self, sender: str) -> None:
        self.paused.discard(sender)
        self.resumed.append(sender)

    async def pause(self, sender: str) -> None:
        self.paused.add(sender)

    async def ready(self) -> bool:
        return not self.down
