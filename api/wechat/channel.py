"""WeChat as a delivery channel: agent and system messages reach the customer as customer-service messages
(through `services.wechat_api.WeChatSender`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from api.channels import Outbound, Recipient
from services.wechat_api import WeChatSender

log = logging.getLogger(__name__)


MarkOutcome = Callable[[list[int], str, str | None], Awaitable[None]]


class WeChatChannel:
    """Agent and system messages during a handoff reach the customer as customer-service messages."""

    name = "wechat"
    rich = False

    def __init__(self, sender: WeChatSender, mark: MarkOutcome) -> None:
        self.sender, self.mark = sender, mark

    async def deliver(self, to: Recipient, messages: list[Outbound]) -> None:
        for message in messages:
            result = await self.sender.push(to.external_user_id, [message.text])
            if result.ok:
                await self.mark([message.id], "delivered", None)
            else:
                log.error(
                    "conversation %s: message %s did not reach WeChat user %s: %s",
                    to.conversation_id,
                    message.id,
                    to.external_user_id,
                    result.error,
                )
                await self.mark([message.id], "failed", result.error)
