"""Rasa's event brokers with personal data masked before anything is written (runs inside Rasa's environment;
`core.identity` is pure Python, on Rasa's path through `powerdesk run`)."""

import logging
from typing import Any, Dict, Optional, Text

from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.brokers.sql import SQLEventBroker

from core.identity import mask_event

logger = logging.getLogger(__name__)


class MaskingSQLEventBroker(SQLEventBroker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # connections checked on checkout: after a database restart the pooled ones are dead
        self.engine.pool._pre_ping = True

    def publish(self, event: Dict[Text, Any]) -> None:
        """An event the database cannot take is logged and dropped: the reports miss it, the customer's turn
        (whose tracker is saved after its events are published) does not fail for it."""
        try:
            super().publish(mask_event(event))
        except Exception as exc:  # noqa: BLE001
            logger.error("event of %s not stored (%s): the reports will miss it", event.get("sender_id"), exc)


class MaskingPikaEventBroker(PikaEventBroker):
    def publish(self, event: Dict[Text, Any], headers: Optional[Dict[Text, Text]] = None) -> None:
        super().publish(mask_event(event), headers)
