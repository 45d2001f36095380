"""The api's own customer-facing texts, loaded from data/messages/zh.yml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.datafiles import read_yaml_mapping
from core.errors import DataError


@dataclass(frozen=True)
class Texts:
    system: dict[str, str]
    widget: dict[str, str]

    def say(self, key: str, **values: Any) -> str:
        try:
            return self.system[key].format(**values)
        except KeyError as exc:
            raise DataError(f"data/messages/zh.yml has no system text {key!r} (or lacks a value {exc})") from exc


def load_texts(data_dir: Path) -> Texts:
    path = data_dir / "messages" / "zh.yml"
    raw = read_yaml_mapping(path)
    for section in ("system", "widget"):
        if not isinstance(raw.get(section), dict):
            raise DataError(f"{path}: section {section!r} is missing or not a mapping")
    return Texts(system=raw["system"], widget=raw["widget"])
