"""Rasa's own tracker events (from the event broker's `events` table) as a frame, and a daily summary.

Rasa publishes every event as JSON: `{"sender_id", "event": "user"|"bot"|"action"|..., "timestamp",
"text", "parse_data": {"intent": {"name", "confidence"}}, "name" (actions)}`. Unparseable rows are
skipped and counted, never fatal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd

FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_two_stage_fallback", "utter_default"})
COLUMNS = ["sender_id", "event", "timestamp", "intent", "confidence", "action", "text"]


def events_frame(rows: Iterable[tuple[str | None, str | None]]) -> tuple[pd.DataFrame, int]:
    """(sender_id, data JSON) rows → (one row per event, number of rows skipped as unreadable)."""
    records, skipped = [], 0
    for sender, data in rows:
        try:
            event = json.loads(data or "")
            timestamp = pd.to_datetime(float(event["timestamp"]), unit="s")
        except (ValueError, TypeError, KeyError):
            skipped += 1
            continue
        if not isinstance(event, dict):
            skipped += 1
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}) if event.get("event") == "user" else {}
        records.append(
            {
                "sender_id": event.get("sender_id") or sender,
                "event": event.get("event"),
                "timestamp": timestamp,
                "intent": intent.get("name"),
                "confidence": intent.get("confidence"),
                "action": event.get("name") if event.get("event") == "action" else None,
                "text": event.get("text"),
            }
        )
    return pd.DataFrame(records, columns=COLUMNS), skipped


def events_by_day(events: pd.DataFrame) -> pd.DataFrame:
    """Per day: user turns, their mean intent confidence, fallback actions and their share of user turns."""
    if events.empty:
        return pd.DataFrame(columns=["day", "user_turns", "mean_confidence", "fallback_actions", "fallback_share"])
    frame = events.assign(day=events["timestamp"].dt.normalize())
    user = frame[frame["event"] == "user"]
    fallback = frame[frame["action"].isin(FALLBACK_ACTIONS)]
    out = pd.DataFrame(
        {
            "user_turns": user.groupby("day").size(),
            "mean_confidence": pd.to_numeric(user["confidence"], errors="coerce").groupby(user["day"]).mean(),
            "fallback_actions": fallback.groupby("day").size(),
        }
    ).fillna({"user_turns": 0, "fallback_actions": 0})
    out["fallback_share"] = out["fallback_actions"] / out["user_turns"].where(out["user_turns"] > 0)
    out.index.name = "day"
    return out.reset_index()
