"""Talking to Rasa: a Protocol with the HTTP implementation (tests hand in a fake)."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx

from core.errors import UpstreamBusy, UpstreamUnavailable

log = logging.getLogger(__name__)
TOKEN_HEADER = "X-PowerDesk-Token"  # bot/channels/powerdesk.py checks it
MESSAGE_ID = "message_id"  # the metadata key of the stored inbound message's id; Rasa keeps it in the user event
T = TypeVar("T")
TURNS_AT_ONCE = 16  # turns sent to one Rasa server at once (it runs them on one event loop); the rest wait in order


@dataclass(frozen=True)
class BotTurn:
    messages: list[dict[str, Any]]
    intent: str | None = None
    confidence: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def turn_in_events(events: list[Any], message_id: int) -> BotTurn | None:
    """From a Rasa tracker's events, the turn on the api's message `message_id` (the user event whose metadata
    carries it): the bot's messages after it up to the next user event, shaped as the channel returns them,
    with the NLU result. None when Rasa has not seen the message."""
    found = next(
        (
            i
            for i, e in enumerate(events)
            if isinstance(e, dict)
            and e.get("event") == "user"
            and isinstance(e.get("metadata"), dict)
            and e["metadata"].get(MESSAGE_ID) == message_id
        ),
        None,
    )
    if found is None:
        return None
    messages: list[dict[str, Any]] = []
    for event in events[found + 1 :]:
        if not isinstance(event, dict):
            continue
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            data = event.get("data")
            data = data if isinstance(data, dict) else {}
            messages.append({"text": event.get("text"), "buttons": data.get("buttons"), "custom": data.get("custom")})
    parse_data = events[found].get("parse_data")
    intent = parse_data.get("intent") if isinstance(parse_data, dict) else None
    if not isinstance(intent, dict):
        return BotTurn(messages)
    return BotTurn(messages, intent.get("name"), intent.get("confidence"))


class BotClient(Protocol):
    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> BotTurn: ...

    async def find_turn(self, sender: str, message_id: int) -> BotTurn | None: ...

    async def resume(self, sender: str) -> None: ...

    async def pause(self, sender: str) -> None: ...

    async def ready(self) -> bool: ...


class RasaClient:
    """Rasa's PowerDesk channel (bot/channels/powerdesk.py) over HTTP. Every call carries the token: in the
    channel's header, and as Rasa's --auth-token (`?token=`) on its HTTP API."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        http: httpx.AsyncClient,
        token: str = "",
        turns_at_once: int = TURNS_AT_ONCE,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.http = http
        self.token = token
        self._turns = asyncio.Semaphore(turns_at_once)

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> BotTurn:
        """One turn. At most `turns_at_once` are sent at once; the others wait their turn here, in order. Hundreds
        of requests waiting in httpx's connection pool instead cost the api's event loop more than the turns
        themselves (the pool looks over all of them at every request and response): in an outage storm, half of
        the api's time. A turn that waits here longer than `timeout_s` has not reached Rasa (`unreached`: kept
        and sent again, as when Rasa is down)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._turns.acquire()
        except TimeoutError as exc:
            raise UpstreamBusy(f"Rasa is busy: no turn could be sent within {self.timeout_s:.0f} s") from exc
        try:
            response = await self.http.post(
                f"{self.base_url}/webhooks/powerdesk/webhook",
                json={"sender": sender, "message": text, "metadata": metadata},
                headers={TOKEN_HEADER: self.token},
                timeout=self.timeout_s,
            )
            response.raise_for_status()
            body = response.json()
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise UpstreamUnavailable(f"Rasa is not reachable ({type(exc).__name__}: {exc})", unreached=True) from exc
        except httpx.HTTPStatusError as exc:
            # 503: Rasa is up but has no model yet (a restart); the message was not processed
            unreached = exc.response.status_code == 503
            raise UpstreamUnavailable(f"Rasa answered {exc.response.status_code}", unreached=unreached) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamUnavailable(f"Rasa did not answer ({type(exc).__name__}: {exc})") from exc
        finally:
            self._turns.release()
        messages = body.get("messages")
        if not isinstance(messages, list):
            raise UpstreamUnavailable("Rasa answered without a 'messages' list; is bot/channels loaded?")
        return BotTurn(messages=messages, intent=body.get("intent"), confidence=body.get("confidence"))

    async def find_turn(self, sender: str, message_id: int) -> BotTurn | None:
        """Rasa's turn on the api's message `message_id` (sent with it in the metadata), read from the sender's
        tracker; None when Rasa has not seen it. Only a read: every failure is `unreached` (ask again later)."""
        try:
            response = await self.http.get(
                f"{self.base_url}/conversations/{quote(sender, safe=':@')}/tracker",
                params={"token": self.token, "include_events": "ALL"},
                timeout=self.timeout_s,
            )
            response.raise_for_status()
            tracker = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamUnavailable(
                f"could not read the Rasa conversation of {sender} ({type(exc).__name__}: {exc})", unreached=True
            ) from exc
        events = tracker.get("events") if isinstance(tracker, dict) else None
        if not isinstance(events, list):
            raise UpstreamUnavailable(f"Rasa's tracker of {sender} has no 'events' list", unreached=True)
        return turn_in_events(events, message_id)

    async def resume(self, sender: str) -> None:
        """Give the conversation back to the bot. The paused turn never ended with `action_listen`; without
        one the rules do not match the customer's next message (Rasa falls back and replays the handoff)."""
        await self._events(sender, "resume", [{"event": "resume"}, {"event": "action", "name": "action_listen"}])

    async def pause(self, sender: str) -> None:
        """Silence the bot for this conversation (a person takes over without the bot asking for it)."""
        await self._events(sender, "pause", [{"event": "pause"}])

    async def _events(self, sender: str, what: str, events: list[dict[str, Any]]) -> None:
        # Rasa's router does not unquote path parameters: "widget:abc" must arrive as it is
        try:
            response = await self.http.post(
                f"{self.base_url}/conversations/{quote(sender, safe=':@')}/tracker/events",
                json=events,
                params={"token": self.token},
                timeout=self.timeout_s,
            )
            response.raise_for_status()
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise UpstreamUnavailable(f"could not {what} {sender}: Rasa is not reachable", unreached=True) from exc
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"could not {what} the Rasa conversation of {sender}: {exc}") from exc

    def has_room(self) -> bool:
        """Whether a turn would be sent now, without waiting for a place."""
        return not self._turns.locked()

    async def ready(self) -> bool:
        try:
            response = await self.http.get(f"{self.base_url}/status", params={"token": self.token}, timeout=2.0)
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False


