"""Building the console and the handoff machinery in the app's lifespan (nothing at import)."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.bot_client import BotClient
from api.bus import REDIS_CHANNEL, Bus, Dispatcher, LocalBus, RedisBus
from api.channels import Channels, StoredOnlyChannel, WidgetChannel
from api.console import outage_pages, pages, routes_api, ticket_pages, ws
from api.console.canned import load_console_data
from api.console.customer_view import SectionProviders
from api.handoff import HandoffService
from api.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from api.texts import Texts
from core.db import transaction
from core.errors import PowerDeskError, UpstreamUnavailable
from core.settings import Settings
from services import agents, handoffs
from services.anomaly_alerts import console_alert_rows
from services.bills import console_bill_rows
from services.conversation_log import ConversationStore
from services.labels import load_labels
from services.sentiment import handoff_scorer

IP_FACTOR = 10


@dataclass(frozen=True)
class LoginLimiters:
    user: RateLimiter
    address: RateLimiter
    namespace: str  # Redis keys of one deployment

    async def check(self, username: str, address: str) -> None:
        await self.address.check(f"console-login:{self.namespace}:ip:{address}")
        await self.user.check(f"console-login:{self.namespace}:user:{username.lower()}")


class KnowledgeProvider:
    """The knowledge retriever for suggestions, opened on first use (the embedder is large)."""

    def __init__(self, settings: Settings, retriever: Any = None) -> None:
        self.settings, self._retriever = settings, retriever
        self._lock = asyncio.Lock()
        self._error: str | None = None

    async def get(self) -> Any:
        if self._retriever is not None:
            return self._retriever
        async with self._lock:
            if self._retriever is None and self._error is None:
                from knowledge.service import open_retriever

                try:
                    self._retriever = await run_in_threadpool(open_retriever, self.settings)
                except PowerDeskError as exc:
                    self._error = str(exc)
        if self._retriever is None:
            raise UpstreamUnavailable(f"knowledge suggestions are unavailable: {self._error}")
        return self._retriever


def add_console_routes(app: FastAPI) -> None:
    app.include_router(pages.router)
    app.include_router(outage_pages.router)
    app.include_router(ticket_pages.router)
    app.include_router(routes_api.router)
    app.include_router(ws.router)


async def start_console(
    app: FastAPI,
    settings: Settings,
    sessions: sessionmaker[Session],
    store: ConversationStore,
    bot: BotClient,
    texts: Texts,
    redis: Any,
    knowledge: Any = None,
) -> HandoffService:
    def ack(ids: list[int]) -> None:
        with transaction(sessions) as session:
            handoffs.mark_delivered(session, ids)

    dispatcher = Dispatcher(app.state.hub, ack)
    # one Redis serves several deployments (pub/sub ignores Redis database numbers): the processes that share
    # a database share a bus channel
    namespace = hashlib.sha256(settings.effective_database_url.encode()).hexdigest()[:16]
    bus: Bus = (
        RedisBus(redis, dispatcher, f"{REDIS_CHANNEL}:{namespace}") if redis is not None else LocalBus(dispatcher)
    )
    await bus.start()
    # logins: N attempts per user name and 10·N per address (a call centre shares one address) per window
    attempts, window = settings.console_login_attempts, settings.console_login_window_s
    limiters: list[RateLimiter] = []
    for burst in (attempts, attempts * IP_FACTOR):
        rate = burst / window
        limiters.append(RedisRateLimiter(redis, burst, rate) if redis is not None else MemoryRateLimiter(burst, rate))
    channels = Channels(WidgetChannel(bus), StoredOnlyChannel("api"))
    service = HandoffService(sessions, store, bot, bus, channels, texts, settings, handoff_scorer(settings))

    async def team_numbers() -> handoffs.TeamNumbers:
        def work() -> handoffs.TeamNumbers:
            with sessions() as session:
                online = [a.username for a in agents.online_agents(session, settings.agent_online_timeout_s)]
                return handoffs.team_numbers(session, settings.queue_wait_target_s, online)

        return await run_in_threadpool(work)

    app.state.bus = bus
    app.state.dispatcher = dispatcher
    app.state.channels = channels
    app.state.handoffs = service
    app.state.login_limiters = LoginLimiters(user=limiters[0], address=limiters[1], namespace=namespace)
    app.state.console_data = load_console_data(settings.data_dir)
    app.state.labels = labels = load_labels(settings.data_dir)
    app.state.templates.env.filters["zh"] = labels  # {{ case.reason | zh("reason") }}
    app.state.templates.env.globals["code_names"] = labels.by_group  # for the console's JavaScript
    sections = SectionProviders()
    sections.register("bills", console_bill_rows)
    sections.register("anomalies", console_alert_rows)
    app.state.customer_sections = sections
    app.state.knowledge = KnowledgeProvider(settings, knowledge)
    app.state.team_numbers = team_numbers
    return service
