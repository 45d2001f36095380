"""The conversation pipeline every channel shares.

An inbound message is stored first, then routed by the conversation's state: in state `bot` it
goes to Rasa; while a person is involved the bot stays silent. Replies are stored before they
are delivered. Nothing is lost when Rasa is away:
- unreachable (down, restarting): the customer is told the system is busy and the message is kept
  (`pending`); once Rasa answers again the kept messages go to it in order, each once (claimed in the
  database), and the replies are pushed on the customer's channel. Asking for a person still works.
- reached but failed or too slow (it may have acted): the conversation is queued for a person.
A message left stored by an api process that died on its way to the bot is taken over by the replayer after
a grace period: answered from Rasa's tracker if Rasa had taken the turn, otherwise sent as a kept one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from api.admission import Admission
from api.bot_client import MESSAGE_ID, BotClient, BotTurn
from api.channels import Outbound, Recipient
from api.ratelimit import RateLimiter
from api.schemas import Button, Reply
from api.texts import Texts
from api.turn_text import as_customer_text, clean_text, replies_from_rasa
from core.errors import PowerDeskError, RateLimited, UpstreamUnavailable
from core.identity import mask_personal, sender_id
from services.conversation_log import Answered, ConversationStore, OutMessage, PendingMessage, StoredMessage

if TYPE_CHECKING:
    from api.handoff import HandoffService

log = logging.getLogger(__name__)


@dataclass
class _Users:
    """A conversation's replay lock and how many coroutines hold or wait for it."""

    lock: asyncio.Lock
    count: int = 0


@dataclass(frozen=True)
class TurnResult:
    conversation_id: int
    state: str
    replies: list[Reply]
    bot_seconds: float = 0.0  # time spent waiting for Rasa (the rest of the turn is the api's own)
    inbound_id: int = 0  # the stored customer message (0: none stored, e.g. a rating); replies come after it


@dataclass(frozen=True)
class Outcome:
    """What starting a handoff came to."""

    state: str  # waiting_agent, or bot when a callback was booked (or the handoff limits refused it)
    replies: list[Reply]


