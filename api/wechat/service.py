"""A WeChat message from arrival to answer: deduplicate, route by type, the 5-second rule.

WeChat waits 5 s for a passive reply and retries up to 3 times. The first delivery of a message
(claimed in the database, so across api processes) runs the conversation pipeline in a task of
its own; when the answer is ready within `passive_s` it is the passive reply, otherwise the request
answers `success` at once and the answer is pushed through the customer-service API when ready.
Retries answer `success` and nothing else: each message is answered exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.wechat.protocol import Inbound
from core.errors import InvalidInput, PowerDeskError, RateLimited
from services import wechat_inbox
from services.wechat_api import WeChatSender
from services.wechat_content import WeChatContent

if TYPE_CHECKING:
    from api.conversations import ConversationService

log = logging.getLogger(__name__)
SUCCESS = "success"  # WeChat's "received, no passive reply"
PIPELINE_TYPES = ("text", "voice", "event:click")
SILENT_EVENTS = ("unsubscribe", "view", "location", "templatesendjobfinish", "masssendjobfinish", "scan")


@dataclass(frozen=True)
class Answer:
    """What to do with one message: `texts` to send (empty: nothing), from `conversation_id`."""

    texts: list[str]
    conversation_id: int | None = None
    after_message_id: int = 0  # the replies stored after this message id belong to this answer
    status: str = "replied"


class WeChatService:
    def __init__(
        self,
        conversations: ConversationService,
        sessions: sessionmaker[Session],
        content: WeChatContent,
        sender: WeChatSender | None,
        passive_s: float = 4.0,
        stale_after_s: float = 12.0,
    ) -> None:
        self.conversations, self.sessions, self.content = conversations, sessions, content
        self.sender, self.passive_s, self.stale_after_s = sender, passive_s, stale_after_s
        self._background: set[asyncio.Task[None]] = set()

    async def handle(self, inbound: Inbound) -> list[str] | None:
        """The passive reply texts (joined by the route), or None for `success`."""
        first = await run_in_threadpool(
            wechat_inbox.claim, self.sessions, inbound.dedup_key, inbound.openid, inbound.kind, self.stale_after_s
        )
        if not first:
            log.info("WeChat retry of %s from %s: already being answered", inbound.dedup_key, inbound.openid)
            return None
        work = asyncio.ensure_future(self._answer(inbound))
        try:
            answer = await asyncio.wait_for(asyncio.shield(work), timeout=self.passive_s)
        except TimeoutError:
            log.info("%s not answered within %.1f s: the answer will be pushed", inbound.dedup_key, self.passive_s)
            self._keep(asyncio.ensure_future(self._push_when_ready(inbound, work)))
            return None
        except Exception:
            log.exception("answering WeChat message %s failed", inbound.dedup_key)
            await self._finish(inbound, "ignored", None, "internal error (see the api log)")
            return [self.content.say("invalid")]
        await self._finish(inbound, answer.status if answer.texts else "ignored", answer.conversation_id, None)
        if answer.texts and answer.conversation_id is not None and answer.after_message_id:
            await self._mark_passive(answer)
        return answer.texts or None

    def _keep(self, task: asyncio.Task[None]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for the pushes still running (shutdown, tests)."""
        if self._background:
            await asyncio.wait(list(self._background), timeout=timeout)

    async def _answer(self, inbound: Inbound) -> Answer:
        message = inbound.message
        if inbound.kind == "event:subscribe" or inbound.kind == "event:subscribe_scan":
            return Answer([self.content.welcome()])
        if inbound.kind.startswith("event:"):
            if inbound.kind == "event:click":
                key = str(getattr(message, "key", "") or "")
                text = self.content.clicks.get(key)
                if text is None:
                    log.warning("menu key %r from %s is not in data/wechat/menu.yml", key, inbound.openid)
                    return Answer([self.content.say("unknown_menu")])
                return await self._converse(inbound, text, command=True)
            return Answer([], status="ignored")  # unsubscribe, view, location reports: nothing to say
        if inbound.kind == "text":
            return await self._converse(inbound, str(getattr(message, "content", "") or ""))
        if inbound.kind == "voice":
            recognition = str(getattr(message, "recognition", "") or "").strip()
            if recognition:
                return await self._converse(inbound, recognition)
        return Answer([self.content.unsupported(inbound.kind)])

    async def _converse(self, inbound: Inbound, text: str, command: bool = False) -> Answer:
        """The shared pipeline (stored first, routed by state, replies stored before delivery)."""
        try:
            turn = await self.conversations.handle(
                "wechat", inbound.openid, text, command=command, delivery=inbound.dedup_key
            )
        except RateLimited:
            return Answer([self.content.say("rate_limited")])
        except InvalidInput as exc:
            log.info("WeChat message from %s refused: %s", inbound.openid, exc)
            return Answer([self.content.say("invalid")])
        except PowerDeskError:
            log.exception("the pipeline failed on a WeChat message from %s", inbound.openid)
            return Answer([self.content.say("invalid")])
        return Answer(self.content.render(turn.replies), turn.conversation_id, turn.inbound_id)

    async def _push_when_ready(self, inbound: Inbound, work: asyncio.Future[Answer]) -> None:
        try:
            answer = await work
        except Exception as exc:
            log.exception("answering WeChat message %s failed", inbound.dedup_key)
            answer = Answer([self.content.say("invalid")])
            await self._finish(inbound, "ignored", None, f"{type(exc).__name__}: {exc}")
        if not answer.texts:
            await self._finish(inbound, "ignored", answer.conversation_id, None)
            return
        if self.sender is None:
            error = "WECHAT_APP_ID/WECHAT_APP_SECRET are not set: slow answers cannot be pushed"
            log.error("%s (message %s)", error, inbound.dedup_key)
            await self._outcome(inbound, answer, False, error)
            return
        result = await self.sender.push(inbound.openid, answer.texts)
        await self._outcome(inbound, answer, result.ok, result.error)

    async def _outcome(self, inbound: Inbound, answer: Answer, ok: bool, error: str | None) -> None:
        await self._finish(inbound, "pushed" if ok else "push_failed", answer.conversation_id, error)
        if answer.conversation_id is None or not answer.after_message_id:
            return
        ids = await run_in_threadpool(
            wechat_inbox.undelivered_replies, self.sessions, answer.conversation_id, answer.after_message_id
        )
        await run_in_threadpool(wechat_inbox.mark_outbound, self.sessions, ids, "delivered" if ok else "failed", error)

    async def _mark_passive(self, answer: Answer) -> None:
        assert answer.conversation_id is not None
        ids = await run_in_threadpool(
            wechat_inbox.undelivered_replies, self.sessions, answer.conversation_id, answer.after_message_id
        )
        await run_in_threadpool(wechat_inbox.mark_outbound, self.sessions, ids, "delivered", None)

    async def _finish(self, inbound: Inbound, status: str, conversation_id: int | None, error: str | None) -> None:
        await run_in_threadpool(wechat_inbox.finish, self.sessions, inbound.dedup_key, status, conversation_id, error)
