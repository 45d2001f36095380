"""RasaClient: pause/resume reach the conversation Rasa knows (its router does not unquote %3A), the token, what
was reached, the replicas, and a turn read back from the tracker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from api.bot_client import RasaClient, ReplicatedRasa, make_bot_client, turn_in_events
from api.turn_text import replies_from_rasa
from core.errors import UpstreamBusy, UpstreamUnavailable
from tests.conftest import FIXTURES

TRACKER = json.loads((FIXTURES / "rasa" / "tracker.json").read_text(encoding="utf-8"))


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


async def test_replicas_route_each_sender_to_one_server_and_fail_over_only_when_unreached() -> None:
    down: set[str] = set()
    reached: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in down:
            raise httpx.ConnectError("refused")
        if request.url.path.endswith("/status"):
            return httpx.Response(200, json={"model_file": "m.tar.gz"})
        sender = json.loads(request.content)["sender"]
        reached.append((host, sender))
        if sender == "api:fails-inside":
            return httpx.Response(500)
        return httpx.Response(200, json={"messages": [{"text": host}]})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        bot = make_bot_client(["http://rasa-a", "http://rasa-b"], 1.0, http, "t0ken-for-rasa-api")
        assert isinstance(bot, ReplicatedRasa)
        senders = [f"api:user-{i}" for i in range(20)]
        first = {s: (await bot.send(s, "你好", {})).messages[0]["text"] for s in senders}
        assert set(first.values()) == {"rasa-a", "rasa-b"}  # spread over both
        assert first == {s: (await bot.send(s, "你好", {})).messages[0]["text"] for s in senders}  # and stable
        down.add("rasa-a")
        assert {(await bot.send(s, "在吗", {})).messages[0]["text"] for s in senders} == {"rasa-b"}
        assert await bot.ready() and await bot.replica_status() == {"http://rasa-a": False, "http://rasa-b": True}
        reached.clear()
        with pytest.raises(UpstreamUnavailable) as failed:  # reached, then failed: it may have acted
            await bot.send("api:fails-inside", "你好", {})
        assert not failed.value.unreached and len(reached) == 1  # not sent to the other server
        down.add("rasa-b")
        with pytest.raises(UpstreamUnavailable) as nobody:
            await bot.send("api:user-1", "你好", {})
        assert nobody.value.unreached and not await bot.ready()
    async with httpx.AsyncClient() as http:
        assert isinstance(make_bot_client(["http://rasa"], 1.0, http, "t"), RasaClient)


def test_a_turn_is_found_by_the_message_id_in_its_user_event_and_ends_at_the_next_one() -> None:
    events = TRACKER["events"]
    first = turn_in_events(events, 41)
    assert first is not None and (first.intent, first.confidence) == ("query_bill", 0.93)
    replies = replies_from_rasa(first.messages)  # as the api stores replies the channel returned
    assert [(r.text, [b.payload for b in r.buttons], r.custom) for r in replies] == [
        ("查询电费需要先绑定户号。", ["/bind_account"], {"show": "binding_hint"})
    ]
    handoff = turn_in_events(events, 42)
    assert handoff is not None and handoff.intent == "request_human"
    assert [m["custom"] for m in handoff.messages] == [None, {"handoff": {"reason": "asked"}}]
    assert turn_in_events(events, 43) is None  # not seen by Rasa
    assert turn_in_events(events, "41") is None  # type: ignore[arg-type]  # the api's ids are numbers
    assert turn_in_events([None, "junk", {"event": "user"}], 41) is None


async def test_the_tracker_is_read_with_the_token_and_a_failed_read_is_unreached() -> None:
    seen: list[str] = []
    answers: Iterator[httpx.Response | Exception] = iter(
        [
            httpx.Response(200, json=TRACKER),
            httpx.ConnectError("refused"),
            httpx.Response(500),
            httpx.Response(200, text="not json"),
            httpx.Response(200, json=[]),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = RasaClient("http://rasa", 1.0, http, token="t0ken-for-rasa-api")
        found = await client.find_turn("widget:v-7f3a", 41)
        assert found is not None and found.intent == "query_bill"
        for _ in range(4):  # reading has no effect in Rasa: whatever failed, it may be asked again
            with pytest.raises(UpstreamUnavailable) as failed:
                await client.find_turn("widget:v-7f3a", 41)
            assert failed.value.unreached
    assert seen[0] == "/conversations/widget:v-7f3a/tracker?token=t0ken-for-rasa-api&include_events=ALL"


async def test_turns_beyond_those_at_once_wait_in_order_and_a_long_wait_is_unreached() -> None:
    """At most `turns_at_once` turns go to Rasa at once; the others wait in order, and one that cannot be sent
    within the timeout has not reached Rasa (kept and sent again later)."""
    import asyncio

    release = asyncio.Event()
    order: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sender = json.loads(request.content)["sender"]
        order.append(sender)
        if sender == "widget:first":
            await release.wait()
        return httpx.Response(200, json={"messages": [{"text": sender}]})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = RasaClient("http://rasa", 0.3, http, token="t0ken-for-rasa-api", turns_at_once=1)
        first = asyncio.create_task(client.send("widget:first", "停电了", {}))
        await asyncio.sleep(0.05)
        with pytest.raises(UpstreamUnavailable) as waited:
            await client.send("widget:second", "停电了", {})
        assert waited.value.unreached and order == ["widget:first"]
        release.set()
        assert (await first).messages == [{"text": "widget:first"}]
        third = await client.send("widget:third", "停电了", {})
        assert third.messages == [{"text": "widget:third"}] and order == ["widget:first", "widget:third"]


async def test_a_busy_server_fails_over_only_to_one_with_room_and_workers_share_the_turns_at_once() -> None:
    """A server whose queue stayed full for the whole timeout (saturated, or hung) passes the turn to another
    server only if that one takes it at once; when every server is full the turn is kept (unreached), never
    queued a second time behind the other server's customers. With several api workers, each sends its share of
    the turns a server takes at once."""
    import asyncio

    release = asyncio.Event()
    reached: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        reached.append(request.url.host)
        await release.wait()
        return httpx.Response(200, json={"messages": [{"text": request.url.host}]})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        bot = make_bot_client(["http://rasa-a", "http://rasa-b"], 0.3, http, "t0ken-for-rasa-api", api_workers=8)
        assert isinstance(bot, ReplicatedRasa)
        assert [r._turns._value for r in bot.replicas] == [2, 2]  # 16 at once per server, over 8 workers
        sender = "api:user-1"
        home, other = (r.base_url.removeprefix("http://") for r in bot.order(sender))
        held = [asyncio.create_task(bot.send(sender, "停电了", {})) for _ in range(2)]
        await asyncio.sleep(0.05)
        moved = asyncio.create_task(bot.send(sender, "停电了", {}))  # home is full: the other one has room
        await asyncio.sleep(0.4)
        assert reached == [home, home, other]
        at_other = next(s for s in (f"api:user-{i}" for i in range(2, 99)) if bot.order(s)[0].base_url.endswith(other))
        held.append(asyncio.create_task(bot.send(at_other, "停电了", {})))  # the other server's own customer fills it
        await asyncio.sleep(0.05)
        with pytest.raises(UpstreamBusy) as busy:  # both full now: kept at once after the first wait
            await bot.send(sender, "停电了", {})
        assert busy.value.unreached and len(reached) == 4
        release.set()
        assert (await moved).messages == [{"text": other}]
        await asyncio.gather(*held)
        assert isinstance(make_bot_client(["http://rasa"], 1.0, http, "t", api_workers=3), RasaClient)
