"""Per-user rate limiting: a token bucket in memory, or in Redis when several api processes run."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Protocol

from redis.exceptions import RedisError

from core.errors import RateLimited

log = logging.getLogger(__name__)

_REDIS_BUCKET = """
local key = KEYS[1]
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1 allowed = 1 end
redis.call('HSET', key, 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', key, math.ceil(burst / rate) + 1)
return {allowed, tostring((1 - tokens) / rate)}
"""


class RateLimiter(Protocol):
    async def check(self, key: str) -> None:
        """Raise RateLimited when `key` has no token left."""


class MemoryRateLimiter:
    def __init__(self, burst: int, per_second: float, max_keys: int = 100_000) -> None:
        self.burst, self.rate, self.max_keys = burst, per_second, max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def check(self, key: str) -> None:
        now = time.monotonic()
        tokens, ts = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - ts) * self.rate)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if not allowed:
            raise RateLimited(_message(self.rate), retry_after_s=(1 - tokens) / self.rate)


class RedisRateLimiter:
    """Shared by every api process. While Redis is away each process limits on its own (the same limits, per
    process) instead of refusing everyone: a limiter must not become the outage."""

    def __init__(self, redis: object, burst: int, per_second: float) -> None:
        self.redis, self.burst, self.rate = redis, burst, per_second
        self._script = redis.register_script(_REDIS_BUCKET)  # type: ignore[attr-defined]
        self._fallback = MemoryRateLimiter(burst, per_second)
        self._warned_at = 0.0

    async def check(self, key: str) -> None:
        try:
            allowed, retry = await self._script(keys=[f"powerdesk:rl:{key}"], args=[self.burst, self.rate, time.time()])
        except (OSError, RedisError) as exc:
            if time.monotonic() - self._warned_at > 30:
                self._warned_at = time.monotonic()
                log.error("Redis unavailable (%s): rate limits are kept per process until it is back", exc)
            await self._fallback.check(key)
            return
        if not int(allowed):
            raise RateLimited(_message(self.rate), retry_after_s=float(retry))


def _message(rate: float) -> str:
    return f"too many messages from this user; at most {rate:g} per second on average, retry shortly"
