"""The channel the PowerDesk api uses: Rasa's REST channel, plus the NLU result of the turn.

POST /webhooks/powerdesk/webhook {"sender": ..., "message": ..., "metadata": {...}}
→ {"messages": [...], "intent": "name", "confidence": 0.93}

Channels are public in Rasa (its --auth-token guards only the HTTP API), so this one checks the caller
itself: the `X-PowerDesk-Token` header must carry the token from credentials.yml (RASA_TOKEN).

This module runs inside Rasa's own environment; it imports only Rasa and Sanic.
"""

from __future__ import annotations

import hmac
import logging
from contextlib import AsyncExitStack
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.tracker_store import FailSafeTrackerStore
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.schema_checks import check_schemas_once

logger = logging.getLogger(__name__)


def _reraise(error: Exception) -> None:
    raise error


def _no_silent_fallback(store: Any) -> None:
    """Rasa wraps the tracker store in a FailSafeTrackerStore: when the database is away it answers "no such
    conversation" and saves into memory, so a customer half-way through a form silently starts again (and the
    turn is forgotten). Made to raise instead: before a turn starts that is a 503 (the api keeps the message),
    after it a failed turn (the api hands it to a person)."""
    if isinstance(store, FailSafeTrackerStore) and store._on_tracker_store_error is None:
        store._on_tracker_store_error = _reraise
        # Rasa's SQL tracker store makes its engine without pre-ping: after a database restart every pooled
        # connection is dead and would fail a turn each; checked on checkout instead (SQLAlchemy's pre-ping)
        engine = getattr(store._tracker_store, "engine", None)
        if engine is not None:
            engine.pool._pre_ping = True


TOKEN_HEADER = "X-PowerDesk-Token"


class PowerDeskInput(RestInput):
    def __init__(self, token: Text) -> None:
        self.token = token

    @classmethod
    def name(cls) -> Text:
        return "powerdesk"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "PowerDeskInput":
        token = str((credentials or {}).get("token") or "")
        if len(token) < 16:
            raise ValueError(
                "credentials.yml: channels.powerdesk.PowerDeskInput needs a token of 16+ characters "
                "(RASA_TOKEN; `powerdesk run` sets it)"
            )
        return cls(token)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        check_schemas_once()  # Rasa's schema checks, each schema checked once (bot/channels/schema_checks.py)
        hook = Blueprint("powerdesk_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            given = (request.headers.get(TOKEN_HEADER) or "").encode()
            if not hmac.compare_digest(given, self.token.encode()):
                return response.json({"error": f"missing or wrong {TOKEN_HEADER}"}, status=401)
            try:
                body = request.json
            except Exception:  # a body that is not JSON
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "send a JSON object"}, status=400)
            sender_id = body.get("sender")
            text = body.get("message")
            if not isinstance(sender_id, str) or not 0 < len(sender_id) <= 200 or not isinstance(text, str):
                return response.json(
                    {"error": "send a JSON object with 'sender' (string) and 'message' (string)"},
                    status=400,
                )
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
            agent = request.app.ctx.agent
            if agent is None or not agent.is_ready():
                return response.json({"error": "no model loaded yet"}, status=503)
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender_id, input_channel=self.name(), metadata=metadata)
            # What Agent.handle_message + MessageProcessor.handle_message do in Rasa 3.6.21, keeping the
            # tracker at hand so the turn's intent is returned without a second (replaying) retrieve.
            processor = agent.processor
            _no_silent_fallback(agent.tracker_store)
            async with AsyncExitStack() as held:
                try:
                    await held.enter_async_context(agent.lock_store.lock(sender_id))
                    tracker = await processor.log_message(message, should_save_tracker=False)
                except Exception as exc:  # noqa: BLE001 - the lock or tracker store is away
                    # nothing has run yet (no action, nothing saved): 503 tells the api to keep the message
                    # and send it again once Rasa can take it, as while Rasa restarts
                    logger.error("turn of %s not started: %s", sender_id, exc)
                    return response.json(
                        {"error": "the lock store or tracker store is unavailable; nothing was processed"},
                        status=503,
                    )
                tracker = await processor.run_action_extract_slots(collector, tracker)
                await processor._run_prediction_loop(collector, tracker)
                await processor.run_anonymization_pipeline(tracker)
                await processor.save_tracker(tracker)
            latest = tracker.latest_message.intent or {}
            intent: Optional[str] = latest.get("name")
            confidence: Optional[float] = latest.get("confidence")
            return response.json(
                {"messages": collector.messages, "intent": intent, "confidence": confidence}
            )

        return hook
