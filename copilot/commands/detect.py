"""`copilot detect FILE.csv`: causal anomaly scores for one `timestamp,value` series.

Reads a CSV whose first two columns (or columns named timestamp/time and value) hold the
timestamp (unix seconds or milliseconds, or ISO 8601) and the value; the header is
optional and extra columns (a Label, for instance) are ignored. Writes
`timestamp,value,anomaly_score,is_anomaly` per input row, as CSV or JSON, to stdout.
Rows out of time order, duplicate timestamps and gaps are repaired before scoring (one
warning line on stderr says what), and the output keeps the input's rows and order.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import itertools
import json
import math
import sys
from typing import Any, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from copilot.errors import DataError
from copilot.terminal_text import terminal_safe

_TIME_NAMES = ("timestamp", "time", "ts", "date", "datetime")
_VALUE_NAMES = ("value", "val", "y")


@dataclass
class Series:
    raw_timestamps: list[str]  # as written in the file, echoed back in the output
    timestamps: list[float]  # unix seconds
    values: list[float]  # NaN where the cell was empty
    extra: dict[str, list[str]]  # other columns by header name (e.g. "label"), when there is a header


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "detect",
        help="score every point of a timestamp,value CSV for anomalies (causal, 0..1)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help="CSV (or .csv.gz) with timestamp,value; '-' reads stdin")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")
    p.add_argument("--threshold", type=float, default=None,
                   help="robust sigmas at which a point is flagged (score 0.5); default 5")
    p.add_argument("--window", type=int, default=None, help="points of history in the local baseline (default 60)")
    p.add_argument("--period", default="auto",
                   help="seasonal period in points, 'auto' (daily, from the timestamps) or 'none'")
    p.add_argument("--mode", choices=("onset", "level"), default="onset",
                   help="onset (default): high where an anomaly starts or grows, low while it merely lasts; "
                        "level: high for as long as a point is unusual")
    p.set_defaults(func=run)


@terminal_safe  # data reaches a terminal: no raw control characters
def run(args: argparse.Namespace) -> int:
    from copilot.plugins.detectors import univariate
    from copilot.plugins.detectors.series_repair import score_rows

    series = read_series(args.file)
    period = parse_period(args.period)
    # Scored in time order, one point per timestamp; every input row gets its point's score.
    scores, flags, _, regular = score_rows(
        series.timestamps,
        _scoreable(series.values),
        window=args.window or univariate.DEFAULT_WINDOW,
        threshold=args.threshold or univariate.DEFAULT_THRESHOLD,
        period=period,
        mode=args.mode,
    )
    if regular.repairs:
        print(f"warning: {args.file}: {regular.warning()}", file=sys.stderr)
    rows: Iterable[dict[str, Any]] = (  # written as they are made: the output is never held whole
        {"timestamp": ts, "value": v, "anomaly_score": round(float(s), 4) if math.isfinite(s) else 0.0,
         "is_anomaly": bool(f)}
        for ts, v, s, f in zip(series.raw_timestamps, series.values, scores, flags)
    )
    out = sys.stdout
    if args.format == "json":
        # strict JSON: no NaN/Infinity tokens (a missing or infinite value is null)
        out.write("[")
        for i, r in enumerate(rows):
            out.write((", " if i else "") + json.dumps({**r, "value": r["value"] if math.isfinite(r["value"]) else None},
                                                        allow_nan=False))
        out.write("]\n")
    else:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["timestamp", "value", "anomaly_score", "is_anomaly"])
        for r in rows:
            value = "" if r["value"] != r["value"] else repr(r["value"])
            writer.writerow([r["timestamp"], value, f"{r['anomaly_score']:.4f}", int(r["is_anomaly"])])
    return 0


def parse_period(text: str) -> int | None | str:
    text = str(text).strip().lower()
    if text in ("auto", ""):
        return "auto"
    if text in ("none", "0", "off"):
        return None
    try:
        period = int(text)
    except ValueError:
        raise DataError(f"--period {text!r}: use 'auto', 'none' or a whole number of points") from None
    if period < 2:
        raise DataError(f"--period {period}: a period needs at least 2 points")
    return period


def read_series(path: str | Path) -> Series:
    """Read a timestamp,value CSV (header optional, extra columns kept aside), line by line:
    memory follows the parsed series, not the file's text."""
    name = str(path)
    if name == "-":
        return _parse_rows(name, sys.stdin)
    p = Path(name)
    if p.exists() and not p.is_file():
        raise DataError(f"{name}: not a regular file (a folder, FIFO or device); pass a CSV with timestamp,value columns")
    if not p.is_file():
        raise DataError(f"{name}: no such file; pass a CSV with timestamp,value columns")
    from copilot.plugins.telemetry.tables import READ_ERRORS, read_problem

    try:
        raw = gzip.open(p, "rb") if name.endswith(".gz") else open(p, "rb")
        with io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="") as fh:
            return _parse_rows(name, fh)
    except READ_ERRORS as exc:
        raise read_problem(p, exc) from None


