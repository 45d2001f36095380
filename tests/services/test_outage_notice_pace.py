"""The outage notices' pace shared by api processes through Redis (127.0.0.1:6379 on every machine of this
project), and what it does when Redis does not answer."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid

import pytest

from services.outage_notice_delivery import SharedPace

REDIS_URL = os.environ.get("POWERDESK_TEST_REDIS", "redis://127.0.0.1:6379/15")


async def test_two_processes_share_one_pace() -> None:
    from redis.asyncio import Redis

    key = f"test:pace:{uuid.uuid4().hex}"
    clients = [Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)]  # two api processes' own connections
    paces = [SharedPace(50, client, key) for client in clients]
    starts: list[float] = []

    async def start(pace: SharedPace) -> None:
        await pace.wait()
        starts.append(time.monotonic())

    began = time.monotonic()
    try:
        await asyncio.gather(*(start(paces[i % 2]) for i in range(40)))
        for pace in paces:
            await pace.idle()
    finally:
        for client in clients:
            await client.aclose()
    # 40 starts at 50 a second between them, not 50 a second each: the last one about 0.8 s after the first
    assert time.monotonic() - began >= 0.7
    assert max(starts) - min(starts) >= 0.7


async def test_without_redis_each_process_paces_itself_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    from redis.asyncio import Redis

    nowhere = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))

    pace = SharedPace(10, nowhere, clock=lambda: 100.0, sleep=sleep)
    with caplog.at_level(logging.WARNING, logger="services.outage_notice_delivery"):
        for _ in range(3):
            await pace.wait()
    await nowhere.aclose()
    assert slept == [0.1, 0.2]  # the local pace
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "paced per process" in warnings[0]
