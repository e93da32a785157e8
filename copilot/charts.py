"""Pictures of the evidence in plain text: sparklines of the anomalous series beside their
findings (Unicode blocks, or plain ASCII where the terminal is dumb or NO_COLOR is set),
and the series behind a run's metric findings, read back from its telemetry directory."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable

from .evidence import MetricEvidence, evidence_from_dict

BLOCKS = "▁▂▃▄▅▆▇█"
ASCII = "_.-=+*#"


def plain_terminal(env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ if env is None else env)
    return bool(env.get("NO_COLOR")) or env.get("TERM", "") == "dumb"


def resample(values: Iterable[float], width: int) -> list[float]:
    """Mean of each of `width` equal bins (NaN bins stay NaN)."""
    vals = [float(v) for v in values]
    if len(vals) <= width:
        return vals
    out: list[float] = []
    for i in range(width):
        lo, hi = i * len(vals) // width, (i + 1) * len(vals) // width
        chunk = [v for v in vals[lo:hi] if not math.isnan(v)]
        out.append(sum(chunk) / len(chunk) if chunk else math.nan)
    return out


def sparkline(values: Iterable[float], width: int = 24, plain: bool = False) -> str:
    chars = ASCII if plain else BLOCKS
    bins = resample(values, width)
    finite = [v for v in bins if not math.isnan(v)]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    span = hi - lo
    out = []
    for v in bins:
        if math.isnan(v):
            out.append(" ")
        elif span <= 0:
            out.append(chars[len(chars) // 2])
        else:
            out.append(chars[min(len(chars) - 1, int((v - lo) / span * len(chars)))])
    return "".join(out)


def load_telemetry(data: str | Path | None) -> Any:
    """The telemetry of a run's data directory, or None when it is not a readable directory.
    `data` is a directory or a run's data label ("files in DIR", "bundled demo (files in DIR)")."""
    import re

    named = re.search(r"files in (.+?)\)?$", str(data or ""))
    if named and not Path(str(data)).expanduser().is_dir():
        data = named.group(1)
    if not data or not Path(str(data)).expanduser().is_dir():
        return None
    from copilot.plugins.telemetry.files import load_directory

    from .errors import CopilotError

    try:
        return load_directory(str(data))
    except (CopilotError, OSError, ValueError):
        return None


def finding_series(findings: Iterable[dict[str, Any]], telemetry: Any) -> dict[str, Any]:
    """Finding id -> the MetricSeries it was found on (metric findings naming their series)."""
    if telemetry is None:
        return {}
    by_key = {m.key: m for m in telemetry.metrics}
    out: dict[str, Any] = {}
    for f in findings:
        ev = evidence_from_dict(str(f.get("source") or ""), f.get("details"))
        key = ev.series if isinstance(ev, MetricEvidence) else None
        if f.get("source") == "metrics" and key in by_key:
            out[f["id"]] = by_key[key]
    return out


def finding_sparklines(findings: Iterable[dict[str, Any]], telemetry: Any, plain: bool = False,
                       width: int = 24) -> dict[str, str]:
    return {fid: sparkline(s.values, width, plain) for fid, s in finding_series(findings, telemetry).items()}


def session_data_dir(events: Iterable[dict[str, Any]]) -> str:
    """The telemetry directory a saved session ran on (its last run_started event)."""
    data = ""
    for ev in events:
        if ev.get("kind") == "run_started":
            data = ev.get("data", "") or data
    return data
