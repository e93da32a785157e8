"""Which time window to investigate, and which earlier period is the baseline.

Explicit `start`/`end` arguments win (ISO-8601, "HH:MM" on the data's day, or unix
seconds); then the run's window (`ToolContext.window`), widened back by `LOOKBACK_S`
because incidents start before anyone notices them; then the earliest alert
(from `ALERT_LEAD_S` before it to the end of the data); else the last quarter of the data.
The baseline is everything from the start of the data up to the window.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from copilot.errors import CopilotError
from copilot.timefmt import current_zone

from .model import Telemetry
from .tables import parse_time

LOOKBACK_S = 0  # the host agent already pads the stated window (copilot/intent.py)
ALERT_LEAD_S = 30 * 60
MIN_BASELINE_S = 10 * 60

_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def parse_when(value: str | float | int, data_range: tuple[float, float] | None) -> float:
    """Unix seconds from ISO text, 'HH:MM[:SS]' (the data's day, in the run's time zone) or unix s/ms/ns."""
    if isinstance(value, (int, float)):
        return parse_time(value)
    m = _HHMM.match(str(value))
    if m:
        if data_range is None:
            raise CopilotError(f"cannot place {value!r} on a day: the data has no timestamps; give an ISO-8601 time")
        day = datetime.fromtimestamp(data_range[0], tz=current_zone()).replace(hour=0, minute=0, second=0, microsecond=0)
        t = (day + timedelta(hours=int(m.group(1)), minutes=int(m.group(2)), seconds=int(m.group(3) or 0))).timestamp()
        if t < data_range[0] - 3600 and t + 86400 <= data_range[1] + 3600:
            t += 86400  # the data crosses midnight and the time is on its second day
        return t
    try:
        return parse_time(str(value))
    except (ValueError, OverflowError):
        raise CopilotError(f"{value!r} is not a time; use ISO-8601 (2024-05-14T13:05:00Z), HH:MM or unix seconds") from None


def resolve_window(
    tel: Telemetry,
    run_window: tuple[float, float] | None = None,
    start: str | float | None = None,
    end: str | float | None = None,
) -> tuple[tuple[float, float], tuple[float, float], str]:
    """(window, baseline, how it was chosen)."""
    rng = tel.time_range()
    if rng is None:
        raise CopilotError("the telemetry has no timestamps; nothing to investigate")
    lo, hi = rng
    if start is not None or end is not None:
        ws = parse_when(start, rng) if start is not None else None
        we = parse_when(end, rng) if end is not None else hi
        if ws is None:
            ws = max(lo, we - (hi - lo) / 4)
        how = "the requested window"
    elif run_window is not None:
        ws, we = run_window[0] - LOOKBACK_S, run_window[1]
        how = "the question's window" + (f", widened {LOOKBACK_S // 60} min back" if LOOKBACK_S else "")
    elif tel.alerts:
        first = min(a.timestamp for a in tel.alerts)
        ws, we = first - ALERT_LEAD_S, hi
        how = f"from {ALERT_LEAD_S // 60} min before the first alert to the end of the data"
    else:
        ws, we = hi - (hi - lo) / 4, hi
        how = "the last quarter of the data"
    ws = max(ws, lo + min(MIN_BASELINE_S, (hi - lo) / 2))
    we = min(max(we, ws + 60), hi)
    if we <= ws:
        raise CopilotError("the window is empty or outside the data; check start and end against describe_telemetry")
    return (ws, we), (lo, ws), how
