"""Reading the project's YAML data files (schedules, wording, generator config) with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.errors import DataError


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """The YAML mapping in `path`; a missing, unreadable or non-mapping file is a DataError naming it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot read it as YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path} must be a YAML mapping")
    return data


def read_yaml_list(path: Path) -> list[Any]:
    """The YAML list in `path`; a missing, unreadable or non-list file is a DataError naming it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot read it as YAML ({exc})") from exc
    if not isinstance(data, list):
        raise DataError(f"{path} must be a YAML list")
    return data
