"""When people answer: service hours on working days and on rest days (the Chinese calendar with 调休),
and the callback time promised when nobody can answer now. Pure: local datetimes in, datetimes out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from analytics.calendar import DayType, day_type

Span = tuple[dt.time, dt.time | None]  # end None: midnight (24:00)


def parse_span(text: str) -> Span | None:
    """ "08:00-20:00" → (08:00, 20:00); "00:00-24:00" → (00:00, None); "" → None (closed that day)."""
    text = text.strip()
    if not text:
        return None
    try:
        start_s, end_s = text.split("-")
        start = dt.time.fromisoformat(start_s)
        end = None if end_s == "24:00" else dt.time.fromisoformat(end_s)
    except ValueError as exc:
        raise ValueError(f"service hours {text!r} must look like 08:00-20:00 (or 00:00-24:00)") from exc
    if end is not None and end <= start:
        raise ValueError(f"service hours {text!r} end before they start; overnight spans are not supported")
    return start, end


def working_days_after(day: dt.date, n: int) -> dt.date:
    """The n-th working day after `day` (weekends and public holidays skipped, 调休 working days counted)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    while n:
        day += dt.timedelta(days=1)
        n -= day_type(day) == DayType.WORKDAY
    return day


@dataclass(frozen=True)
class ServiceHours:
    workday: Span | None
    restday: Span | None

    @classmethod
    def parse(cls, workday: str, restday: str) -> ServiceHours:
        return cls(parse_span(workday), parse_span(restday))

    def span(self, day: dt.date) -> Span | None:
        return self.workday if day_type(day) == DayType.WORKDAY else self.restday

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        span = self.span(day)
        if span is None:
            return None
        start = dt.datetime.combine(day, span[0])
        end = (
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
            if span[1] is None
            else dt.datetime.combine(day, span[1])
        )
        return start, end

    def is_open(self, now: dt.datetime) -> bool:
        window = self._window(now.date())
        return window is not None and window[0] <= now < window[1]

    def next_open(self, now: dt.datetime, horizon_days: int = 30) -> dt.datetime | None:
        """`now` when open, else the next opening within the horizon (None: never open)."""
        for offset in range(horizon_days + 1):
            window = self._window(now.date() + dt.timedelta(days=offset))
            if window is None:
                continue
            if window[0] <= now < window[1]:
                return now
            if window[0] > now:
                return window[0]
        return None

    def callback_by(self, now: dt.datetime, within: dt.timedelta) -> dt.datetime | None:
        """The latest time a callback is promised for: `within` of open service time from now (or from opening)."""
        start = self.next_open(now)
        if start is None:
            return None
        window = self._window(start.date())
        assert window is not None
        if start + within <= window[1]:
            return start + within
        # not enough service time left today: the rest is counted from the next opening
        left = within - (window[1] - start)
        following = self.next_open(window[1])
        return None if following is None else following + left
