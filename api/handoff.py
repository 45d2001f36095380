"""Human handoff in the api: queue or callback, customer ↔ agent delivery, close, and the rating.

The database work is in services.handoffs (run in a thread); this module adds the outside world:
who is online, service hours, the channels, the bus and Rasa (paused while a person is involved,
resumed on close).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from analytics.sentiment_lexicon import SentimentScorer
from analytics.service_hours import ServiceHours
from api.bot_client import BotClient
from api.bus import Bus
from api.channels import Channels, Outbound, Recipient
from api.conversations import Outcome
from api.schemas import Reply
from api.texts import Texts
from api.turn_text import clean_text
from core.clock import local_now
from core.datafiles import read_yaml_mapping
from core.db import transaction
from core.errors import DataError, Forbidden, InvalidInput, UpstreamUnavailable
from core.identity import sender_id
from core.models import Conversation, Message
from core.settings import Settings
from services import agents, handoffs, tickets
from services.agents import Principal
from services.conversation_log import ConversationStore, OutMessage
from services.customers import bound_customer, reverify_since
from services.outage_status import customer_outages

log = logging.getLogger(__name__)
QUEUE_KEY = "console:queue"
_RATING = re.compile(r"^\s*([1-5１-５一二三四五])\s*(?:分|星|颗星)?\s*[，,。.、:：;；!！\s]*(.*)$", re.S)
_DIGITS = {"１": 1, "２": 2, "３": 3, "４": 4, "５": 5, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5}


def case_key(conversation_id: int) -> str:
    return f"case:{conversation_id}"


def agent_key(username: str) -> str:
    return f"agent:{username}"


def parse_rating(text: str) -> tuple[int, str] | None:
    """ "5" / "5分 处理很及时" / "４星" → (score, comment); anything else → None."""
    match = _RATING.match(text)
    if match is None:
        return None
    raw = match.group(1)
    return (_DIGITS.get(raw) or int(raw)), match.group(2).strip()


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "sender": message.sender,
        "text": message.text,
        "agent": (message.payload or {}).get("agent"),
        "created_at": message.created_at.isoformat(),
    }


def load_cue(path: Path) -> re.Pattern[str]:
    cue = read_yaml_mapping(path, required=("cue",))["cue"]
    try:
        return re.compile(str(cue))
    except re.error as exc:
        raise DataError(f"{path}: `cue` is not a regular expression ({exc})") from exc


class HandoffService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: ConversationStore,
        bot: BotClient,
        bus: Bus,
        channels: Channels,
        texts: Texts,
        settings: Settings,
        sentiment: SentimentScorer,
        local_now: Callable[[], dt.datetime] = local_now,
    ) -> None:
        self.sessions, self.store, self.bot, self.bus, self.channels = sessions, store, bot, bus, channels
        self.texts, self.settings, self.sentiment, self.local_now = texts, settings, sentiment, local_now
        self.hours = ServiceHours.parse(settings.service_hours_workday, settings.service_hours_restday)
        self.complaint_cue = load_cue(settings.data_dir / "console" / "complaint.yml")
        self.person_cue = load_cue(settings.data_dir / "console" / "person.yml")
        self.outage_cue = load_cue(settings.data_dir / "console" / "outage.yml")

    # --- the customer's side ---------------------------------------------------------------

    def strongly_negative(self, text: str) -> bool:
        return self.sentiment.score(text) <= self.settings.sentiment_handoff_below

    def wants_person(self, text: str) -> bool:
        """Asks for a person, in words the api recognises without the bot (used while the bot is away)."""
        return self.person_cue.search(text) is not None

    def is_complaint(self, text: str) -> bool:
        return self.complaint_cue.search(text) is not None

    async def upset_by_known_outage(self, conversation_id: int, text: str) -> bool:
        """An upset message saying the power is off, asking for no person and making no complaint, from a customer
        whom an outage affects now: the bot tells them the outage (and links them to it) rather than a person."""
        if not self.outage_cue.search(text) or self.wants_person(text) or self.is_complaint(text):
            return False

        since = reverify_since(self.settings.binding_reverify_days)  # as the bot reads a binding

        def work() -> bool:
            with self.sessions() as session:
                conversation = session.get_one(Conversation, conversation_id)
                customer = bound_customer(session, conversation.channel, conversation.external_user_id, since)
                return customer is not None and bool(
                    customer_outages(session, customer, self.local_now()).without_power
                )

        try:
            return await run_in_threadpool(work)
        except SQLAlchemyError:
            log.exception(
                "conversation %s: its outages could not be read; the message goes to a person", conversation_id
            )
            return False

    async def register_complaint(self, conversation_id: int, text: str) -> Reply:
        """A complaint ticket with its commitment times, and the reply that tells the customer (as the bot's)."""

        def work() -> tickets.FiledComplaint:
            with transaction(self.sessions) as session:
                conversation = session.get_one(Conversation, conversation_id)
                customer = bound_customer(session, conversation.channel, conversation.external_user_id)
                return tickets.file_complaint(
                    session,
                    text=text,
                    accepted_local=self.local_now(),
                    customer_id=customer.id if customer else None,
                    conversation_id=conversation_id,
                )

        filed = await run_in_threadpool(work)
        return Reply(
            text=self.texts.say("complaint_registered", ticket_no=filed.ticket_no, **filed.said), custom=filed.payload
        )

    async def begin(self, conversation_id: int, reason: str, sender: str) -> Outcome:
        """Queue the case when someone can answer now; otherwise book a callback and give the bot back."""
        handoff_id = await run_in_threadpool(self.store.start_handoff, conversation_id, reason)
        now = self.local_now()
        online = await run_in_threadpool(self._online_names)
        if self.hours.is_open(now) and online:
            await self.bus.publish(QUEUE_KEY, {"type": "queue", "reason": "new", "handoff_id": handoff_id})
            return Outcome("waiting_agent", [])
        callback_by = self.hours.callback_by(now, dt.timedelta(minutes=self.settings.callback_within_minutes))
        why = "非服务时间" if not self.hours.is_open(now) else "无客服在线"
        ticket_no, kind = await run_in_threadpool(self._book_callback, handoff_id, callback_by or now, why)
        try:
            await self.bot.resume(sender)
        except UpstreamUnavailable as exc:
            log.error("conversation %s: %s", conversation_id, exc)
        key = "handoff_no_agent" if self.hours.is_open(now) else "handoff_after_hours"
        if kind == "complaint":  # its contact time was just told with the complaint's ticket
            key = "handoff_complaint_later"
        when = self._format_time(callback_by) if callback_by else self.texts.say("callback_unknown_time")
        callback = {"callback": {"ticket_no": ticket_no, "reason": reason}}
        return Outcome(
            "bot", [Reply(text=self.texts.say(key, ticket_no=ticket_no, callback_time=when), custom=callback)]
        )

    def _book_callback(self, handoff_id: int, callback_by: dt.datetime, why: str) -> tuple[str, str]:
        with transaction(self.sessions) as session:
            ticket = handoffs.book_callback(session, handoff_id, callback_by, why)
            return ticket.ticket_no, ticket.kind

    def _online_names(self) -> list[str]:
        with self.sessions() as session:
            return [a.username for a in agents.online_agents(session, self.settings.agent_online_timeout_s)]

    def _format_time(self, when: dt.datetime) -> str:
        return self.texts.say("time_format", month=when.month, day=when.day, hour=when.hour, minute=when.minute)

    async def customer_message(self, conversation_id: int, message_id: int, text: str) -> None:
        """A customer wrote while a person is involved: to the consoles watching the case."""
        payload = {
            "id": message_id,
            "direction": "in",
            "sender": "customer",
            "text": text,
            "agent": None,
            "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(),
        }
        event = {"type": "message", "conversation_id": conversation_id, "message": payload, "ack": [message_id]}
        await self.bus.publish(case_key(conversation_id), event)

    async def rating_reply(self, channel: str, user: str, text: str) -> tuple[int, Reply] | None:
        """A rating answered after close ("5 很好"): stored, thanked. None when the text is not one."""
        parsed = parse_rating(text)
        if parsed is None:
            return None
        window = self.settings.rating_window_minutes * 60
        conversation_id = await run_in_threadpool(self._pending_rating, channel, user, window)
        if conversation_id is None:
            return None
        await self.rate(conversation_id, parsed[0], parsed[1], text)
        return conversation_id, Reply(text=self.texts.say("rating_thanks"))

    def _pending_rating(self, channel: str, user: str, window: float) -> int | None:
        with self.sessions() as session:
            return handoffs.pending_rating(session, channel, user, window)

    async def rate_pending(self, channel: str, user: str, score: int, comment: str) -> tuple[int, Reply]:
        """The widget's stars: the rating of the user's conversation closed last (within the window)."""
        window = self.settings.rating_window_minutes * 60
        conversation_id = await run_in_threadpool(self._pending_rating, channel, user, window)
        if conversation_id is None:
            raise InvalidInput("there is no closed conversation waiting for a rating from this user")
        await self.rate(conversation_id, score, comment, f"{score} {comment}".strip())
        return conversation_id, Reply(text=self.texts.say("rating_thanks"))

    async def rate(self, conversation_id: int, score: int, comment: str, as_typed: str | None) -> None:
        """Store a rating; `as_typed`: the customer's answer, logged in the conversation (None: stored already)."""

        def work() -> None:
            with transaction(self.sessions) as session:
                handoffs.store_rating(session, conversation_id, score, comment)
                if as_typed is not None:
                    session.add(
                        Message(
                            conversation_id=conversation_id,
                            direction="in",
                            sender="customer",
                            text=as_typed[: self.settings.max_message_chars],
                            status="processed",
                            intent="rate_service",
                        )
                    )

        await run_in_threadpool(work)
        await self.bus.publish(QUEUE_KEY, {"type": "rated", "conversation_id": conversation_id})

    # --- the agent's side ------------------------------------------------------------------

    async def _say(
        self, case: handoffs.Case, sender: str, text: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Store an outbound message, deliver it on the case's channel and echo it to the consoles."""
        ids = await run_in_threadpool(
            self.store.store_outbound, case.conversation_id, sender, [OutMessage(text, payload)]
        )
        return await self._deliver(case, ids[0], sender, text, payload)

    async def _deliver(
        self, case: handoffs.Case, message_id: int, sender: str, text: str, payload: dict[str, Any] | None
    ) -> dict[str, Any]:
        ids = [message_id]
        outbound = Outbound.stored(ids[0], sender, text, payload)
        await self.channels.get(case.channel).deliver(
            Recipient(case.channel, case.external_user_id, case.conversation_id), [outbound]
        )
        echo = {
            "id": ids[0],
            "direction": "out",
            "sender": sender,
            "text": text,
            "agent": (payload or {}).get("agent"),
            "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(),
        }
        await self.bus.publish(
            case_key(case.conversation_id),
            {"type": "message", "conversation_id": case.conversation_id, "message": echo},
        )
        return echo

    def _in_session(self, work: Callable[[Session], handoffs.Case]) -> Callable[[], handoffs.Case]:
        def run() -> handoffs.Case:
            with transaction(self.sessions) as session:
                return work(session)

        return run

    async def claim(self, who: Principal, handoff_id: int) -> handoffs.Case:
        case = await run_in_threadpool(self._in_session(lambda s: handoffs.claim(s, handoff_id, who.username)))
        await self.bus.publish(QUEUE_KEY, {"type": "queue", "reason": "claimed", "handoff_id": handoff_id})
        await self._say(case, "system", self.texts.say("agent_joined", agent=who.display_name))
        return case

    async def reply(self, who: Principal, handoff_id: int, text: str) -> dict[str, Any]:
        text = clean_text(text, self.settings.max_message_chars)
        payload = {"agent": who.display_name}

        def store() -> tuple[handoffs.Case, int]:  # check and store in one transaction (one hop, one commit)
            with transaction(self.sessions) as session:
                case = handoffs.get_case(session, handoff_id)
                if case.status != "claimed" or (case.agent != who.username and not who.is_supervisor):
                    raise Forbidden(f"case {handoff_id} is {case.status} with {case.agent}; claim it before replying")
                message = Message(
                    conversation_id=case.conversation_id, direction="out", sender="agent", text=text, payload=payload
                )
                session.add(message)
                session.flush()
                return case, message.id

        case, message_id = await run_in_threadpool(store)
        return await self._deliver(case, message_id, "agent", text, payload)

    def _case(self, handoff_id: int) -> handoffs.Case:
        with self.sessions() as session:
            return handoffs.get_case(session, handoff_id)

    async def transfer(self, who: Principal, handoff_id: int, to: str) -> handoffs.Case:
        case = await run_in_threadpool(
            self._in_session(lambda s: handoffs.transfer(s, handoff_id, who.username, to, who.is_supervisor))
        )
        await self.bus.publish(agent_key(to), {"type": "transferred", "handoff_id": handoff_id, "by": who.username})
        await self.bus.publish(QUEUE_KEY, {"type": "queue", "reason": "transferred", "handoff_id": handoff_id})
        target = await run_in_threadpool(self._display_name, to)
        await self._say(case, "system", self.texts.say("transferred", agent=target))
        return case

    def _display_name(self, username: str) -> str:
        with self.sessions() as session:
            return next((a.display_name for a in agents.list_agents(session) if a.username == username), username)

    async def close(self, who: Principal, handoff_id: int, resolution: str, note: str) -> handoffs.Case:
        case = await run_in_threadpool(
            self._in_session(
                lambda s: handoffs.close(s, handoff_id, who.username, resolution, note[:2000], who.is_supervisor)
            )
        )
        try:  # the bot takes the conversation back
            await self.bot.resume(sender_id(case.channel, case.external_user_id))
        except UpstreamUnavailable as exc:
            log.error("case %s closed, but Rasa could not be resumed: %s", handoff_id, exc)
        request = {"custom": {"rating": {"min": 1, "max": 5, "conversation_id": case.conversation_id}}}
        await self._say(case, "system", self.texts.say("rating_request"), request)
        await self.bus.publish(
            case_key(case.conversation_id), {"type": "closed", "conversation_id": case.conversation_id}
        )
        await self.bus.publish(QUEUE_KEY, {"type": "queue", "reason": "closed", "handoff_id": handoff_id})
        return case
