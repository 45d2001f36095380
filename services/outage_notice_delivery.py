"""Delivering the queued outage notices (services.outage_notices): WeChat customer-service messages, paced and
concurrent, and widget notices; the api runs it in the background, `powerdesk outage notify` on demand.

Database work runs in worker threads (the event loop is never blocked); WeChat calls run in a thread pool of their
own (`concurrency` threads), so pushing 10,000 notices does not take the threads the api's requests need.
WeChat's transient errors are retried by `WeChatSender` (back-off); a notice that still could not be sent is
pending again `retry_after` later, up to `rounds` times. A customer-service message refused because the customer
has not written for 48 hours (45015) or was sent too many (45047) goes out as a template message instead when
WECHAT_NOTICE_TEMPLATE_ID names one; any other final refusal (unsubscribed …) marks it failed with the reason.
The pace (`rate` per second) is shared by every api process through Redis when REDIS_URL is set (`SharedPace`),
else it is per process."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from redis.exceptions import RedisError
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utc_now
from core.db import transaction
from core.settings import Settings
from services.outage_notice_counts import waiting
from services.outage_notice_text import NoticeWording, load_notice_wording
from services.outage_notices import ClaimedNotice, Outcome, claim_due, deliver_to_widget, record
from services.wechat_api import TEMPLATE_HEALS, WeChatSender

log = logging.getLogger(__name__)
BATCH = 500  # notices claimed at a time
STALE_AFTER = dt.timedelta(minutes=5)  # a claim older than this was its worker's last (far beyond a batch's time)
RETRY_AFTER = dt.timedelta(minutes=1)  # a notice WeChat did not take waits this long times its round …
ROUNDS = 3  # … for this many rounds of WeChatSender's attempts, then it has failed


class Pace:
    """At most `per_s` starts a second, spread evenly (no bursts)."""

    def __init__(
        self,
        per_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_s <= 0:
            raise ValueError(f"the notice rate must be above 0 a second, got {per_s}")
        self.interval, self.clock, self.sleep = 1.0 / per_s, clock, sleep
        self._next = 0.0

    async def wait(self) -> None:
        now = self.clock()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await self.sleep(slot - now)

    async def idle(self) -> None:
        """Until every start handed out so far has come."""
        now = self.clock()
        if self._next > now:
            await self.sleep(self._next - now)


# the next free start of the shared pace, reserved atomically; Redis's own clock, so machines' clocks need not agree
_RESERVE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local interval = tonumber(ARGV[1])
local slot = math.max(t, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], tostring(slot + interval), 'EX', 60)
return tostring(slot - t)
"""


