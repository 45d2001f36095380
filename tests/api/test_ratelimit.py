"""The per-user token bucket, in memory and in Redis (127.0.0.1:6379 on every machine of this project)."""

from __future__ import annotations

import os
import uuid

import pytest

from api.ratelimit import MemoryRateLimiter, RedisRateLimiter
from core.errors import RateLimited

REDIS_URL = os.environ.get("POWERDESK_TEST_REDIS", "redis://127.0.0.1:6379/15")


async def _burst(limiter, key: str, n: int) -> int:  # type: ignore[no-untyped-def]
    allowed = 0
    for _ in range(n):
        try:
            await limiter.check(key)
            allowed += 1
        except RateLimited as exc:
            assert exc.retry_after_s > 0 and "per second" in str(exc)
    return allowed


async def test_memory_bucket() -> None:
    limiter = MemoryRateLimiter(burst=5, per_second=1.0)
    assert await _burst(limiter, "a", 20) == 5
    assert await _burst(limiter, "b", 3) == 3  # per user


async def test_memory_bucket_forgets_old_keys() -> None:
    limiter = MemoryRateLimiter(burst=1, per_second=0.001, max_keys=10)
    for i in range(50):
        await limiter.check(f"user-{i}")
    assert len(limiter._buckets) == 10


async def test_redis_bucket_is_shared_between_limiters() -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception:
        await redis.aclose()
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}; CI machines of this project run it")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    key = f"test-{uuid.uuid4().hex}"
    first = RedisRateLimiter(redis, burst=6, per_second=0.5)
    second = RedisRateLimiter(redis, burst=6, per_second=0.5)  # as if in another api process
    assert await _burst(first, key, 4) + await _burst(second, key, 4) == 6
    await redis.delete(f"powerdesk:rl:{key}")
    await redis.aclose()
