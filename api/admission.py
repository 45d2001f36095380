"""Limits on what costs the most: new conversations (a flood of fresh visitor ids) and handoffs (the agents'
queue), for all sources together and per client address. In Redis when several api processes run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from core.errors import RateLimited, TooManyConversations
from core.settings import Settings

# channels whose senders are verified by the platform (a WeChat openid is signed by WeChat's servers)
VERIFIED_CHANNELS = frozenset({"wechat"})


def per_minute(redis: Any, count: int) -> RateLimiter:
    """`count` per minute on average, all of them at once allowed (a burst of a minute's worth)."""
    if redis is not None:
        return RedisRateLimiter(redis, count, count / 60)
    return MemoryRateLimiter(count, count / 60)


@dataclass(frozen=True)
class Admission:
    new_all: RateLimiter
    new_per_client: RateLimiter
    handoff_all: RateLimiter
    handoff_per_client: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings, redis: Any = None) -> Admission:
        return cls(
            per_minute(redis, settings.new_conversations_per_minute),
            per_minute(redis, settings.new_conversations_per_client_minute),
            per_minute(redis, settings.handoffs_per_minute),
            per_minute(redis, settings.handoffs_per_client_minute),
        )

    async def new_conversation(self, channel: str, client: str | None) -> None:
        """RateLimited when one more conversation may not start now (WeChat's verified senders are not
        limited here: refusing them would lose the message, since WeChat does not retry after an answer)."""
        if channel in VERIFIED_CHANNELS:
            return
        try:
            if client:
                await self.new_per_client.check(f"new:client:{client}")
            await self.new_all.check("new:all")
        except RateLimited as exc:
            raise TooManyConversations(
                "too many new conversations right now; retry in a minute", retry_after_s=exc.retry_after_s
            ) from exc

    async def handoff(self, client: str | None) -> None:
        if client:
            await self.handoff_per_client.check(f"handoff:client:{client}")
        await self.handoff_all.check("handoff:all")