class SharedPace(Pace):
    """At most `per_s` starts a second across every process using the same Redis key: each start reserves the
    next free slot in Redis and waits for it. Without Redis (down, unreachable) it paces this process alone and
    says so once."""

    def __init__(
        self,
        per_s: float,
        redis: Any,
        key: str = "powerdesk:outage-notice-pace",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(per_s, clock, sleep)
        self.redis, self.key = redis, key
        self._reserve = redis.register_script(_RESERVE)
        self._local_since: float | None = None

    async def wait(self) -> None:
        try:
            delay = float(await self._reserve(keys=[self.key], args=[self.interval]))
        except RedisError as exc:
            if self._local_since is None:
                log.warning("outage notices paced per process: Redis is not answering (%s)", exc)
                self._local_since = self.clock()
            await super().wait()
            return
        if self._local_since is not None:
            log.info("outage notices paced through Redis again")
            self._local_since = None
        self._next = max(self._next, self.clock() + delay)  # what `idle` waits for
        if delay > 0:
            await self.sleep(delay)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0  # WeChat did not take them this time; pending again
    cancelled: int = 0
    attempts: int = 0  # WeChat API calls, retries included
    waiting_for_wechat: int = 0  # pending WeChat notices this process cannot send (no WeChat app id/secret)
    seconds: float = 0.0

    def add(self, other: DeliveryReport) -> None:
        for name in ("sent", "failed", "retrying", "cancelled", "attempts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


class NoticeDelivery:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        wording: NoticeWording,
        wechat: WeChatSender | None,
        *,
        rate: float,
        concurrency: int,
        batch: int = BATCH,
        template_id: str = "",
        pace: Pace | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"the notice concurrency must be at least 1, got {concurrency}")
        self.sessions, self.wording, self.wechat = sessions, wording, wechat
        self.template_id = template_id
        self.pace = pace or Pace(rate)
        self.concurrency, self.batch = concurrency, batch
        self.threads = anyio.CapacityLimiter(concurrency)
        self.channels: tuple[str, ...] = ("wechat", "widget") if wechat is not None else ("widget",)
        self._last_problem = ""

    async def deliver_due(self) -> DeliveryReport:
        """Deliver every notice due now (batch after batch) and say what happened."""
        started = time.perf_counter()
        report = DeliveryReport()
        batches: set[asyncio.Task[DeliveryReport]] = set()
        try:
            while True:
                token = uuid.uuid4().hex
                claimed, cancelled = await anyio.to_thread.run_sync(self._claim, token)
                report.cancelled += cancelled
                if not claimed and not cancelled:
                    break
                batches.add(asyncio.create_task(self._deliver(token, claimed)))
                # the next batch is claimed once this one's pushes have all started (its slow retries go on
                # meanwhile), with at most two batches open
                await asyncio.sleep(0)
                await self.pace.idle()
                while len(batches) >= 2:
                    done, batches = await asyncio.wait(batches, return_when=asyncio.FIRST_COMPLETED)
                    for batch in done:
                        report.add(batch.result())
        except BaseException:
            await asyncio.gather(*batches, return_exceptions=True)  # what was claimed is still delivered
            raise
        for batch_report in await asyncio.gather(*batches):
            report.add(batch_report)
        if self.wechat is None:
            report.waiting_for_wechat = (await anyio.to_thread.run_sync(self._waiting)).get("wechat", 0)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    async def run(self, poll_s: float) -> None:
        """Deliver what is due every `poll_s` seconds (the first time `poll_s` after starting) until cancelled; a
        database or network problem is logged (once until it changes) and tried again at the next poll."""
        while True:
            await asyncio.sleep(poll_s)
            try:
                report = await self.deliver_due()
                if report.sent or report.failed or report.retrying:
                    log.info("outage notices: %s", report.as_dict())
                if report.waiting_for_wechat and self._last_problem != "wechat":
                    self._last_problem = "wechat"
                    log.warning(
                        "%d outage notices wait for WeChat: set WECHAT_APP_ID and WECHAT_APP_SECRET",
                        report.waiting_for_wechat,
                    )
                elif not report.waiting_for_wechat:
                    self._last_problem = ""
            except Exception as exc:  # the worker outlives the database's and the network's bad moments
                problem = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                if problem != self._last_problem:
                    log.warning("outage notices not delivered this time (%s); trying again in %.0f s", problem, poll_s)
                    self._last_problem = problem

    def _claim(self, token: str) -> tuple[list[ClaimedNotice], int]:
        with transaction(self.sessions) as session:
            return claim_due(session, token, channels=self.channels, limit=self.batch, stale_after=STALE_AFTER)

    def _waiting(self) -> dict[str, int]:
        with self.sessions() as session:
            return waiting(session)

    async def _deliver(self, token: str, claimed: list[ClaimedNotice]) -> DeliveryReport:
        texts: dict[tuple[int, str], str] = {}
        for notice in claimed:  # one text per event and kind
            key = (notice.outage_id, notice.kind)
            if key not in texts:
                texts[key] = self.wording.render(notice.kind, notice.facts)
        report = DeliveryReport()
        widget = [(n, texts[(n.outage_id, n.kind)]) for n in claimed if n.channel == "widget"]
        if widget:
            sent, failed = await anyio.to_thread.run_sync(self._to_widget, token, widget)
            report.sent += sent
            report.failed += failed
        pushes = [(n, texts[(n.outage_id, n.kind)]) for n in claimed if n.channel == "wechat"]
        if pushes:
            outcomes = await asyncio.gather(*(self._push(n, text) for n, text in pushes))
            await anyio.to_thread.run_sync(self._record, token, list(outcomes))
            for (notice, _), outcome in zip(pushes, outcomes, strict=True):
                report.attempts += outcome.attempts - notice.attempts
                if outcome.status == "sent":
                    report.sent += 1
                elif outcome.status == "failed":
                    report.failed += 1
                else:
                    report.retrying += 1
        return report

    def _to_widget(self, token: str, notices: list[tuple[ClaimedNotice, str]]) -> tuple[int, int]:
        with transaction(self.sessions) as session:
            return deliver_to_widget(session, token, notices)

    def _record(self, token: str, outcomes: list[Outcome]) -> None:
        with transaction(self.sessions) as session:
            record(session, token, outcomes)

    async def _push(self, notice: ClaimedNotice, text: str) -> Outcome:
        assert self.wechat is not None  # only claimed when there is a sender
        await self.pace.wait()
        result = await self.wechat.push(notice.recipient or "", [text], threads=self.threads)
        attempts = notice.attempts + result.attempts
        if result.ok:
            return Outcome(notice.id, "sent", attempts, None, text, via="message")
        if result.code in TEMPLATE_HEALS and self.template_id:
            data = self.wording.template_data(notice.kind, notice.facts)
            result = await self.wechat.push_template(notice.recipient or "", self.template_id, data, self.threads)
            attempts += result.attempts
            if result.ok:
                return Outcome(
                    notice.id, "sent", attempts, None, "\n".join(f["value"] for f in data.values()), via="template"
                )
        rounds = -(-attempts // self.wechat.attempts)
        if result.final or rounds >= ROUNDS:
            return Outcome(notice.id, "failed", attempts, result.error, text)
        return Outcome(notice.id, "pending", attempts, result.error, None, utc_now() + RETRY_AFTER * rounds)


def make_delivery(
    settings: Settings,
    sessions: sessionmaker[Session],
    wechat: WeChatSender | None,
    rate: float | None = None,
    concurrency: int | None = None,
    redis: Any = None,
) -> NoticeDelivery:
    """The delivery with the settings' pace (OUTAGE_NOTICE_RATE, OUTAGE_NOTICE_CONCURRENCY) and wording; `redis`
    (an asyncio client): the pace shared with every other process using it."""
    per_s = rate or settings.outage_notice_rate
    return NoticeDelivery(
        sessions,
        load_notice_wording(settings.data_dir),
        wechat,
        rate=per_s,
        concurrency=concurrency or settings.outage_notice_concurrency,
        template_id=settings.wechat_notice_template_id,
        pace=SharedPace(per_s, redis) if redis is not None else None,
    )
