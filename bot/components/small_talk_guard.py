"""A greeting, thanks or goodbye longer than a few characters is rarely only that: "你好，我家停电了",
"有人触电了怎么办啊", "再往前一个月呢". Such a message keeps the next intent of the ranking (when it has some confidence), so the
understanding step in the action server sees it; short small talk still costs no action call.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

SMALL_TALK = frozenset({"greet", "goodbye", "thank"})


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SmallTalkGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"max_chars": 8, "min_confidence": 0.05}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SmallTalkGuard:
        return cls(config)

    def __init__(self, config: dict[str, Any]) -> None:
        self.max_chars = int(config["max_chars"])
        self.min_confidence = float(config["min_confidence"])

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            text = "".join(str(message.get(TEXT) or "").split())
            if intent.get("name") not in SMALL_TALK or text.startswith("/"):
                continue
            if len(text) <= self.max_chars and not (len(text) > 3 and text.endswith(("呢", "呢?", "呢？"))):
                continue  # "在吗", "好的谢谢": small talk; "再往前一个月呢": a follow-up
            ranking = message.get(INTENT_RANKING_KEY) or []
            other = next((r for r in ranking if r.get("name") not in SMALL_TALK), None)
            if other is not None and float(other.get("confidence") or 0.0) >= self.min_confidence:
                message.set(INTENT, {"name": other["name"], "confidence": other["confidence"]}, add_to_output=True)
        return messages
