"""The one time zone the copilot reads and prints times in.

`settings.timezone` (an IANA name, `COPILOT_TIMEZONE`), UTC when not configured: a team
on call across regions reads the same times. Every time the copilot prints carries its
zone (`2024-05-14 12:05 UTC`, `12:05 +08:00`) or is ISO-8601 with its offset, and the
times in a question ("since 07:45") are read in the same zone.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

DEFAULT_ZONE = "UTC"


def local_zone(settings: Any = None) -> tzinfo:
    """The configured zone; UTC when none is configured."""
    name = (getattr(settings, "timezone", "") if settings is not None else "") or DEFAULT_ZONE
    if name.upper() in ("UTC", "Z"):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone {name!r} is not an IANA zone name such as 'Asia/Shanghai' or 'UTC'") from None


def zone_suffix(ts: float, tz: tzinfo) -> str:
    """How a printed time names its zone: 'UTC', else the offset at that moment ('+08:00')."""
    if tz is timezone.utc:
        return "UTC"
    offset = datetime.fromtimestamp(ts, tz).strftime("%z")  # '+0800'
    return f"{offset[:3]}:{offset[3:5]}"


def zone_label(settings: Any = None) -> str:
    """The zone as the user configured it, for headers: 'UTC', 'Asia/Shanghai'."""
    tz = local_zone(settings)
    return "UTC" if tz is timezone.utc else str(getattr(tz, "key", tz))


def format_time(ts: float | None, settings: Any = None, *, date: bool = True, seconds: bool = False) -> str:
    """A time for people, with its zone: '2024-05-14 12:05 UTC', '20:05 +08:00'."""
    if ts is None:
        return "?"
    tz = local_zone(settings)
    fmt = ("%Y-%m-%d " if date else "") + ("%H:%M:%S" if seconds else "%H:%M")
    return f"{datetime.fromtimestamp(ts, tz).strftime(fmt)} {zone_suffix(ts, tz)}"


def iso_time(ts: float | None, settings: Any = None) -> str | None:
    """ISO-8601 with the offset, for JSON: '2024-05-14T12:05:00+00:00'."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, local_zone(settings)).isoformat(timespec="seconds")
