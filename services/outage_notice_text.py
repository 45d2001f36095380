"""The words of a proactive outage notice (data/messages/outage_notices.yml), filled in from an event's facts.

Pure: plain data in, text out; the file is read once by whoever builds the delivery (the app's lifespan, the
command line)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.clock import utc_to_local
from core.datafiles import read_yaml_mapping
from core.errors import DataError

KINDS = ("announced", "changed", "called_off", "restored")
REQUIRED = (*KINDS, "when_same_day", "when_days", "date", "weekday", "where", "template")
SCOPES = ("area", "feeder", "transformer_area", "accounts")


@dataclass(frozen=True)
class EventFacts:
    """What a notice says about an event: local start and end, the reason, whom; `closed_at` in UTC."""

    kind: str
    start: dt.datetime
    end: dt.datetime
    reason: str
    scope: str
    scope_value: str | None
    closed_at: dt.datetime | None


@dataclass(frozen=True)
class NoticeWording:
    texts: dict[str, Any]

    def _date(self, day: dt.datetime) -> str:
        return str(self.texts["date"]).format(month=day.month, day=day.day)

    def _weekday(self, day: dt.datetime) -> str:
        return str(self.texts["weekday"][day.weekday()])

    def _where(self, facts: EventFacts) -> str:
        return str(self.texts["where"][facts.scope]).format(value=facts.scope_value or "")

    def when(self, start: dt.datetime, end: dt.datetime) -> str:
        """12月8日（周二）08:00至17:00, or with the end's date when it ends on another day."""
        same_day = start.date() == end.date()
        return str(self.texts["when_same_day" if same_day else "when_days"]).format(
            date=self._date(start),
            weekday=self._weekday(start),
            start=f"{start:%H:%M}",
            end=f"{end:%H:%M}",
            end_date=self._date(end),
            end_weekday=self._weekday(end),
        )

    def _restored(self, facts: EventFacts) -> str:
        closed = utc_to_local(facts.closed_at) if facts.closed_at else facts.end
        return f"{self._date(closed)} {closed:%H:%M}"

    def render(self, kind: str, facts: EventFacts) -> str:
        """The text of an `announced`, `changed` or `called_off` (a planned outage) or `restored` (a fault closed)
        notice."""
        if kind not in KINDS:
            raise ValueError(f"unknown notice kind {kind!r}; use one of {', '.join(KINDS)}")
        if kind == "restored":
            return str(self.texts["restored"]).format(
                reason=facts.reason, where=self._where(facts), restored=self._restored(facts)
            )
        return str(self.texts[kind]).format(
            reason=facts.reason, when=self.when(facts.start, facts.end), where=self._where(facts)
        )

    def template_data(self, kind: str, facts: EventFacts) -> dict[str, dict[str, str]]:
        """The data of a WeChat template message for the notice (`template.fields` of the wording file)."""
        if kind not in KINDS:
            raise ValueError(f"unknown notice kind {kind!r}; use one of {', '.join(KINDS)}")
        template = self.texts["template"]
        values = {
            "title": str(template["title"][kind]),
            "when": self._restored(facts) if kind == "restored" else self.when(facts.start, facts.end),
            "where": self._where(facts),
            "reason": facts.reason,
            "remark": str(template["remark"][kind]),
        }
        return {name: {"value": str(text).format(**values)} for name, text in template["fields"].items()}


def load_notice_wording(data_dir: Path) -> NoticeWording:
    """data/messages/outage_notices.yml, checked: every text and scope there (a DataError naming what is missing)."""
    path = data_dir / "messages" / "outage_notices.yml"
    texts = read_yaml_mapping(path, REQUIRED)
    weekdays = texts["weekday"]
    if not isinstance(weekdays, list) or len(weekdays) != 7:
        raise DataError(f"{path}: `weekday` must list the 7 days from Monday")
    where = texts["where"]
    missing = [s for s in SCOPES if not isinstance(where, dict) or s not in where]
    if missing:
        raise DataError(f"{path}: `where` has no wording for {', '.join(missing)}")
    template = texts["template"]
    parts = ("fields", "title", "remark")
    if not isinstance(template, dict) or any(not isinstance(template.get(p), dict) for p in parts):
        raise DataError(f"{path}: `template` must have the mappings {', '.join(parts)}")
    missing = [f"{p}.{k}" for p in ("title", "remark") for k in KINDS if k not in template[p]]
    if missing:
        raise DataError(f"{path}: `template` has no wording for {', '.join(missing)}")
    return NoticeWording(texts)
