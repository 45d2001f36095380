"""Reading the project's YAML data files (schedules, wording, generator config) with errors that name the file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from core.errors import DataError


def read_yaml(path: Path) -> Any:
    """The YAML document in `path`, whatever its shape; a missing or unreadable file is a DataError naming it."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot read it as YAML ({exc})") from exc


def read_yaml_mapping(path: Path, required: Sequence[str] = ()) -> dict[str, Any]:
    """The YAML mapping in `path`, holding at least the `required` keys; anything else is a DataError naming it."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise DataError(f"{path} must be a YAML mapping")
    for key in required:
        if key not in data:
            raise DataError(f"{path}: missing `{key}`")
    return data


def read_yaml_list(path: Path) -> list[Any]:
    """The YAML list in `path`; a missing, unreadable or non-list file is a DataError naming it."""
    data = read_yaml(path)
    if not isinstance(data, list):
        raise DataError(f"{path} must be a YAML list")
    return data
