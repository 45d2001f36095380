"""The running api with the WeChat channel on loopback (uvicorn), a fake WeChat API server, and the
wechatpy-built requests of tests.api.wechat_sim; used by the WeChat tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
from sqlalchemy import func, select

from api.app import create_app
from core.db import make_engine, make_session_factory
from core.models_wechat import WeChatInbound
from core.settings import Settings
from tests.api.fake_wechat import APP_ID, APP_SECRET, FakeWeChatState, SlowBot, fake_wechat_app, serve
from tests.api.wechat_sim import AES_KEY, TOKEN, WeChatSim
from tests.waiting import wait_until  # noqa: F401 - imported from here by the WeChat tests

SLOW_S = 2.5
PASSIVE_S = 1.0


def inbound_count(database_url: str, status: str) -> int:
    """WeChat messages in the inbox with this status (`pushed` once the answer reached WeChat)."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        n = session.scalar(select(func.count()).select_from(WeChatInbound).where(WeChatInbound.status == status))
    engine.dispose()
    return int(n or 0)


@dataclass
class Env:
    url: str
    sim: WeChatSim
    wechat: FakeWeChatState
    bot: SlowBot
    settings: Settings
    http: httpx.Client

    def post(self, xml: str, **kw: str) -> httpx.Response:
        query, body = self.sim.request(xml)
        query.update(kw)
        return self.http.post(f"{self.url}/wechat", params=query, content=body, headers={"Content-Type": "text/xml"})

    def answer(self, xml: str) -> str | None:
        query, body = self.sim.request(xml)
        response = self.http.post(
            f"{self.url}/wechat", params=query, content=body, headers={"Content-Type": "text/xml"}
        )
        assert response.status_code == 200, response.text
        return self.sim.reply_text(response.text, query)

    def wait_pushed(self, openid: str, count: int, timeout: float = 15.0) -> list[str]:
        wait_until(lambda: len(self.wechat.texts_to(openid)) >= count, timeout)
        return self.wechat.texts_to(openid)

    def wait_count(self, stmt: object, at_least: int = 1, timeout: float = 15.0) -> int:
        """Wait until the query counts `at_least` rows (a database row, not a fixed sleep); returns the count."""
        wait_until(lambda: self.count(stmt) >= at_least, timeout)
        return self.count(stmt)

    def count(self, stmt: object) -> int:
        engine = make_engine(self.settings.effective_database_url)
        with make_session_factory(engine)() as session:
            value = int(session.scalar(stmt) or 0)  # type: ignore[call-overload]
        engine.dispose()
        return value


def wechat_settings(api_settings: Settings, wechat_url: str, aes: bool = False, **extra: object) -> Settings:
    """The api's settings for the official account of these tests, talking to the fake WeChat at wechat_url."""
    return api_settings.model_copy(
        update={
            "wechat_token": TOKEN,
            "wechat_app_id": APP_ID,
            "wechat_app_secret": APP_SECRET,
            "wechat_encoding_aes_key": AES_KEY if aes else "",
            "wechat_api_base": wechat_url,
            "wechat_passive_reply_s": PASSIVE_S,
            **extra,
        }
    )


def make_env(api_settings: Settings, aes: bool, **extra: object) -> Iterator[Env]:
    state = FakeWeChatState()
    bot = SlowBot(SLOW_S)
    with serve(fake_wechat_app(state)) as wechat_url:
        settings = wechat_settings(api_settings, wechat_url, aes, **extra)
        with serve(create_app(settings, bot=bot)) as url, httpx.Client(timeout=30) as http:
            yield Env(url, WeChatSim(aes_key=AES_KEY if aes else None), state, bot, settings, http)
