"""Canned replies and resolution codes of the console, from data/console/ (validated on load)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from core.datafiles import read_yaml
from core.errors import DataError

_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")


@dataclass(frozen=True)
class CannedReply:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class ConsoleData:
    canned: list[CannedReply]
    resolutions: dict[str, str]  # code → label


def load_console_data(data_dir: Path) -> ConsoleData:
    canned_path = data_dir / "console" / "canned_replies.yml"
    raw = read_yaml(canned_path)
    problems: list[str] = []
    canned: list[CannedReply] = []
    if not isinstance(raw, list) or not raw:
        problems.append("must be a non-empty list of {id, title, text}")
        raw = []
    seen: set[str] = set()
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            problems.append(f"entry {n} is not a mapping")
            continue
        rid, title, text = item.get("id"), item.get("title"), item.get("text")
        if not isinstance(rid, str) or not _ID.match(rid):
            problems.append(f"entry {n}: id {rid!r} must be lowercase letters, digits, '-' or '_'")
        elif rid in seen:
            problems.append(f"entry {n}: id {rid!r} is used twice")
        if not isinstance(title, str) or not title.strip() or len(title) > 40:
            problems.append(f"entry {n} ({rid}): title must have 1–40 characters")
        if not isinstance(text, str) or not text.strip() or len(text) > 1000:
            problems.append(f"entry {n} ({rid}): text must have 1–1000 characters")
        if not problems:
            seen.add(str(rid))
            canned.append(CannedReply(str(rid), str(title).strip(), str(text).strip()))
    if problems:
        raise DataError(f"{canned_path}: " + "; ".join(problems))
    resolutions_path = data_dir / "console" / "resolutions.yml"
    codes = read_yaml(resolutions_path)
    if (
        not isinstance(codes, dict)
        or not codes
        or not all(isinstance(k, str) and _ID.match(k) and isinstance(v, str) and v for k, v in codes.items())
    ):
        raise DataError(f"{resolutions_path}: must map codes (lowercase, '_') to non-empty labels")
    return ConsoleData(canned, dict(codes))
