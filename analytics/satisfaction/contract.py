"""The data-frame contract of a conversation log, as the metrics read it.

Four frames, one row per database row (see core.models): `conversations`, `messages`, `handoffs`,
`ratings`. Timestamps are naive UTC `datetime64`. `check_log` returns the offending rows of each frame
(empty frames when all is well); `require_log` raises with what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.errors import InvalidInput

COLUMNS: dict[str, tuple[str, ...]] = {
    "conversations": ("conversation_id", "channel", "customer_key", "started_at"),
    "messages": ("message_id", "conversation_id", "direction", "sender", "text", "intent", "confidence", "created_at"),
    "handoffs": ("handoff_id", "conversation_id", "reason", "agent", "created_at", "claimed_at", "closed_at"),
    "ratings": ("conversation_id", "score", "human_involved", "agent", "created_at"),
}
TIME_COLUMNS = {"started_at", "created_at", "claimed_at", "closed_at"}


@dataclass(frozen=True)
class Log:
    conversations: pd.DataFrame
    messages: pd.DataFrame
    handoffs: pd.DataFrame
    ratings: pd.DataFrame
    sentiment: pd.Series | None = None  # message_id → score (-1 … 1), for inbound customer messages


def empty_log() -> Log:
    frames = {
        name: pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c in TIME_COLUMNS else object) for c in cols})
        for name, cols in COLUMNS.items()
    }
    return Log(**frames)


def check_log(log: Log) -> dict[str, pd.DataFrame]:
    """The offending rows of each frame: missing columns are reported as a frame naming them."""
    problems: dict[str, pd.DataFrame] = {}
    for name, cols in COLUMNS.items():
        frame: pd.DataFrame = getattr(log, name)
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            problems[name] = pd.DataFrame({"missing_column": missing})
            continue
        bad = pd.Series(False, index=frame.index)
        for col in cols:
            if col in TIME_COLUMNS and col in ("started_at", "created_at"):
                bad |= pd.to_datetime(frame[col], errors="coerce").isna()
        if name == "messages":
            bad |= ~frame["direction"].isin(["in", "out"])
            conf = pd.to_numeric(frame["confidence"], errors="coerce")
            bad |= conf.notna() & ((conf < 0) | (conf > 1))
        if name == "ratings":
            score = pd.to_numeric(frame["score"], errors="coerce")
            bad |= ~score.between(1, 5)
        if name == "handoffs":
            created = pd.to_datetime(frame["created_at"], errors="coerce")
            claimed = pd.to_datetime(frame["claimed_at"], errors="coerce")
            closed = pd.to_datetime(frame["closed_at"], errors="coerce")
            bad |= (claimed < created) | (closed < created)
        if bad.any():
            problems[name] = frame[bad]
    return problems


def require_log(log: Log) -> None:
    problems = check_log(log)
    if problems:
        parts = [
            f"{name}: {len(rows)} bad rows, first {rows.head(3).to_dict('records')}" for name, rows in problems.items()
        ]
        raise InvalidInput(
            "the conversation log breaks its contract (times, directions, confidences 0–1, scores 1–5, "
            "claims after creation): " + "; ".join(parts)
        )
