"""Read tabular telemetry files into rows, and parse timestamps in any common spelling.

Accepted: `.csv`, `.csv.gz`, `.tsv`, `.parquet` (through pyarrow), `.jsonl` / `.ndjson`
(optionally gzipped). Problems raise `DataError` naming the file, row and column.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import math
import zlib
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from copilot.errors import DataError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    for s in sorted(TABLE_SUFFIXES + (".json", ".json.gz", ".log", ".log.gz", ".txt", ".txt.gz"), key=len, reverse=True):
        if name.endswith(s):
            return s
    return path.suffix.lower()


def stem_of(path: Path) -> str:
    s = suffix_of(path)
    return path.name[: -len(s)] if s and path.name.lower().endswith(s) else path.stem


def open_text(path: Path) -> io.TextIOBase:
    if not path.is_file():
        raise DataError(f"{path}: not a regular file (a FIFO, device or folder); point at a telemetry file")
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="strict", newline="")
    return open(path, encoding="utf-8-sig", errors="strict", newline="")


# What a damaged or hostile file raises while it is read; each becomes one DataError line.
READ_ERRORS = (OSError, EOFError, gzip.BadGzipFile, zlib.error, csv.Error, UnicodeDecodeError, RecursionError,
               OverflowError)


def read_problem(path: Path, exc: BaseException) -> DataError:
    """One line naming the file and what to fix, for an exception raised while reading it."""
    if isinstance(exc, UnicodeDecodeError):
        return DataError(f"{path}: not UTF-8 text (bad byte at offset {exc.start}); convert it, e.g. iconv -t UTF-8")
    if isinstance(exc, (gzip.BadGzipFile, zlib.error)) or (isinstance(exc, OSError) and "gzip" in str(exc).lower()):
        return DataError(f"{path}: not a valid gzip file ({exc}); recompress it or drop the .gz suffix")
    if isinstance(exc, EOFError):
        return DataError(f"{path}: the file ends early (truncated gzip?); copy it again")
    if isinstance(exc, RecursionError):
        return DataError(f"{path}: JSON nested too deeply; flatten the records")
    if isinstance(exc, csv.Error) and "nul" in str(exc).lower():
        return DataError(f"{path}: holds NUL bytes, not text; remove them or export the data again")
    if isinstance(exc, csv.Error) and "field larger" in str(exc).lower():
        return DataError(f"{path}: a field is larger than {csv.field_size_limit()} characters; split or trim it")
    if isinstance(exc, PermissionError):
        return DataError(f"{path}: permission denied; make it readable")
    return DataError(f"{path}: cannot read ({type(exc).__name__}: {exc}); check its format (docs/telemetry-formats.md)")


def _no_nul(path: Path, lines: Iterable[str]) -> Iterable[str]:
    for n, line in enumerate(lines, start=1):
        if "\x00" in line:
            raise DataError(f"{path}: line {n} holds NUL bytes, not text; remove them or export the data again")
        yield line


def read_table(path: Path) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a table file. CSV cells stay strings; JSON values keep their type."""
    s = suffix_of(path)
    if s == ".parquet":
        return _read_parquet(path)
    if s in (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"):
        records = list(read_jsonl(path))
        header: list[str] = []
        for rec in records:
            for k in rec:
                if k not in header:
                    header.append(k)
        return header, [[rec.get(k) for k in header] for rec in records]
    try:
        with open_text(path) as fh:
            sample = fh.read(4096)
            fh.seek(0)
            delimiter = "\t" if s.startswith(".tsv") or ("\t" in sample.splitlines()[0] if sample else False) else ","
            reader = csv.reader(_no_nul(path, fh), delimiter=delimiter)
            first = next(reader, None)
            if not first:
                raise DataError(f"{path}: empty file; expected a header row")
            rows = [r for r in reader if r]
    except READ_ERRORS as exc:
        raise read_problem(path, exc) from None
    width = len(first)
    for n, r in enumerate(rows, start=2):
        if len(r) != width:
            raise DataError(f"{path}: row {n} has {len(r)} columns, expected {width} like the header")
    return [h.strip().lstrip("\ufeff") for h in first], rows


CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")


@contextlib.contextmanager
def csv_stream(path: Path) -> Iterator[tuple[list[str], Iterator[tuple[int, list[str]]]]]:
    """The header and the numbered rows of a CSV/TSV file, read as they are consumed, so
    memory follows what the caller keeps, not the file. Rows are numbered like `read_table`
    (the header is row 1; blank lines are skipped); a row of the wrong width raises."""
    s = suffix_of(path)
    with open_text(path) as fh:
        sample = fh.read(4096)
        fh.seek(0)
        delimiter = "\t" if s.startswith(".tsv") or ("\t" in sample.splitlines()[0] if sample else False) else ","
        reader = csv.reader(_no_nul(path, fh), delimiter=delimiter)
        header = next(reader, None)
        if not header:
            raise DataError(f"{path}: empty file; expected a header row")
        width = len(header)

        def rows() -> Iterator[tuple[int, list[str]]]:
            n = 1
            for r in reader:
                if not r:
                    continue
                n += 1
                if len(r) != width:
                    raise DataError(f"{path}: row {n} has {len(r)} columns, expected {width} like the header")
                yield n, r

        yield [h.strip().lstrip("\ufeff") for h in header], rows()


def _read_parquet(path: Path) -> tuple[list[str], list[list[Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow; pip install pyarrow or convert to CSV") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise DataError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    columns = table.column_names
    data = [table.column(c).to_pylist() for c in columns]
    return columns, [list(r) for r in zip(*data)] if data else []


def read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    try:
        with open_text(path) as fh:
            for n, line in enumerate(_no_nul(path, fh), start=1):
                line = line.strip()
                if not line:
                    continue
                try:
                    obj = json.loads(line)
                except RecursionError:
                    raise DataError(f"{path}: line {n}: JSON nested too deeply; flatten the record") from None
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}: line {n} is not valid JSON ({exc.msg}); expected one JSON object per line") from None
                if not isinstance(obj, dict):
                    raise DataError(f"{path}: line {n} is a JSON {type(obj).__name__}, expected an object")
                yield obj
    except READ_ERRORS as exc:
        raise read_problem(path, exc) from None


def pick(header: list[str], *aliases: str) -> int | None:
    """Index of the first column whose normalised name is one of the aliases."""
    norm = [re.sub(r"[^a-z0-9]", "", h.lower()) for h in header]
    for alias in aliases:
        a = re.sub(r"[^a-z0-9]", "", alias.lower())
        if a in norm:
            return norm.index(a)
    return None


# ---- timestamps -------------------------------------------------------------------

_NUMERIC = re.compile(r"^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$")


MAX_SECONDS = 1e11  # unix seconds beyond the year 5000 are not a time


def numeric_seconds(value: float) -> float:
    """Unix seconds from a number in s, ms, us or ns (guessed by magnitude); ValueError when
    the number is not finite or no unit makes it a plausible time."""
    if not math.isfinite(value) or abs(value) >= MAX_SECONDS * 1e9:
        raise ValueError(f"{value!r} is not a plausible time")
    v = abs(value)
    if v >= 1e17:
        return value / 1e9
    if v >= 1e14:
        return value / 1e6
    if v >= 1e11:
        return value / 1e3
    return value


def parse_time(value: Any) -> float:
    """Unix seconds from ISO-8601 text, 'YYYY-MM-DD HH:MM:SS[,mmm]', or unix s/ms/us/ns. Naive times are UTC."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return numeric_seconds(float(value))
    if isinstance(value, str):
        try:
            return numeric_seconds(float(value))
        except ValueError:
            pass
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if _NUMERIC.match(text):
            return numeric_seconds(float(text))
        text = text.replace(",", ".")
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            dt = _loose_time(text)  # raises ValueError
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


_LOOSE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?(\s+(UTC|GMT))?(\s|$)"
)


def _loose_time(text: str) -> datetime:
    """Go- and log-style stamps: '2022-08-22 03:51:19.607158889 +0000 UTC m=+0.11'."""
    m = _LOOSE.match(text)
    if not m:
        raise ValueError(text)
    frac = (m.group(3) or "")[:7]
    zone = m.group(4) or "+00:00"
    zone = "+00:00" if zone in ("Z", "UTC") else (zone if ":" in zone else zone[:3] + ":" + zone[3:])
    return datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{frac}{zone}")


def time_column(path: Path, header: list[str], rows: list[list[Any]], col: int) -> list[float]:
    cell_time = time_cells(path, header, col)
    return [cell_time(n, r[col]) for n, r in enumerate(rows, start=2)]


def time_cells(path: Path, header: list[str], col: int) -> Any:
    """A parser for one time column's cells, `(row number, cell) -> unix seconds`, that
    remembers recent spellings (a long table repeats each timestamp once per series)."""
    memo: dict[Any, float] = {}

    def cell_time(n: int, cell: Any) -> float:
        try:
            hit = memo.get(cell) if isinstance(cell, str) else None
            if hit is None:
                hit = parse_time(cell)
                if isinstance(cell, str):
                    if len(memo) >= 100_000:
                        memo.clear()  # bounded: a stream's stamps move on
                    memo[cell] = hit
            return hit
        except (ValueError, TypeError, OverflowError):
            raise DataError(
                f"{path}: row {n} column {header[col]!r}: {_short(cell)} is not a time; expected ISO-8601 or unix s/ms/ns"
            ) from None

    return cell_time


def _short(value: Any, width: int = 40) -> str:
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else f"{str(value)[:20]}... ({len(str(value))} digits)"
    return text if len(text) <= width else text[: width - 3] + "..."


def float_cell(path: Path, header: list[str], row: list[Any], n: int, col: int) -> float:
    v = row[col]
    if v is None or v == "" or (isinstance(v, str) and v.strip().lower() in ("nan", "null", "none", "-")):
        return float("nan")
    try:
        number = float(v)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"{path}: row {n} column {header[col]!r}: {str(v)[:40]!r} is not a number") from None
    if math.isinf(number):
        raise DataError(f"{path}: row {n} column {header[col]!r}: {str(v)[:40]!r} is out of range (not finite); "
                        "fix the value or leave the cell empty")
    return number


_POD = re.compile(r"^(?P<svc>[a-z0-9][a-z0-9-]*?)-(?:[a-z0-9]{6,10}-[a-z0-9]{5}|[a-z0-9]{5})$")


def service_of(name: str) -> str:
    """Service-level name of a Kubernetes pod (`cartservice-7d8b9c6f4-xk2lp` -> `cartservice`)."""
    m = _POD.match(name)
    if m and any(ch.isdigit() for ch in name[len(m.group("svc")):]):
        return m.group("svc")
    return name


def unwrap_log_message(text: str) -> tuple[str, str]:
    """(message, level) of a log line that is JSON: a container runtime's wrapper
    (`{"log": "...", "stream": ...}`, as Docker writes) and a structured application log
    inside it (`{"severity": "info", "message": "..."}`) are both unwrapped; plain text is
    returned as it is, with no level."""
    text = text.strip()
    if not text.startswith("{"):
        return text, ""
    try:
        outer = json.loads(text)
    except json.JSONDecodeError:
        return text, ""
    if not isinstance(outer, dict):
        return text, ""
    if "log" in outer:  # the runtime's wrapper: the application's line is inside
        inner = str(outer["log"]).strip()
        try:
            app = json.loads(inner) if inner.startswith("{") else None
        except json.JSONDecodeError:
            app = None
        if not isinstance(app, dict):
            return inner, ""
    else:  # a structured application log line itself
        inner, app = text, outer
    level = str(app.get("severity") or app.get("level") or "").upper()
    return str(app.get("message") or app.get("msg") or inner), level
