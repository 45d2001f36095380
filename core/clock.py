"""The utility's local time (China Standard Time): what "today", "昨天" and "上个月" mean to its customers,
whatever time zone the host runs in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_now() -> dt.datetime:
    """Local wall-clock time, naive (as stored)."""
    return dt.datetime.now(LOCAL_TZ).replace(tzinfo=None)


def utc_now() -> dt.datetime:
    """UTC, naive: how the database stores event times (created_at, verified_at …)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def local_today() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


def seconds_to_next_local_day(margin_s: float = 60.0) -> float:
    """Seconds from now until `margin_s` after the next local midnight."""
    now = dt.datetime.now(LOCAL_TZ)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), LOCAL_TZ)
    return (midnight - now).total_seconds() + margin_s


def utc_to_local(value: dt.datetime) -> dt.datetime:
    """A stored UTC time (naive) as local wall-clock time (naive)."""
    return value.replace(tzinfo=dt.UTC).astimezone(LOCAL_TZ).replace(tzinfo=None)


def as_local(value: dt.datetime) -> dt.datetime:
    """A time given by a caller as local wall-clock time (naive); an aware one is converted to local time first."""
    return value if value.tzinfo is None else value.astimezone(LOCAL_TZ).replace(tzinfo=None)


def local_iso(value: dt.datetime | None, *, utc: bool = False) -> str | None:
    """ISO 8601 local time to the minute (`utc`: `value` is a stored UTC time)."""
    if value is None:
        return None
    return (utc_to_local(value) if utc else value).isoformat(timespec="minutes")
