"""Rasa's event brokers with personal data masked before anything is written (runs inside Rasa's environment;
`core.identity` is pure Python, on Rasa's path through `powerdesk run`)."""

from typing import Any, Dict, Optional, Text

from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.brokers.sql import SQLEventBroker

from core.identity import mask_event


class MaskingSQLEventBroker(SQLEventBroker):
    def publish(self, event: Dict[Text, Any]) -> None:
        super().publish(mask_event(event))


class MaskingPikaEventBroker(PikaEventBroker):
    def publish(self, event: Dict[Text, Any], headers: Optional[Dict[Text, Text]] = None) -> None:
        super().publish(mask_event(event), headers)
