"""Times as findings, reports and tool outputs print them, one helper per shape, in the run's
time zone (`settings.timezone`, UTC by default):

    hhmm(ts)                "13:05" ("?" for no time); precise=True: "13:05:30" off the minute
    hhmm_zone(ts)           "13:05 UTC" / "21:05 +08:00": a clock time read without a zone header
    when(ts)                "2024-05-14 13:05 UTC" / "2024-05-14 21:05 +08:00"; seconds=True adds :SS
    zone_tag(ts)            how a bare HH:MM names its zone: "UTC" / "+08:00"
    zone_header()           the zone named once, for trace and report headers: "Asia/Shanghai (UTC+08:00)"

Findings and events hold epoch seconds; text is made with these helpers. Each takes the zone
(`tz=`); without one they use the zone of the run printing in this context, which
`Agent.run` and the front ends set once from the settings with `use_zone` (a context
variable: each asyncio task, `to_thread` call and service request keeps its own run's zone).
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime, timezone, tzinfo

_ZONE: ContextVar[tzinfo] = ContextVar("copilot_print_zone", default=timezone.utc)


def use_zone(tz: tzinfo) -> None:
    """Print this context's times (the run's, the front end's) in `tz`."""
    _ZONE.set(tz)


def current_zone() -> tzinfo:
    return _ZONE.get()


def hhmm(ts: float | None, precise: bool = False, tz: tzinfo | None = None) -> str:
    if ts is None:
        return "?"
    shape = "%H:%M:%S" if precise and ts % 60 else "%H:%M"
    return datetime.fromtimestamp(ts, tz=tz or _ZONE.get()).strftime(shape)


def zone_tag(ts: float | None = None, tz: tzinfo | None = None) -> str:
    """'UTC', else the zone's offset at `ts` (now when None): '+08:00'."""
    from .timezones import zone_suffix

    tz = tz or _ZONE.get()
    return zone_suffix(datetime.now(tz).timestamp() if ts is None else ts, tz)


def when(ts: float, seconds: bool = False, tz: tzinfo | None = None) -> str:
    tz = tz or _ZONE.get()
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{datetime.fromtimestamp(ts, tz=tz).strftime(shape)} {zone_tag(ts, tz)}"


def zone_header(tz: tzinfo | None = None, ts: float | None = None) -> str:
    """The zone named once: 'UTC', 'Asia/Shanghai (UTC+08:00)'."""
    tz = tz or _ZONE.get()
    if tz is timezone.utc:
        return "UTC"
    return f"{getattr(tz, 'key', None) or tz} (UTC{zone_tag(ts, tz)})"


def hhmm_zone(ts: float | None, tz: tzinfo | None = None, missing: str = "?") -> str:
    """A clock time with its zone, for text read without a header: "13:05 UTC" / "21:05 +08:00"
    (`missing` for no time)."""
    if ts is None:
        return missing
    return f"{hhmm(ts, tz=tz)} {zone_tag(ts, tz)}"