def _lines(name: str, stream) -> Iterator[str]:
    for line in stream:
        if "\x00" in line:
            raise DataError(f"{name}: holds NUL bytes, not text; pass a CSV with timestamp,value columns")
        yield line


def _parse_rows(name: str, stream) -> Series:
    rows = (r for r in csv.reader(_lines(name, stream)) if r and any(c.strip() for c in r))
    try:
        first = next(rows, None)
    except csv.Error as exc:
        from copilot.plugins.telemetry.tables import read_problem

        raise read_problem(Path(name), exc) from None
    if first is None:
        raise DataError(f"{name}: empty file; expected rows of timestamp,value")
    header: list[str] | None = None
    if len(first) >= 2 and _number(first[1]) is None and first[1].strip():
        header = [c.strip().lower() for c in first]
    t_col, v_col = _columns(header, name)
    series = Series([], [], [], {})
    extra_cols = [i for i in range(len(header or [])) if i not in (t_col, v_col)]
    names = list(header or [])
    for i in extra_cols:
        series.extra[names[i]] = []
    data = rows if header else itertools.chain([first], rows)
    n = 1 if header else 0
    try:
        for row in data:
            n += 1
            if len(row) <= max(t_col, v_col):
                raise DataError(f"{name}: row {n}: expected at least {max(t_col, v_col) + 1} columns (timestamp,value)")
            raw_ts = row[t_col].strip()
            ts = parse_timestamp(raw_ts)
            if ts is None:
                raise DataError(f"{name}: row {n}: {raw_ts!r} is not a timestamp (unix seconds or ISO 8601)")
            cell = row[v_col].strip()
            value = _number(cell)
            if value is None:
                if cell and cell.lower() not in ("nan", "null", "none", "na"):
                    raise DataError(f"{name}: row {n}: value {cell!r} is not a number")
                value = float("nan")
            series.raw_timestamps.append(raw_ts)
            series.timestamps.append(ts)
            series.values.append(value)
            for i in extra_cols:
                series.extra[names[i]].append(row[i].strip() if i < len(row) else "")
    except csv.Error as exc:
        from copilot.plugins.telemetry.tables import read_problem

        raise read_problem(Path(name), exc) from None
    if not series.values:
        raise DataError(f"{name}: a header but no data rows; add rows of timestamp,value")
    return series


def parse_timestamp(text: str) -> float | None:
    number = _number(text)
    if number is not None:
        if not math.isfinite(number) or abs(number) >= 1e14:
            return None  # nan, inf and times beyond any unit are not timestamps
        return number / 1000.0 if number > 1e11 else number
    try:
        dt = datetime.fromisoformat(text.strip().replace("T", " ", 1))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _columns(header: list[str] | None, name: str) -> tuple[int, int]:
    if header is None:
        return 0, 1
    t_col = next((header.index(c) for c in _TIME_NAMES if c in header), 0)
    v_col = next((header.index(c) for c in _VALUE_NAMES if c in header), None)
    if v_col is None:
        v_col = 1 if t_col != 1 else 0
    if t_col == v_col:
        raise DataError(f"{name}: header {','.join(header)}: need a timestamp column and a value column")
    return t_col, v_col


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


SCORE_LIMIT = 1e100  # beyond this, a point is an extreme outlier; clipping keeps the statistics finite


def _scoreable(values: list[float]):
    """Values the detector can score: +-inf and magnitudes beyond 1e100 are clipped to
    +-1e100 (still far outside any baseline), so an inf point or a 1e308 spike is flagged
    instead of overflowing the statistics."""
    import numpy as np

    arr = _array(values)
    return np.clip(arr, -SCORE_LIMIT, SCORE_LIMIT)  # NaN stays NaN


def _array(values: list[float]):
    import numpy as np

    return np.asarray(values, dtype=float)
