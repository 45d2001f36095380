"""The action server: rasa-sdk's app, reachable only by Rasa.

rasa-sdk has no caller authentication: whoever reaches `/webhook` runs any action with any tracker
(a forged tracker could bind an account). Rasa sends the shared token in the `X-PowerDesk-Token`
header (bot/endpoints*.yml, `ACTION_SERVER_TOKEN`); every request except `/health` without it gets 401.
Action calls are checked for shape before rasa-sdk sees them (a null tracker is a 400, not a 500).

    python -m actions.server --port 5055     (ACTION_SERVER_TOKEN and SANIC_HOST from the environment)
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
from functools import partial
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

TOKEN_HEADER = "X-PowerDesk-Token"
MAX_CALL_BYTES = 8_000_000  # a tracker since the session start; far more than a long conversation needs

log = logging.getLogger(__name__)


def call_problem(call: Any) -> str | None:
    """Why an action call cannot be run (None: it can)."""
    if not isinstance(call, dict):
        return "the body must be a JSON object with next_action, sender_id, tracker and domain"
    if not isinstance(call.get("next_action"), str) or not call["next_action"]:
        return "next_action must be an action name"
    tracker = call.get("tracker")
    if not isinstance(tracker, dict):
        return "tracker must be a JSON object"
    if not isinstance(tracker.get("sender_id"), str) or not tracker["sender_id"]:
        return "tracker.sender_id must be a non-empty string"
    if not isinstance(tracker.get("events", []), list) or not isinstance(tracker.get("slots", {}), dict):
        return "tracker.events must be a list and tracker.slots an object"
    if not isinstance(tracker.get("latest_message") or {}, dict):
        return "tracker.latest_message must be an object"
    if call.get("domain") is not None and not isinstance(call["domain"], dict):
        return "domain must be an object"
    return None


def guard(app: Sanic, token: str) -> Sanic:
    """Refuse callers without the token and action calls of the wrong shape."""
    expected = token.encode()
    app.config.REQUEST_MAX_SIZE = MAX_CALL_BYTES

    async def check(request: Request) -> HTTPResponse | None:
        if request.path == "/health":
            return None
        given = (request.headers.get(TOKEN_HEADER) or "").encode()
        if not hmac.compare_digest(given, expected):
            return response.json({"error": f"missing or wrong {TOKEN_HEADER}; only Rasa calls the action server"}, 401)
        if request.path == "/webhook" and request.method == "POST":
            try:
                call = request.json
            except Exception:  # Sanic raises its own BadRequest for bodies that are not JSON
                call = None
            problem = call_problem(call)
            if problem is not None:
                return response.json({"error": problem}, status=400)
        return None

    app.register_middleware(check, "request", priority=100)
    return app


def create_guarded_app(actions_package: str, token: str) -> Sanic:
    from rasa_sdk.endpoint import create_app_for_serve
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package(actions_package)
    # no CORS: browsers never call the action server
    return guard(create_app_for_serve(executor, cors_origins=None), token)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args()
    token = os.environ.get("ACTION_SERVER_TOKEN", "")
    if len(token) < 16:
        raise SystemExit(
            "ACTION_SERVER_TOKEN is missing or shorter than 16 characters; `powerdesk run` sets one, "
            "or set the same value for Rasa (bot/endpoints.yml) and the action server"
        )
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(message)s")
    host = os.environ.get("SANIC_HOST", "127.0.0.1")
    loader = AppLoader(factory=partial(create_guarded_app, args.actions, token))
    app = loader.load()
    app.prepare(host=host, port=args.port, workers=1, access_log=False, motd=False)
    log.info("action server on http://%s:%s (callers need %s)", host, args.port, TOKEN_HEADER)
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
