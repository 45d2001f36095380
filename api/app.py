"""The FastAPI app factory: everything with I/O is built in the lifespan, or handed in by tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import InterfaceError, OperationalError

from api.admission import Admission
from api.bot_client import BotClient, make_bot_client
from api.console.wiring import add_console_routes, start_console
from api.conversations import ConversationService
from api.forecast_service import ForecastService
from api.headers import SecurityHeaders
from api.hub import Hub
from api.limits import BodySizeLimit
from api.origins import WidgetCORS
from api.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from api.routes import anomaly, forecast, health, messages, outages, tickets, wechat, widget
from api.texts import load_texts
from api.wechat.wiring import start_wechat
from api.widget_session import WidgetSessions
from core.db import make_engine, make_session_factory
from core.errors import PowerDeskError, RateLimited
from core.settings import Settings, get_settings
from services.conversation_log import ConversationStore
from services.outage_notice_delivery import make_delivery
from services.wechat_api import make_sender

log = logging.getLogger(__name__)
DATABASE_UNAVAILABLE = "the database is not reachable; nothing was stored: send the message again in a few seconds"
HERE = Path(__file__).resolve().parent


def create_app(settings: Settings | None = None, bot: BotClient | None = None, knowledge: Any = None) -> FastAPI:
    """`knowledge`: a retriever for the console's suggestions (tests); default: the index, opened on first use."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.effective_database_url)
        sessions = make_session_factory(engine)
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
        redis = None
        limiter: RateLimiter
        if settings.redis_url:
            from redis.asyncio import Redis

            redis = Redis.from_url(settings.redis_url)
            limiter = RedisRateLimiter(redis, settings.rate_limit_burst, settings.rate_limit_per_second)
        else:
            limiter = MemoryRateLimiter(settings.rate_limit_burst, settings.rate_limit_per_second)
        texts = load_texts(settings.data_dir)
        store = ConversationStore(sessions)
        bot_client = bot or make_bot_client(
            settings.rasa_url_list, settings.rasa_timeout_s, http, settings.rasa_token, settings.api_workers
        )
        app.state.settings = settings
        app.state.sessions = sessions
        app.state.http = http
        app.state.bot = bot_client
        app.state.texts = texts
        app.state.store = store
        app.state.hub = Hub()
        app.state.forecast = ForecastService(settings)
        handoffs = await start_console(app, settings, sessions, store, bot_client, texts, redis, knowledge)
        app.state.conversations = ConversationService(
            store,
            bot_client,
            limiter,
            texts,
            settings.max_message_chars,
            handoffs,
            Admission.from_settings(settings, redis),
            reclaim_after_s=settings.stored_reclaim_after_s,
        )
        start_wechat(app, settings, sessions)
        replayer = asyncio.create_task(app.state.conversations.run_replayer(settings.bot_replay_interval_s))
        notices = make_delivery(
            settings, sessions, app.state.wechat_sender or make_sender(settings, settings.redis_url), redis=redis
        )
        notifier = asyncio.create_task(notices.run(settings.outage_notice_poll_s))
        try:
            yield
        finally:
            replayer.cancel()
            notifier.cancel()
            if app.state.wechat is not None:
                await app.state.wechat.drain()
            await app.state.bus.stop()
            await app.state.dispatcher.drain()
            await http.aclose()
            if redis is not None:
                await redis.aclose()
            engine.dispose()

    production = settings.powerdesk_env == "production"
    docs = {"docs_url": None, "redoc_url": None, "openapi_url": None} if production else {}
    app = FastAPI(title="PowerDesk 电力营销智能客服", version="0.1.0", lifespan=lifespan, **docs)  # type: ignore[arg-type]
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.widget_sessions = WidgetSessions(settings.secret_key, settings.widget_session_days * 86400)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        larger={"/api/v1/outages": settings.max_outage_body_bytes},
    )
    app.add_middleware(SecurityHeaders, https=settings.base_url.startswith("https://"))
    app.add_middleware(WidgetCORS, origins=settings.widget_origin_list)
    app.include_router(health.router)
    app.include_router(messages.router)
    app.include_router(widget.router)
    app.include_router(anomaly.router)
    app.include_router(outages.router)
    app.include_router(tickets.router)
    app.include_router(wechat.router)
    add_console_routes(app)
    app.include_router(forecast.router)

    @app.exception_handler(PowerDeskError)
    async def _powerdesk_error(_: Request, exc: PowerDeskError) -> JSONResponse:
        headers = {"Retry-After": str(max(1, round(exc.retry_after_s)))} if isinstance(exc, RateLimited) else None
        if exc.status_code >= 500:
            log.error("%s: %s", exc.code, exc)
        return JSONResponse({"error": exc.code, "message": str(exc)}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return JSONResponse(
            {"error": "database_unavailable", "message": DATABASE_UNAVAILABLE},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
            for e in exc.errors()
        )
        return JSONResponse({"error": "invalid_input", "message": problems}, status_code=422)

    return app