class ConversationService:
    def __init__(
        self,
        store: ConversationStore,
        bot: BotClient,
        limiter: RateLimiter,
        texts: Texts,
        max_chars: int,
        handoffs: HandoffService | None = None,
        admission: Admission | None = None,
        *,
        reclaim_after_s: float,
    ) -> None:
        """`reclaim_after_s`: how long a message may stay stored on its way to the bot before the replayer takes it
        over (`Settings.stored_reclaim_after_s`)."""
        self.store, self.bot, self.limiter, self.texts, self.max_chars = store, bot, limiter, texts, max_chars
        self.handoffs = handoffs
        self.admission = admission
        self.reclaim_after_s = reclaim_after_s
        self._replay_locks: dict[int, _Users] = {}

    async def handle(
        self,
        channel: str,
        user: str,
        raw_text: str,
        command: bool = False,
        client: str | None = None,
        delivery: str | None = None,
    ) -> TurnResult:
        """`command`: the text is the product's own (a WeChat menu key's payload), not something typed. Typed
        text starting with "/" reaches Rasa as a command only when it is a button offered in the last reply.
        `client`: the address the message came from, when the channel knows it (limits, binding checks).
        `delivery`: the channel's id of the message, when it may deliver it again after a process died."""
        text = clean_text(raw_text, self.max_chars)
        await self.limiter.check(f"{channel}:{user}")
        if self.handoffs is not None:
            rated = await self.handoffs.rating_reply(channel, user, text)
            if rated is not None:  # a rating answered after an agent closed the case
                return TurnResult(rated[0], "closed", [rated[1]])
        # stored with phone and account digits masked (transcripts are read by many); the bot gets them as typed
        masked = mask_personal(text)
        bot_text = text if command else as_customer_text(text)  # kept with the message while it is the bot's
        kept = {"bot_text": bot_text, "delivery": delivery}
        inbound = await run_in_threadpool(self.store.store_inbound, channel, user, masked, False, **kept)
        if inbound is None:  # a new conversation: within the limits on new conversations?
            if self.admission is not None:
                await self.admission.new_conversation(channel, client)
            inbound = await run_in_threadpool(self.store.store_inbound, channel, user, masked, True, **kept)
            assert inbound is not None
        if inbound.again:  # stored by a process that died: what it left undelivered; the replayer does the rest
            rows = await run_in_threadpool(self.store.undelivered_after, inbound.conversation_id, inbound.id)
            stored = [Outbound.stored(m.id, m.sender, m.text, m.payload) for m in rows]
            replies = [Reply(text=o.text, buttons=[Button(**b) for b in o.buttons], custom=o.custom) for o in stored]
            return TurnResult(inbound.conversation_id, inbound.state, replies, inbound_id=inbound.id)
        if bot_text != text:  # a typed "/…" is a command only when it is a button offered in the last reply
            offered = await run_in_threadpool(self.store.offered_payloads, inbound.conversation_id, inbound.id)
            if text in offered:
                bot_text = text
                await run_in_threadpool(self.store.keep_bot_text, inbound.id, bot_text)
        return replace(await self._route(inbound, channel, user, bot_text, client), inbound_id=inbound.id)

    async def replay_pending(self, conversation_id: int) -> int:
        """Send the conversation's kept messages to the bot, oldest first, and push the replies; stops at the
        first that the bot still cannot take. Returns how many were answered. The per-conversation lock keeps
        the order within this process (the replayer and the customer's next message); the claim in the
        database keeps each message to one process."""
        entry = self._replay_locks.setdefault(conversation_id, _Users(asyncio.Lock()))
        entry.count += 1
        try:
            async with entry.lock:
                return await self._replay_in_order(conversation_id)
        finally:
            entry.count -= 1
            if not entry.count:  # nobody holds or waits for it: forgotten, so the dict does not grow
                del self._replay_locks[conversation_id]

    async def _replay_in_order(self, conversation_id: int) -> int:
        answered = 0
        while True:
            pending = await run_in_threadpool(self.store.claim_pending, conversation_id, self.reclaim_after_s)
            if pending is None:
                return answered
            inbound = pending.message
            if inbound.state != "bot":  # a person took over meanwhile: the message is theirs to read
                await run_in_threadpool(self.store.set_status, inbound.id, "stored")
                continue
            sender = sender_id(pending.channel, pending.user)
            try:
                turn = await self._replay_turn(pending, sender)
            except UpstreamUnavailable as exc:
                if exc.unreached:  # as it was, for the next pass
                    status = "stored" if pending.reclaimed else "pending"
                    await run_in_threadpool(self.store.release, inbound.id, status)
                    return answered
                result = await self._bot_unavailable(inbound.id, inbound.conversation_id, sender, exc)
            else:
                result = await self._bot_replied(inbound.id, inbound.conversation_id, sender, pending.text, turn)
            answered += 1
            await self._push(pending.channel, pending.user, inbound.conversation_id, inbound.id)
            if result.state != "bot":
                return answered

    async def _replay_turn(self, pending: PendingMessage, sender: str) -> BotTurn:
        """The bot's turn on a waiting message. One left stored by an api process that died may have reached Rasa
        already: its turn is then read from Rasa's tracker, so that Rasa never sees the message twice."""
        inbound = pending.message
        if pending.reclaimed:
            turn = await self.bot.find_turn(sender, inbound.id)
            if turn is not None:
                log.warning("message %s: its api process died after Rasa's turn; answered from the tracker", inbound.id)
                return turn
            log.warning("message %s: its api process died before Rasa saw it; sent now", inbound.id)
        metadata = {"conversation_id": inbound.conversation_id, "channel": pending.channel, MESSAGE_ID: inbound.id}
        return await self.bot.send(sender, pending.bot_text, metadata)

    async def replay_all(self) -> int:
        """One pass of the replayer, if the bot is back: every conversation with kept messages or with a message
        left stored on its way to the bot by an api process that died (older than `reclaim_after_s`)."""
        conversations = await run_in_threadpool(self.store.pending_conversations, 50, self.reclaim_after_s)
        if not conversations or not await self.bot.ready():
            return 0
        answered = 0
        for conversation_id in conversations:
            answered += await self.replay_pending(conversation_id)
        return answered

    async def run_replayer(self, interval_s: float = 2.0) -> None:
        """Background task: answer kept messages once the bot is back (the api's lifespan runs it)."""
        while True:
            try:
                answered = await self.replay_all()
                if answered:
                    log.info("answered %d messages kept while the bot was unreachable", answered)
            except Exception:
                log.exception("replaying kept messages failed; trying again in %.0f s", interval_s)
            await asyncio.sleep(interval_s)

    async def _push(self, channel: str, user: str, conversation_id: int, after_id: int) -> None:
        """Deliver replies stored after `after_id` on the customer's channel (they were not in any response)."""
        if self.handoffs is None:  # the channels come with the console's wiring
            return
        rows = await run_in_threadpool(self.store.undelivered_after, conversation_id, after_id)
        outbound = [Outbound.stored(m.id, m.sender, m.text, m.payload) for m in rows]
        if outbound:
            await self.handoffs.channels.get(channel).deliver(Recipient(channel, user, conversation_id), outbound)

    async def _route(
        self, inbound: StoredMessage, channel: str, user: str, text: str, client: str | None = None
    ) -> TurnResult:
        if inbound.state != "bot":
            # a person is (about to be) involved: the bot stays silent, the console gets the message
            replies = [] if inbound.state == "with_agent" else [Reply(text=self.texts.say("waiting_agent"))]
            await self._store_replies(inbound.conversation_id, "system", replies)
            if self.handoffs is not None:
                await self.handoffs.customer_message(inbound.conversation_id, inbound.id, mask_personal(text))
            return TurnResult(inbound.conversation_id, inbound.state, replies)
        sender = sender_id(channel, user)
        if (
            self.handoffs is not None
            and self.handoffs.strongly_negative(text)
            and not await self.handoffs.upset_by_known_outage(inbound.conversation_id, text)
        ):
            return await self._upset_customer(inbound.id, inbound.conversation_id, sender, text, client)
        if inbound.behind_kept:
            # kept while the bot was away: those are answered first, in order (pushed), if the bot is back
            await self.replay_pending(inbound.conversation_id)
            if await run_in_threadpool(self.store.kept_before, inbound.id):
                return await self._keep_for_bot(inbound, sender, text, client)
        started = time.perf_counter()
        try:
            metadata: dict[str, Any] = {"conversation_id": inbound.conversation_id, "channel": channel}
            metadata[MESSAGE_ID] = inbound.id  # found in Rasa's tracker should this process die (`_replay_turn`)
            if client:
                metadata["client"] = client  # the binding check counts failures per address too
            turn = await self.bot.send(sender, text, metadata)
        except UpstreamUnavailable as exc:
            if exc.unreached:
                return await self._keep_for_bot(inbound, sender, text, client)
            return await self._bot_unavailable(inbound.id, inbound.conversation_id, sender, exc)
        waited = time.perf_counter() - started
        result = await self._bot_replied(inbound.id, inbound.conversation_id, sender, text, turn, client)
        return TurnResult(result.conversation_id, result.state, result.replies, waited)

    async def _bot_replied(
        self, message_id: int, conversation_id: int, sender: str, text: str, turn: BotTurn, client: str | None = None
    ) -> TurnResult:
        replies = replies_from_rasa(turn.messages)
        handoff = next((r.custom["handoff"] for r in replies if r.custom and "handoff" in r.custom), None)
        if replies and not isinstance(handoff, dict):
            # processed together with its answer: a process dying in between leaves it stored, taken over later
            answered = Answered(message_id, turn.intent, turn.confidence)
            await self._store_replies(conversation_id, "bot", replies, answered)
            if turn.intent == "rate_service" and self.handoffs is not None:
                await self._volunteered_rating(conversation_id, text)
            return TurnResult(conversation_id, "bot", replies)
        await run_in_threadpool(self.store.mark_processed, message_id, turn.intent, turn.confidence)
        if not replies:
            # every intent of this bot answers something: silence means an action (or the action
            # server) failed inside Rasa. Never leave the customer without an answer.
            return await self._bot_unavailable(
                message_id, conversation_id, sender, RuntimeError(f"empty turn (intent {turn.intent})"), failed=False
            )
        assert isinstance(handoff, dict)
        reason = str(handoff.get("reason") or "asked")[:30]
        if self.handoffs is None:
            await self._store_replies(conversation_id, "bot", replies)
            await run_in_threadpool(self.store.start_handoff, conversation_id, reason)
            return TurnResult(conversation_id, "waiting_agent", replies)
        outcome = await self._begin_handoff(conversation_id, reason, sender, client)
        if outcome.state != "waiting_agent":  # nobody can answer now: not "transferring you", but the callback
            replies = [r for r in replies if not (r.custom and "handoff" in r.custom)]
        await self._store_replies(conversation_id, "bot", replies)
        await self._store_replies(conversation_id, "system", outcome.replies)
        return TurnResult(conversation_id, outcome.state, replies + outcome.replies)

    async def _begin_handoff(self, conversation_id: int, reason: str, sender: str, client: str | None) -> Outcome:
        """A handoff within the limits on handoffs (all customers, and per address); over them, the bot keeps the
        conversation and says how to reach a person otherwise."""
        assert self.handoffs is not None
        if self.admission is not None:
            try:
                await self.admission.handoff(client)
            except RateLimited:
                log.warning(
                    "conversation %s: handoff refused, over the handoff limits (client %s)", conversation_id, client
                )
                try:
                    await self.bot.resume(sender)  # the bot paused itself for the person who is not coming
                except UpstreamUnavailable as exc:
                    log.error("conversation %s: %s", conversation_id, exc)
                return Outcome("bot", [Reply(text=self.texts.say("handoff_limited"))])
        return await self.handoffs.begin(conversation_id, reason, sender)

    async def _volunteered_rating(self, conversation_id: int, text: str) -> None:
        """ "给你们打5分" in a bot conversation: stored as a rating (human_involved from the handoffs)."""
        assert self.handoffs is not None
        digits = [c for c in text if c in "12345"]
        if len(digits) == 1:
            try:
                await self.handoffs.rate(conversation_id, int(digits[0]), "", None)
            except PowerDeskError as exc:  # rated already: the bot has thanked them anyway
                log.info("rating in conversation %s not stored: %s", conversation_id, exc)

    async def _upset_customer(
        self, message_id: int, conversation_id: int, sender: str, text: str, client: str | None = None
    ) -> TurnResult:
        """A strongly negative message goes to a person without asking the bot (which is paused); one that says it
        is a complaint is registered as one first, as the bot would."""
        assert self.handoffs is not None
        await run_in_threadpool(self.store.mark_processed, message_id, None, None)
        try:
            await self.bot.pause(sender)
        except UpstreamUnavailable as exc:
            log.error("could not pause Rasa for %s: %s", sender, exc)
        complaint = self.handoffs.is_complaint(text)
        replies = [await self.handoffs.register_complaint(conversation_id, mask_personal(text))] if complaint else []
        outcome = await self._begin_handoff(conversation_id, "complaint" if complaint else "sentiment", sender, client)
        if outcome.state == "waiting_agent":
            replies.append(Reply(text=self.texts.say("handoff_sentiment")))
        replies += outcome.replies
        await self._store_replies(conversation_id, "system", replies)
        return TurnResult(conversation_id, outcome.state, replies)

    async def _keep_for_bot(
        self, inbound: StoredMessage, sender: str, bot_text: str, client: str | None = None
    ) -> TurnResult:
        """The bot is unreachable: keep the message for it and say so; a customer asking for a person gets
        the handoff (or the callback) at once."""
        conversation_id = inbound.conversation_id
        if self.handoffs is not None and self.handoffs.wants_person(bot_text):
            await run_in_threadpool(self.store.mark_processed, inbound.id, None, None)
            outcome = await self._begin_handoff(conversation_id, "asked", sender, client)
            replies = outcome.replies or [Reply(text=self.texts.say("waiting_agent"))]
            await self._store_replies(conversation_id, "system", replies)
            return TurnResult(conversation_id, outcome.state, replies)
        log.warning("conversation %s: the bot is unreachable; message %s kept for it", conversation_id, inbound.id)
        await run_in_threadpool(self.store.mark_pending, inbound.id, bot_text)
        replies = [Reply(text=self.texts.say("bot_busy"))]
        await self._store_replies(conversation_id, "system", replies)
        return TurnResult(conversation_id, "bot", replies)

    async def _bot_unavailable(
        self, message_id: int, conversation_id: int, sender: str, exc: Exception, failed: bool = True
    ) -> TurnResult:
        log.error("conversation %s: bot unavailable, queued for a person: %s", conversation_id, exc)
        if failed:
            await run_in_threadpool(self.store.set_status, message_id, "failed")
        if self.handoffs is None:
            await run_in_threadpool(self.store.start_handoff, conversation_id, "bot_unavailable")
            state, extra = "waiting_agent", []
        else:
            outcome = await self.handoffs.begin(conversation_id, "bot_unavailable", sender)
            state, extra = outcome.state, outcome.replies
        replies = [Reply(text=self.texts.say("bot_unavailable"))] if state == "waiting_agent" else []
        replies += extra
        await self._store_replies(conversation_id, "system", replies)
        return TurnResult(conversation_id, state, replies)

    async def _store_replies(
        self, conversation_id: int, sender: str, replies: list[Reply], answered: Answered | None = None
    ) -> None:
        if not replies:
            return
        out = [
            OutMessage(
                text=r.text,
                payload={"buttons": [b.model_dump() for b in r.buttons], "custom": r.custom}
                if (r.buttons or r.custom)
                else None,
            )
            for r in replies
        ]
        await run_in_threadpool(self.store.store_outbound, conversation_id, sender, out, answered)
