"""Read raw text logs: one record a line, timestamp and level detected.

The component is the file's name (`cart.log` -> cart) unless the name is generic
(`app.log`, `logs.txt`), when a `service=`/`component=` field or a `[name]` tag is used.
Lines without a timestamp continue the previous record (stack traces).
"""

from __future__ import annotations

import re
from pathlib import Path

from copilot.errors import DataError

from .model import LogRecord
from .tables import numeric_seconds, open_text, parse_time, stem_of

_STAMP = re.compile(
    r"^\s*\[?(?P<t>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\d{10}(?:\.\d+)?|\d{13})\]?"
)
_LEVEL = re.compile(r"\b(DEBUG|INFO|WARN(?:ING)?|ERROR|ERR|FATAL|CRITICAL|TRACE)\b", re.I)
_FIELD = re.compile(r"\b(?:service|component|app)=\"?([\w.-]+)")
GENERIC = ("log", "logs", "app", "application", "messages", "syslog", "output", "stdout", "all")


def read_text_logs(path: Path) -> list[LogRecord]:
    from .files import norm_level

    stem = stem_of(path)
    default = "" if stem.lower() in GENERIC or stem.lower().startswith("log") else stem
    out: list[LogRecord] = []
    with open_text(path) as fh:
        for n, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            m = _STAMP.match(line)
            if not m:
                if out:
                    out[-1].message += "\n" + line
                    continue
                raise DataError(f"{path}: line {n} starts without a timestamp; expected lines like "
                                "'2024-05-14T13:05:00Z ERROR message'")
            stamp = m.group("t")
            try:
                t = numeric_seconds(float(stamp)) if stamp.replace(".", "").isdigit() else parse_time(stamp)
            except ValueError:
                raise DataError(f"{path}: line {n}: {stamp!r} is not a valid time") from None
            rest = line[m.end():].strip()
            lm = _LEVEL.search(rest[:80])
            level = norm_level(lm.group(1)) if lm else ""
            comp = default
            if not comp:
                fm = _FIELD.search(rest)
                comp = fm.group(1) if fm else ""
            out.append(LogRecord(t, comp, rest, level))
    return out