class ReplicatedRasa:
    """Several Rasa servers sharing their trackers (SQL tracker store, Redis lock store): each customer goes to
    one of them (a stable hash of the sender), and to the next when that one cannot be reached. A server that
    was reached and then failed is not asked again: it may have acted on the message."""

    def __init__(self, replicas: list[RasaClient]) -> None:
        if not replicas:
            raise ValueError("ReplicatedRasa needs at least one Rasa server")
        self.replicas = replicas

    def order(self, sender: str) -> list[RasaClient]:
        first = zlib.crc32(sender.encode("utf-8")) % len(self.replicas)
        return self.replicas[first:] + self.replicas[:first]

    async def _first_reached(self, sender: str, call: Callable[[RasaClient], Awaitable[T]]) -> T:
        last: UpstreamUnavailable | None = None
        for replica in self.order(sender):
            if isinstance(last, UpstreamBusy) and not replica.has_room():
                continue  # after a busy server, only one that takes the turn at once: never wait in two queues
            try:
                return await call(replica)
            except UpstreamBusy as exc:
                last = exc  # up but saturated (or hung): another server with room now may take it
                continue
            except UpstreamUnavailable as exc:
                if not exc.unreached:
                    raise
                log.warning("Rasa at %s unreachable for %s; trying the next server", replica.base_url, sender)
                last = exc
        assert last is not None
        raise last

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> BotTurn:
        return await self._first_reached(sender, lambda r: r.send(sender, text, metadata))

    async def find_turn(self, sender: str, message_id: int) -> BotTurn | None:
        """From any server: they share the trackers."""
        return await self._first_reached(sender, lambda r: r.find_turn(sender, message_id))

    async def resume(self, sender: str) -> None:
        await self._first_reached(sender, lambda r: r.resume(sender))

    async def pause(self, sender: str) -> None:
        await self._first_reached(sender, lambda r: r.pause(sender))

    async def ready(self) -> bool:
        """Ready while any server is (the others' customers fail over to it)."""
        return any([await r.ready() for r in self.replicas])

    async def replica_status(self) -> dict[str, bool]:
        return {r.base_url: await r.ready() for r in self.replicas}


def make_bot_client(
    urls: list[str], timeout_s: float, http: httpx.AsyncClient, token: str, api_workers: int = 1
) -> BotClient:
    """One client per Rasa server; with several api workers each sends its share of `TURNS_AT_ONCE`, so that a
    server has at most that many turns at once whichever worker they come from."""
    at_once = max(2, -(-TURNS_AT_ONCE // max(1, api_workers)))
    clients = [RasaClient(url, timeout_s, http, token, at_once) for url in urls]
    return clients[0] if len(clients) == 1 else ReplicatedRasa(clients)
