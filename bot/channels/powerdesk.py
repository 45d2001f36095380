"""The channel the PowerDesk api uses: Rasa's REST channel, plus the NLU result of the turn.

POST /webhooks/powerdesk/webhook {"sender": ..., "message": ..., "metadata": {...}}
→ {"messages": [...], "intent": "name", "confidence": 0.93}

This module runs inside Rasa's own environment; it imports only Rasa and Sanic.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


class PowerDeskInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "powerdesk"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        hook = Blueprint("powerdesk_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json or {}
            sender_id = str(body.get("sender") or "")
            text = body.get("message")
            if not sender_id or not isinstance(text, str):
                return response.json(
                    {"error": "send a JSON object with 'sender' (string) and 'message' (string)"},
                    status=400,
                )
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
            collector = CollectingOutputChannel()
            await on_new_message(
                UserMessage(text, collector, sender_id, input_channel=self.name(), metadata=metadata)
            )
            intent: Optional[str] = None
            confidence: Optional[float] = None
            agent = getattr(request.app.ctx, "agent", None)
            if agent is not None and agent.tracker_store is not None:
                tracker = await agent.tracker_store.retrieve(sender_id)
                if tracker is not None:
                    latest = tracker.latest_message.intent or {}
                    intent = latest.get("name")
                    confidence = latest.get("confidence")
            return response.json(
                {"messages": collector.messages, "intent": intent, "confidence": confidence}
            )

        return hook
