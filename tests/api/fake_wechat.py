"""A fake WeChat API server on loopback (tokens, customer-service and template messages, menu) and a uvicorn-in-a-thread
helper, for tests and benchmarks/wechat.py. It can be told to answer error codes (45015, 40001 …) and to be
slow; everything it received is recorded."""

from __future__ import annotations

import asyncio
import itertools
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request

from api.bot_client import BotTurn
from tests.api.fakes import FakeBot

APP_ID, APP_SECRET = "wx1234567890abcdef", "fake-secret"


@dataclass
class FakeWeChatState:
    sent: list[dict[str, Any]] = field(default_factory=list)  # customer-service messages accepted
    templates: list[dict[str, Any]] = field(default_factory=list)  # template messages accepted
    silent: set[str] = field(default_factory=set)  # openids silent for 48 hours: customer-service messages get 45015
    template_errors: list[int] = field(default_factory=list)  # errcodes to answer to the next template sends
    refused: list[dict[str, Any]] = field(default_factory=list)
    menus: list[dict[str, Any]] = field(default_factory=list)
    tokens_issued: int = 0
    errors: list[int] = field(default_factory=list)  # errcodes to answer to the next sends, in order
    errors_for: dict[str, list[int]] = field(default_factory=dict)  # … to the next sends to one openid
    error_rates: dict[int, float] = field(default_factory=dict)  # errcode → share of sends answered with it
    rng: random.Random = field(default_factory=lambda: random.Random(18))
    delay_s: float = 0.0
    valid_tokens: set[str] = field(default_factory=set)

    def texts_to(self, openid: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m.get("touser") == openid]


def fake_wechat_app(state: FakeWeChatState) -> FastAPI:
    app = FastAPI()
    counter = itertools.count(1)

    @app.get("/cgi-bin/token")
    async def token(appid: str = "", secret: str = "", grant_type: str = "") -> dict[str, Any]:
        if (appid, secret, grant_type) != (APP_ID, APP_SECRET, "client_credential"):
            return {"errcode": 40013, "errmsg": "invalid appid"}
        state.tokens_issued += 1
        value = f"token-{next(counter)}"
        state.valid_tokens = {value}  # like WeChat: a new token retires the old one
        return {"access_token": value, "expires_in": 7200}

    def _token_error(access_token: str) -> dict[str, Any] | None:
        if access_token not in state.valid_tokens:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        return None

    def _random_error() -> int:
        draw = state.rng.random()
        for code, share in state.error_rates.items():
            if draw < share:
                return code
            draw -= share
        return 0

    def _refusal(body: dict[str, Any], code: int, access_token: str) -> dict[str, Any] | None:
        """The answer to a send refused (the error code planned, else an invalid token), recorded; None: accepted."""
        if code:
            if code == 40001:
                state.valid_tokens = set()  # the token really is invalid now
            state.refused.append({**body, "errcode": code})
            return {"errcode": code, "errmsg": f"fake error {code}"}
        error = _token_error(access_token)
        if error:
            state.refused.append({**body, "errcode": error["errcode"]})
        return error

    @app.post("/cgi-bin/message/custom/send")
    async def send(request: Request, access_token: str = "") -> dict[str, Any]:
        body = await request.json()
        if state.delay_s:
            await asyncio.sleep(state.delay_s)
        planned = state.errors_for.get(body.get("touser", ""))
        code = state.errors.pop(0) if state.errors else planned.pop(0) if planned else _random_error()
        if not code and body.get("touser") in state.silent:
            code = 45015
        refusal = _refusal(body, code, access_token)
        if refusal:
            return refusal
        state.sent.append({**body, "at": time.time()})
        return {"errcode": 0, "errmsg": "ok"}

    @app.post("/cgi-bin/message/template/send")
    async def send_template(request: Request, access_token: str = "") -> dict[str, Any]:
        body = await request.json()
        refusal = _refusal(body, state.template_errors.pop(0) if state.template_errors else 0, access_token)
        if refusal:
            return refusal
        if not body.get("template_id") or not isinstance(body.get("data"), dict):
            return {"errcode": 40037, "errmsg": "invalid template_id"}
        state.templates.append({**body, "at": time.time()})
        return {"errcode": 0, "errmsg": "ok", "msgid": next(counter)}

    @app.post("/cgi-bin/menu/create")
    async def menu(request: Request, access_token: str = "") -> dict[str, Any]:
        error = _token_error(access_token)
        if error:
            return error
        state.menus.append(await request.json())
        return {"errcode": 0, "errmsg": "ok"}

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[str]:
    """Run an ASGI app (lifespan included) with uvicorn on loopback in a thread; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class SlowBot(FakeBot):
    """FakeBot that takes `slow_s` over a message starting with "slow" (a slow action)."""

    def __init__(self, slow_s: float = 6.0) -> None:
        super().__init__()
        self.slow_s = slow_s
        self.entered: list[str] = []  # every call, recorded as it starts (`sent` only once it has answered)

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> BotTurn:
        self.entered.append(text)
        if text.startswith("slow"):
            await asyncio.sleep(self.slow_s)
        return await super().send(sender, text, metadata)
