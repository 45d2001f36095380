"""The WeChat official account's API: customer-service messages and template messages with retries, and the menu
(wechatpy's client).

wechatpy caches the access token in its session storage (Redis when REDIS_URL is set, so api
processes share one token; memory otherwise). Token errors (40001/42001/40014) are handled here, not by
wechatpy (whose retry recurses without end, and whose every thread fetches a token of its own — each fetch
retiring the others' tokens, a storm under concurrent pushes): the token that failed is forgotten unless
another thread or process has replaced it already, and one thread at a time fetches a missing one. Then
back-off retries for network errors, rate limits and token errors; no retry for errors that cannot heal
(45015: the customer has not written for 48 hours).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio.to_thread
import requests
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage

from core.settings import Settings

log = logging.getLogger(__name__)
TOKEN_ERRORS = (40001, 40014, 42001)
POOL_CONNECTIONS = 64
FINAL_ERRORS = {
    45015: "customer silent for over 48 hours",
    45047: "too many pushes without a customer reply",
    43004: "customer unsubscribed",
    40003: "invalid openid",
}
# refused customer-service messages that a template message can still carry (WeChat allows templates then)
TEMPLATE_HEALS = (45015, 45047)


class PowerDeskWeChatClient(WeChatClient):
    """wechatpy's client against a configurable API base (WeChat's own, or a fake in tests)."""

    def __init__(self, api_base: str, appid: str, secret: str, session: Any = None, timeout: float = 5.0) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout, auto_retry=False)
        self._token_lock = threading.Lock()
        # concurrent pushes (outage notices) share one connection pool; requests keeps 10 connections by default
        self._http.mount("http://", HTTPAdapter(pool_maxsize=POOL_CONNECTIONS))
        self._http.mount("https://", HTTPAdapter(pool_maxsize=POOL_CONNECTIONS))
        self.api_root = api_base.rstrip("/")
        self.API_BASE_URL = f"{self.api_root}/cgi-bin/"

    def fetch_access_token(self) -> Any:
        """A new token, unless another thread fetched one while this one waited (a token is fetched when none is
        stored: wechatpy's `access_token`)."""
        with self._token_lock:
            stored = self.session.get(self.access_token_key)
            if stored:
                return {"access_token": stored}
            return self._fetch_access_token(
                url=f"{self.api_root}/cgi-bin/token",
                params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            )

    def forget_token(self, used: str | None = None) -> None:
        """Forget the stored token — only if it is still `used` (the one refused), when that is known."""
        with self._token_lock:
            if used is None or self.session.get(self.access_token_key) == used:
                self.session.delete(self.access_token_key)


def token_used(exc: WeChatClientException) -> str | None:
    """The access token a refused request carried (in its URL), if it says."""
    url = getattr(getattr(exc, "request", None), "url", None)
    if not isinstance(url, str):
        return None
    values = parse_qs(urlsplit(url).query).get("access_token")
    return values[0] if values else None


@dataclass(frozen=True)
class PushResult:
    ok: bool
    attempts: int
    error: str | None = None
    final: bool = False  # refused for good (FINAL_ERRORS): trying later will not help
    code: int | None = None  # WeChat's errcode of the last refusal


class WeChatSender:
    def __init__(
        self,
        client: PowerDeskWeChatClient,
        attempts: int = 4,
        backoff_s: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client, self.attempts, self.backoff_s, self.sleep = client, attempts, backoff_s, sleep

    async def push(self, openid: str, texts: list[str], threads: anyio.CapacityLimiter | None = None) -> PushResult:
        """Send each text in order; stop at the first one that cannot be sent. `threads`: the pool the blocking
        calls run in (default: the event loop's, which the api's requests share)."""
        tried = 0
        for text in texts:
            result = await self._push_one(openid, text, threads)
            tried += result.attempts
            if not result.ok:
                return PushResult(False, tried, result.error, result.final, result.code)
        return PushResult(True, tried)

    async def push_template(
        self,
        openid: str,
        template_id: str,
        data: dict[str, dict[str, str]],
        threads: anyio.CapacityLimiter | None = None,
    ) -> PushResult:
        """A template message (allowed when customer-service messages are not: 48 hours after the customer last
        wrote), with the same retries."""
        return await self._call(
            openid, lambda: self.client.message.send_template(openid, template_id, data), threads, "template"
        )

    async def _push_one(self, openid: str, text: str, threads: anyio.CapacityLimiter | None) -> PushResult:
        return await self._call(openid, lambda: self.client.message.send_text(openid, text), threads, "push")

    async def _call(
        self, openid: str, send: Callable[[], Any], threads: anyio.CapacityLimiter | None, what: str
    ) -> PushResult:
        error, code = "", None
        for attempt in range(1, self.attempts + 1):
            try:
                await anyio.to_thread.run_sync(send, limiter=threads)
                return PushResult(True, attempt)
            except WeChatClientException as exc:
                code = exc.errcode
                error = f"WeChat error {code}: {exc.errmsg}"
                if code in FINAL_ERRORS:
                    log.error("%s to %s refused for good (%s): %s", what, openid, FINAL_ERRORS[code], error)
                    return PushResult(False, attempt, f"{error} ({FINAL_ERRORS[code]})", final=True, code=code)
                if code in TOKEN_ERRORS:
                    self.client.forget_token(token_used(exc))
            except (requests.RequestException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            if attempt < self.attempts:
                delay = self.backoff_s * 2 ** (attempt - 1)
                log.warning(
                    "%s to %s failed (%s), attempt %d/%d; retrying in %.1f s",
                    what,
                    openid,
                    error,
                    attempt,
                    self.attempts,
                    delay,
                )
                await self.sleep(delay)
        log.error("%s to %s failed after %d attempts: %s", what, openid, self.attempts, error)
        return PushResult(False, self.attempts, error, code=code)

    async def create_menu(self, payload: dict[str, Any]) -> dict[str, Any]:
        return dict(await anyio.to_thread.run_sync(self.client.menu.create, payload))


def make_sender(settings: Settings, redis_url: str = "") -> WeChatSender | None:
    """The customer-service API client, or None without WECHAT_APP_ID/WECHAT_APP_SECRET."""
    if not (settings.wechat_app_id and settings.wechat_app_secret):
        return None
    session: Any = MemoryStorage()
    if redis_url:  # one token for every api process (a refresh invalidates the others' tokens)
        from redis import Redis
        from wechatpy.session.redisstorage import RedisStorage

        session = RedisStorage(Redis.from_url(redis_url), prefix="powerdesk:wechat")
    client = PowerDeskWeChatClient(
        settings.wechat_api_base, settings.wechat_app_id, settings.wechat_app_secret, session=session
    )
    return WeChatSender(client, attempts=settings.wechat_push_attempts)
