"""RasaClient's pause/resume reach the conversation Rasa knows (its router does not unquote %3A)."""

from __future__ import annotations

import httpx
import pytest

from api.bot_client import RasaClient
from core.errors import UpstreamUnavailable


async def test_pause_and_resume_name_the_sender_as_rasa_does() -> None:
    seen: list[tuple[str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.raw_path.decode(), request.content))
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = RasaClient("http://rasa", 1.0, http, token="t0ken-for-rasa-api")
        await client.pause("widget:abcdefghijklmnop")
        await client.resume("api:u-1@x.y")
    assert seen == [
        ("/conversations/widget:abcdefghijklmnop/tracker/events?token=t0ken-for-rasa-api", b'[{"event":"pause"}]'),
        (
            "/conversations/api:u-1@x.y/tracker/events?token=t0ken-for-rasa-api",
            b'[{"event":"resume"},{"event":"action","name":"action_listen"}]',
        ),
    ]


async def test_an_unreachable_rasa_is_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(UpstreamUnavailable, match="could not resume"):
            await RasaClient("http://rasa", 1.0, http).resume("api:x")


async def test_messages_carry_the_channel_token_and_say_whether_rasa_was_reached() -> None:
    headers: list[str] = []
    answers = iter([httpx.Response(200, json={"messages": []}), httpx.Response(503, json={}), httpx.Response(500)])

    def handler(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers.get("X-PowerDesk-Token", ""))
        return next(answers)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = RasaClient("http://rasa", 1.0, http, token="t0ken-for-rasa-api")
        await client.send("api:x", "你好", {})
        with pytest.raises(UpstreamUnavailable) as no_model:  # restarting: not processed, may be sent again
            await client.send("api:x", "你好", {})
        assert no_model.value.unreached
        with pytest.raises(UpstreamUnavailable) as failed:  # it may have acted: never sent again
            await client.send("api:x", "你好", {})
        assert not failed.value.unreached
    assert headers == ["t0ken-for-rasa-api"] * 3
