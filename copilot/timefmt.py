"""Times as findings, reports and tool outputs print them (UTC), one helper per shape.

    hhmm(ts)                "13:05" ("?" for no time); precise=True: "13:05:30" off the minute
    when(ts)                "2024-05-14 13:05 UTC"; seconds=True: "2024-05-14 13:05:30 UTC"

A reader's local zone is the front end's business (copilot/timezones.py); the engine's text
is in UTC and says so.
"""

from __future__ import annotations

from datetime import datetime, timezone


def hhmm(ts: float | None, precise: bool = False) -> str:
    if ts is None:
        return "?"
    shape = "%H:%M:%S" if precise and ts % 60 else "%H:%M"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime(shape)


def when(ts: float, seconds: bool = False) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC" if seconds
                                                                 else "%Y-%m-%d %H:%M UTC")
