"""The files source: read a telemetry directory into a `Telemetry`.

A file's kind comes from its name or its folder: `metrics*`/`metric/`, `logs*`/`log/`/`*.log`,
`traces*`/`spans*`/`trace/`, `changes*`/`deploys*`, `alerts*`, and `topology.json`.
Shapes are documented in docs/telemetry-formats.md. Ground truth (`incident.json`) and
other files are never read. `load_directory` caches by directory and modification times.
"""

from __future__ import annotations

import json
import os
import re
import time as _time
from array import array
from collections import defaultdict
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from copilot.errors import DataError
from copilot.redact import redact_telemetry

from .model import Alert, ChangeEvent, LogRecord, MetricSeries, Span, Telemetry
from .otlp import read_otlp
from .tables import (
    CSV_SUFFIXES, READ_ERRORS, read_problem,
    csv_stream, float_cell, parse_time, pick, read_jsonl, read_table, service_of, stem_of, suffix_of, time_cells,
    time_column, unwrap_log_message,
)
from .textlogs import read_text_logs

KINDS = ("metrics", "logs", "traces", "changes", "alerts", "topology")
_PREFIXES = {
    "metrics": ("metric", "kpi"),
    "logs": ("log",),
    "traces": ("trace", "span"),
    "changes": ("change", "deploy", "event"),
    "alerts": ("alert",),
}
NEVER_READ = {"incident.json", "question.txt"}
TIME_COLS = ("timestamp", "time", "ts", "datetime", "date", "@timestamp", "time_unix", "timeunixnano")
COMPONENT_COLS = ("component", "service", "service_name", "servicename", "cmdb_id", "app", "pod", "podname",
                  "pod_name", "instance", "container", "host", "node")
INSTANCE_COLS = ("pod", "podname", "pod_name", "instance", "container", "host", "node")


def kind_of(path: Path, root: Path) -> str | None:
    name = path.name.lower()
    if name in NEVER_READ or name.startswith(("readme", ".")) or name.endswith(".md"):
        return None
    if name in ("topology.json", "call_graph.json", "callgraph.json", "graph.json"):
        return "topology"
    if stem_of(path).lower().startswith(_EDGE_STEMS) and suffix_of(path) in _TABLE_SUFFIXES:
        return "topology"
    stem = stem_of(path).lower()
    folders = [p.lower() for p in path.relative_to(root).parts[:-1]]
    for kind, prefixes in _PREFIXES.items():
        if stem.startswith(prefixes):
            return kind
    for folder in reversed(folders):
        for kind, prefixes in _PREFIXES.items():
            if folder.startswith(prefixes):
                return kind
    if suffix_of(path) in (".log", ".log.gz"):
        return "logs"
    return None


def discover(root: Path, skip: frozenset[str] = frozenset()) -> dict[str, list[Path]]:
    """Telemetry files by kind; top-level folders named in `skip` belong to another source."""
    found: dict[str, list[Path]] = {k: [] for k in KINDS}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if path.is_file() and len(rel) <= 3 and not (len(rel) > 1 and rel[0].lower() in skip):
            kind = kind_of(path, root)
            if kind:
                found[kind].append(path)
    return found


_CACHE: dict[str, tuple[tuple, Telemetry]] = {}


def load_directory(root: str | Path, skip: frozenset[str] = frozenset()) -> Telemetry:
    """Read every telemetry file under `root` (cached while no file changes), except under
    the top-level folders in `skip` (another source of the run reads those)."""
    root = Path(root).expanduser()
    _check_root(root)
    from copilot.plugins.platform.dump import LOG_SUFFIXES, load_platform, looks_like_kubernetes, walk

    found = discover(root, skip)
    # Kubernetes state (kubectl JSON, a cluster-info dump, pod logs) is read by its own reader
    every = [p for p in walk(root) if p.relative_to(root).parts[0] not in skip]
    k8s_json = [p for p in every if p.name.lower().endswith(".json") and looks_like_kubernetes(p)]
    files = [p for paths in found.values() for p in paths]
    if not files and not k8s_json:  # noqa: SIM102
        raise DataError(f"{root}: no telemetry files found; expected e.g. metrics.csv, logs.jsonl, traces.csv")
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(set(files) | set(k8s_json))) + tuple(sorted(skip))
    hit = _CACHE.get(str(root.resolve()))
    if hit and hit[0] == stamp:
        return hit[1]
    platform, used = load_platform(root, k8s_json + [p for p in every if p.name.lower().endswith(LOG_SUFFIXES)]) if k8s_json else (None, set())
    found = {k: [p for p in v if p not in used] for k, v in found.items()}
    metric_tables, streamed = _read_metric_files(found["metrics"])
    edge_tables = [path for path, (header, _) in metric_tables.items() if is_edge_header(header)]
    found["metrics"] = [p for p in found["metrics"] if p not in edge_tables]
    found["topology"] += edge_tables
    tel = Telemetry(meta={"source": str(root), "files": {k: [str(p.relative_to(root)) for p in v] for k, v in found.items() if v}})
    _read_files(tel, found, metric_tables, streamed)
    if platform is not None:
        _add_platform(tel, platform)
    tel.logs.sort(key=lambda r: r.timestamp)
    tel.changes.sort(key=lambda c: c.timestamp)
    tel.alerts.sort(key=lambda a: a.timestamp)
    _add_call_graph(tel, found["topology"], metric_tables)
    if not (tel.metrics or tel.logs or tel.spans or tel.changes or tel.alerts or tel.platform):
        names = ", ".join(str(p.relative_to(root)) for p in files[:3])
        raise DataError(f"{root}: the telemetry files ({names}) hold no data rows; add rows below the header")
    redact_telemetry(tel)  # secrets end where data enters
    _CACHE[str(root.resolve())] = (stamp, tel)
    return tel


def _check_root(root: Path) -> None:
    """A readable directory, or one line saying what to pass instead."""
    if root.exists() and not root.is_dir():
        raise DataError(f"{root}: not a directory; pass --data DIR, a folder with metrics/logs/traces files")
    if not root.is_dir():
        raise DataError(f"{root}: no such telemetry directory; pass --data DIR with metrics/logs/traces files")
    if not os.access(root, os.R_OK | os.X_OK):
        raise DataError(f"{root}: permission denied; make the folder readable (chmod u+rx)")


def _read_metric_files(paths: list[Path]) -> tuple[dict[Path, Any], dict[Path, list[MetricSeries]]]:
    """Each metrics table read once: (the tables read whole, the series streamed). An edge
    list filed among them (caller and callee columns, no time) is a call graph. CSV/TSV/JSONL
    metrics stream: memory follows the series (two float arrays), not the file's text."""
    metric_tables: dict[Path, Any] = {}
    streamed: dict[Path, list[MetricSeries]] = {}
    for path in paths:
        if suffix_of(path) in STREAMED_SUFFIXES:
            series = _guarded(path, stream_metrics, path)
            if series is None:  # an edge list: small, read whole
                metric_tables[path] = _guarded(path, read_table, path)
            else:
                streamed[path] = series
        else:
            metric_tables[path] = _guarded(path, read_table, path)
    return metric_tables, streamed


def _read_files(tel: Telemetry, found: dict[str, list[Path]], metric_tables: dict[Path, Any],
                streamed: dict[Path, list[MetricSeries]]) -> None:
    """The metrics, logs, traces, changes and alerts files, in that order, into `tel`."""
    for path in found["metrics"]:
        tel.metrics.extend(streamed[path] if path in streamed else _guarded(path, read_metrics, path, metric_tables[path]))
    for path in found["logs"]:
        tel.logs.extend(_guarded(path, read_logs, path))
    for path in found["traces"]:
        tel.spans.extend(_guarded(path, read_spans, path))
    for path in found["changes"]:
        tel.changes.extend(_guarded(path, read_changes, path))
    for path in found["alerts"]:
        tel.alerts.extend(_guarded(path, read_alerts, path))


def _add_platform(tel: Telemetry, platform: Any) -> None:
    """The Kubernetes state, its pod logs and changes; an alert on a pod belongs to the pod's workload."""
    owners = platform.platform.owners
    for a in tel.alerts:
        pod_key = f"{a.labels.get('namespace', '')}/{a.labels.get('pod', '')}"
        if pod_key in owners:
            a.component = owners[pod_key]
    tel.platform = platform.platform
    tel.logs.extend(platform.logs)
    tel.changes.extend(platform.changes)
    tel.meta["files"]["platform"] = platform.meta.get("platform_files", [])


def _add_call_graph(tel: Telemetry, topology: list[Path], metric_tables: dict[Path, Any]) -> None:
    """The call graph the topology files give, or else the one the spans show."""
    edges: list[tuple[str, str]] = []
    for path in topology:
        edges.extend(_guarded(path, read_edge_table, path, metric_tables[path]) if path in metric_tables
                     else _guarded(path, read_topology, path))
    tel.call_graph = sorted(set(edges)) if edges else derive_call_graph(tel.spans)
    tel.meta["call_graph_from"] = "topology" if edges else ("spans" if tel.call_graph else "none")


def _guarded(path: Path, read: Any, *args: Any) -> Any:
    """Run one file's reader; whatever a damaged or hostile file makes it raise becomes one
    DataError line naming the file."""
    try:
        return read(*args)
    except DataError:
        raise
    except (*READ_ERRORS, ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise read_problem(path, exc) from None


# ---- metrics ----------------------------------------------------------------------


STREAM_HEAD = 50_000  # rows read before the time column is chosen (the rest stream)

Timed = Iterable[tuple[int, list[Any], float]]  # (row number, row, unix seconds)


def read_metrics(path: Path, table: tuple[list[str], list[list[Any]]] | None = None) -> list[MetricSeries]:
    header, rows = table or read_table(path)
    tcol, times = _plausible_times(path, header, rows)
    return _metrics_from(path, header, tcol, ((n, r, t) for n, (r, t) in enumerate(zip(rows, times), start=2)))


JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
STREAMED_SUFFIXES = CSV_SUFFIXES + JSONL_SUFFIXES


def stream_metrics(path: Path) -> list[MetricSeries] | None:
    """A CSV/TSV or JSON-lines metrics file read row by row (None when it is a call-graph
    edge list). The time column is chosen on the first rows, as `read_metrics` chooses it
    on all of them. JSON lines are read twice: once for the keys (the header), once for
    the values."""
    if suffix_of(path) in JSONL_SUFFIXES:
        header: list[str] = []
        seen: set[str] = set()
        for record in read_jsonl(path):
            for key in record:
                if key not in seen:
                    seen.add(key)
                    header.append(key)
        if is_edge_header(header):
            return None
        return _stream_rows(path, header, ((n, [r.get(k) for k in header])
                                           for n, r in enumerate(read_jsonl(path), start=2)))
    with csv_stream(path) as (header, numbered):
        if is_edge_header(header):
            return None
        return _stream_rows(path, header, numbered)


def _stream_rows(path: Path, header: list[str], numbered: Iterator[tuple[int, list[Any]]]) -> list[MetricSeries]:
    head = list(islice(numbered, STREAM_HEAD))
    tcol, times = _plausible_times(path, header, [r for _, r in head])
    cell_time = time_cells(path, header, tcol)

    def timed() -> Iterator[tuple[int, list[Any], float]]:
        for (n, r), t in zip(head, times):
            yield n, r, t
        head.clear()
        for n, r in numbered:
            yield n, r, cell_time(n, r[tcol])

    return _metrics_from(path, header, tcol, timed())


def _metrics_from(path: Path, header: list[str], tcol: int, rows: Timed) -> list[MetricSeries]:
    mcol = pick(header, "metric", "metric_name", "name", "kpi", "kpi_name", "__name__")
    vcol = pick(header, "value", "val", "metric_value")
    ccol = pick(header, *COMPONENT_COLS)
    if mcol is not None and vcol is not None:
        return _long_metrics(path, header, rows, tcol, mcol, vcol, ccol)
    return _wide_metrics(path, header, rows, tcol, ccol)


def _plausible_times(path: Path, header: list[str], rows: list[list[Any]]) -> tuple[int, list[float]]:
    """The time column and its values. With several time columns (a text `Time` and a numeric
    `TimeStamp`, as Nezha publishes), one whose values lie in the future is wrong (some
    published numeric stamps are off by years): the next one is used."""
    cols = list(dict.fromkeys(i for i in (pick(header, alias) for alias in TIME_COLS) if i is not None))
    if not cols:
        raise DataError(f"{path}: no time column; expected one of timestamp, time, ts (ISO-8601 or unix s/ms/ns)")
    horizon = _time.time() + 86400.0
    first: tuple[int, list[float]] | None = None
    error: DataError | None = None
    for col in cols:
        try:
            times = time_column(path, header, rows, col)
        except DataError as exc:
            error = error or exc
            continue
        if not times or max(times) <= horizon:
            return col, times
        first = first or (col, times)
    if first is not None:
        return first
    raise error  # type: ignore[misc]


@lru_cache(maxsize=65536)
def _component(raw: str, header_name: str) -> tuple[str, str]:
    """(service-level component, instance) from a cell of a component-like column."""
    if re.sub(r"[^a-z_]", "", header_name.lower()) in INSTANCE_COLS:
        return service_of(raw), raw
    return raw, ""


def _arrays() -> tuple[array, array]:
    return array("d"), array("d")


def _long_metrics(path, header, rows: Timed, tcol, mcol, vcol, ccol) -> list[MetricSeries]:
    label_cols = [i for i in range(len(header)) if i not in (tcol, mcol, vcol, ccol)]
    groups: dict[tuple, tuple[array, array]] = defaultdict(_arrays)
    for n, r, t in rows:
        comp = str(r[ccol]) if ccol is not None else ""
        labels = tuple((header[i], str(r[i])) for i in label_cols if r[i] not in (None, "")) if label_cols else ()
        if not str(r[mcol]).strip():
            raise DataError(f"{path}: row {n} column {header[mcol]!r} is empty; expected a metric name")
        ts, vs = groups[(comp, str(r[mcol]), labels)]
        ts.append(t)
        vs.append(float_cell(path, header, r, n, vcol))
    out = []
    for (comp, metric, labels), (ts, vs) in groups.items():
        component, instance = _component(comp, header[ccol]) if ccol is not None else ("", "")
        lab = dict(labels)
        if instance and instance != component:
            lab["instance"] = instance
        out.append(_series(component, metric, ts, vs, lab))
    return out


def _wide_metrics(path, header, rows: Timed, tcol, ccol) -> list[MetricSeries]:
    skip = {tcol} | ({ccol} if ccol is not None else set())
    skip |= {i for i, h in enumerate(header) if pick([h], *TIME_COLS) is not None}
    value_cols = [i for i in range(len(header)) if i not in skip]
    if not value_cols:
        raise DataError(f"{path}: only a time column; expected value columns named <component>_<metric>")
    stem = stem_of(path)
    per_file = re.sub(r"[_-]?(metrics?|kpis?)$", "", stem, flags=re.I) if not stem.lower().startswith(("metric", "kpi")) else ""
    if ccol is not None:  # one row per (time, component): the other columns are metrics
        groups: dict[tuple[str, int], tuple[array, array]] = defaultdict(_arrays)
        for n, r, t in rows:
            for i in value_cols:
                ts, vs = groups[(str(r[ccol]), i)]
                ts.append(t)
                vs.append(float_cell(path, header, r, n, i))
        out = []
        for (comp, i), (ts, vs) in groups.items():
            component, instance = _component(comp, header[ccol])
            out.append(_series(component, header[i], ts, vs, {"instance": instance} if instance and instance != component else {}))
        return out
    names = []
    for i in value_cols:
        name = header[i]
        if per_file:
            names.append((per_file, name))
        elif "_" in name:
            component, metric = name.split("_", 1)
            names.append((component, metric))
        else:
            raise DataError(f"{path}: column {name!r} is not <component>_<metric>; rename it or use the long shape")
    times = array("d")
    values = [array("d") for _ in value_cols]
    for n, r, t in rows:
        times.append(t)
        for vs, i in zip(values, value_cols):
            vs.append(float_cell(path, header, r, n, i))
    return [_series(component, metric, times, vs, {}) for (component, metric), vs in zip(names, values)]


def _series(component: str, metric: str, ts: Any, vs: Any, labels: dict[str, str]) -> MetricSeries:
    t = np.array(ts, dtype=float)  # a copy: one float array per series, shared with nothing
    v = np.array(vs, dtype=float)
    if len(t) > 1 and np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
    return MetricSeries(component, metric, t, v, labels)


# ---- logs -------------------------------------------------------------------------

_LEVELS = {"WARNING": "WARN", "ERR": "ERROR", "CRITICAL": "FATAL", "CRIT": "FATAL", "EMERG": "FATAL", "TRACE": "DEBUG"}


def norm_level(level: Any) -> str:
    text = str(level or "").strip().upper()
    return _LEVELS.get(text, text if text in ("DEBUG", "INFO", "WARN", "ERROR", "FATAL") else "")


def read_logs(path: Path) -> list[LogRecord]:
    s = suffix_of(path)
    if s in (".log", ".log.gz", ".txt", ".txt.gz"):
        return read_text_logs(path)
    header, rows = read_table(path)
    tcol = pick(header, *TIME_COLS)
    mcol = pick(header, "message", "msg", "log", "content", "line", "body", "text")
    if tcol is None or mcol is None:
        raise DataError(f"{path}: expected columns timestamp and message (and optionally component, level)")
    ccol = pick(header, *COMPONENT_COLS)
    lcol = pick(header, "level", "severity", "severity_text", "loglevel", "lvl")
    times = time_column(path, header, rows, tcol)
    default = "" if stem_of(path).lower().startswith("log") else stem_of(path)
    out = []
    for r, t in zip(rows, times):
        comp, inst = _component(str(r[ccol]), header[ccol]) if ccol is not None and r[ccol] else (default, "")
        message, inner_level = unwrap_log_message("" if r[mcol] is None else str(r[mcol]))
        level = norm_level(r[lcol]) if lcol is not None else ""
        level = level or (norm_level(inner_level) if inner_level else "")
        out.append(LogRecord(t, comp, message, level or _guess_level(message), inst))
    return out


_LEVEL_WORD = re.compile(r"\b(DEBUG|INFO|WARN(?:ING)?|ERROR|ERR|FATAL|CRITICAL)\b")


def _guess_level(message: str) -> str:
    m = _LEVEL_WORD.search(message[:120])
    return norm_level(m.group(1)) if m else ""


# ---- traces -----------------------------------------------------------------------

_NO_PARENT = {"", "root", "0", "null", "none", "-", "0000000000000000"}


def read_spans(path: Path) -> list[Span]:
    if suffix_of(path) in (".json", ".json.gz"):
        return read_otlp(path)
    header, rows = read_table(path)
    need = {
        "trace_id": pick(header, "trace_id", "traceid"),
        "span_id": pick(header, "span_id", "spanid"),
        "service": pick(header, "service", "service_name", "component", "servicename", "podname", "pod", "pod_name"),
        "start": pick(header, "start", "start_time", "starttime", "start_ms", "start_us", "starttimeunixnano", "timestamp"),
    }
    missing = [k for k, v in need.items() if v is None]
    if missing:
        raise DataError(f"{path}: missing span column(s) {', '.join(missing)}; expected trace_id, span_id, parent_id, "
                        "service, operation, start, duration_ms, status")
    cols = {k: v for k, v in need.items() if v is not None}  # every one: none is missing
    pcol = pick(header, "parent_id", "parentid", "parent_span_id", "parentspanid", "parent")
    ocol = pick(header, "operation", "operationname", "operation_name", "name", "span_name", "endpoint")
    ecol = pick(header, "end", "end_time", "endtime", "endtimeunixnano")
    dcol = pick(header, "duration_ms", "duration", "durationms", "elapsed_ms", "latency_ms")
    dus = pick(header, "duration_us", "durationus")
    dns = pick(header, "duration_ns", "durationns")
    scol = pick(header, "status", "status_code", "statuscode", "error", "otel_status_code")
    if ecol is None and dcol is None and dus is None and dns is None:
        raise DataError(f"{path}: no duration; expected a duration_ms column or an end column")
    scol_name = header[cols["service"]]
    starts = time_column(path, header, rows, cols["start"])
    ends = time_column(path, header, rows, ecol) if ecol is not None else None
    out = []
    for n, (r, start) in enumerate(zip(rows, starts), start=2):
        if ends is not None and ecol is not None:  # ends is read exactly when there is an end column
            dur = _exact_ms(r[cols["start"]], r[ecol]) or (ends[n - 2] - start) * 1000.0
        elif dcol is not None:
            dur = float_cell(path, header, r, n, dcol)
        elif dus is not None:
            dur = float_cell(path, header, r, n, dus) / 1000.0
        else:
            assert dns is not None  # with no duration column at all, the check above raised
            dur = float_cell(path, header, r, n, dns) / 1e6
        parent = "" if pcol is None or r[pcol] is None else str(r[pcol])
        comp, inst = _component(str(r[cols["service"]]), scol_name)
        out.append(Span(str(r[cols["trace_id"]]), str(r[cols["span_id"]]), "" if parent.lower() in _NO_PARENT else parent,
                        comp, "" if ocol is None else str(r[ocol]), start, dur,
                        status_of(r[scol], header[scol]) if scol is not None else "ok", inst))
    return out


def _exact_ms(start: Any, end: Any) -> float | None:
    """end - start in ms from integer cells without float rounding (unit guessed from magnitude)."""
    try:
        a, b = int(start), int(end)
    except (TypeError, ValueError):
        return None
    unit_ms = 1e6 if abs(a) >= 1e17 else 1e3 if abs(a) >= 1e14 else 1.0 if abs(a) >= 1e11 else 1e-3
    return (b - a) / unit_ms


@lru_cache(maxsize=1024)
def status_of(value: Any, column: str = "status") -> str:
    """'error' or 'ok' from a status cell: words, HTTP codes (5xx), OTel codes (2 = error), or an error flag."""
    text = str(value).strip().lower()
    if re.sub(r"[^a-z]", "", column.lower()) in ("error", "iserror", "failed"):
        return "error" if text in ("1", "true", "yes", "error") else "ok"
    if text in ("error", "err", "2", "fail", "failed", "failure", "status_code_error", "5xx") or re.fullmatch(r"5\d\d", text):
        return "error"
    return "ok"


def derive_call_graph(spans: list[Span]) -> list[tuple[str, str]]:
    by_id = {s.span_id: s.component for s in spans}
    edges = {(by_id[s.parent_id], s.component) for s in spans if s.parent_id in by_id}
    return sorted((a, b) for a, b in edges if a != b)


# ---- changes, alerts, topology ------------------------------------------------------


def _records(path: Path) -> list[dict[str, Any]]:
    if suffix_of(path) in (".json", ".json.gz"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise DataError(f"{path}: not valid JSON ({type(exc).__name__}); expected a list of objects") from None
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise DataError(f"{path}: expected a JSON list of objects")
        return data
    if suffix_of(path) in (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"):
        return list(read_jsonl(path))
    header, rows = read_table(path)
    return [dict(zip(header, r)) for r in rows]


def _stamp(path: Path, n: int, rec: dict[str, Any], *keys: str) -> float:
    for k in keys:
        if rec.get(k) not in (None, ""):
            try:
                return parse_time(rec[k])
            except (ValueError, TypeError, OverflowError):
                raise DataError(f"{path}: record {n} field {k!r}: {str(rec[k])[:40]!r} is not a time; expected ISO-8601 or unix s/ms/ns") from None
    raise DataError(f"{path}: record {n} has no time; expected a field {keys[0]!r}")


def read_changes(path: Path) -> list[ChangeEvent]:
    out = []
    for n, rec in enumerate(_records(path), start=1):
        t = _stamp(path, n, rec, "timestamp", "time", "ts", "at", "created_at")
        comp = str(rec.get("component") or rec.get("service") or rec.get("target") or "")
        out.append(ChangeEvent(t, comp, str(rec.get("kind") or rec.get("type") or "change"),
                               str(rec.get("description") or rec.get("summary") or rec.get("message") or ""),
                               str(rec.get("author") or rec.get("user") or ""), str(rec.get("id") or f"change-{n}")))
    return out


WORKLOAD_LABELS = ("deployment", "statefulset", "daemonset", "job_name", "cronjob")
NAME_LABELS = ("service", "app", "app_kubernetes_io_name", "component", "container", "job", "instance")


def alert_component(labels: dict[str, str]) -> str:
    """The component an alert is about, from its labels: the pod's workload, a workload
    label, the node (node alerts), then service/app/.../job (kube-state-metrics' `job` names
    the exporter, not the component, so Kubernetes labels come first)."""
    if labels.get("pod"):
        return service_of(labels["pod"])
    for key in WORKLOAD_LABELS:
        if labels.get(key):
            return labels[key]
    if labels.get("node") and not labels.get("service"):
        return labels["node"]
    return next((labels[k] for k in NAME_LABELS if labels.get(k)), "")


def _webhook_alerts(path: Path) -> list[Alert] | None:
    """An Alertmanager webhook or Grafana alert payload saved as a file; None if not one."""
    if suffix_of(path) not in (".json", ".json.gz"):
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(body, dict) or not ({"alerts", "ruleName", "evalMatches"} & set(body)):
        return None
    from copilot.service.payloads import PayloadError, parse_alertmanager

    legacy = "alerts" not in body
    try:
        group = parse_alertmanager(body, "grafana" if legacy else "file")
    except PayloadError as exc:
        raise DataError(f"{path}: not an Alertmanager or Grafana alert payload ({exc})") from None
    if legacy:  # the series a legacy Grafana alert fired on carry the component's labels
        for match in body.get("evalMatches") or []:
            tags = match.get("tags") if isinstance(match, dict) else None
            if isinstance(tags, dict):
                group.alerts[0].labels = {**{str(k): str(v) for k, v in tags.items()}, **group.alerts[0].labels}
                break
    out = []
    for item in group.alerts:
        notes = item.annotations
        out.append(Alert(item.starts_at or 0.0, alert_component(item.labels), item.name,
                         item.labels.get("severity", "warning"),
                         notes.get("description") or notes.get("summary") or notes.get("message") or "",
                         {**item.labels, "status": item.status}))
    return out


def read_alerts(path: Path) -> list[Alert]:
    webhook = _webhook_alerts(path)
    if webhook is not None:
        return webhook
    out = []
    for n, rec in enumerate(_records(path), start=1):
        raw_labels, raw_notes = rec.get("labels"), rec.get("annotations")
        labels: dict[Any, Any] = raw_labels if isinstance(raw_labels, dict) else {}
        notes: dict[Any, Any] = raw_notes if isinstance(raw_notes, dict) else {}
        t = _stamp(path, n, rec, "timestamp", "time", "startsAt", "starts_at", "fired_at", "ts")
        comp = str(rec.get("component") or rec.get("service") or labels.get("service") or labels.get("job") or labels.get("pod") or "")
        name = str(rec.get("name") or rec.get("alertname") or labels.get("alertname") or "alert")
        out.append(Alert(t, service_of(comp), name, str(rec.get("severity") or labels.get("severity") or "warning"),
                         str(rec.get("description") or notes.get("description") or notes.get("summary") or ""),
                         {str(k): str(v) for k, v in labels.items()}))
    return out


_EDGE_STEMS = ("topology", "call_graph", "callgraph", "dependency", "dependencies", "edges")
_TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".parquet", ".jsonl", ".jsonl.gz")
_CALLER_COLS = ("caller", "source", "src", "from", "parent", "client")
_CALLEE_COLS = ("callee", "target", "dst", "to", "child", "server", "destination")
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}(:\d+)?$")


def is_edge_header(header: list[str]) -> bool:
    """Caller and callee columns and no time column: a call graph."""
    return pick(header, *TIME_COLS) is None and pick(header, *_CALLER_COLS) is not None \
        and pick(header, *_CALLEE_COLS) is not None


def read_edge_table(path: Path, table: tuple[list[str], list[list[Any]]] | None = None) -> list[tuple[str, str]]:
    """Call edges from a table (`Source,Target[,Weight]` as Nezha publishes, `caller,callee`).
    An edge to an IP address says which host a service runs on: it is not a call."""
    header, rows = table or read_table(path)
    a, b = pick(header, *_CALLER_COLS), pick(header, *_CALLEE_COLS)
    if a is None or b is None:
        raise DataError(f"{path}: no caller/callee columns; expected e.g. caller,callee or source,target")
    out = []
    for row in rows:
        caller, callee = str(row[a] or "").strip(), str(row[b] or "").strip()
        if caller and callee and caller != callee and not _IP.match(callee) and not _IP.match(caller):
            out.append((service_of(caller), service_of(callee)))
    return out


def read_topology(path: Path) -> list[tuple[str, str]]:
    if suffix_of(path) in _TABLE_SUFFIXES:
        return read_edge_table(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise DataError(f"{path}: not valid JSON ({type(exc).__name__}); expected {{\"edges\": [[caller, callee], ...]}}") from None
    edges = data.get("edges", data.get("calls")) if isinstance(data, dict) else data
    out: list[tuple[str, str]] = []
    if isinstance(edges, list):
        for n, e in enumerate(edges, start=1):
            if isinstance(e, (list, tuple)) and len(e) == 2:
                out.append((str(e[0]), str(e[1])))
            elif isinstance(e, dict) and ("caller" in e or "source" in e):
                out.append((str(e.get("caller", e.get("source"))), str(e.get("callee", e.get("target")))))
            else:
                raise DataError(f"{path}: edge {n} is {e!r}; expected [caller, callee] or {{\"caller\": .., \"callee\": ..}}")
    elif isinstance(data, dict):  # adjacency: {"caller": ["callee", ...]}
        for caller, callees in data.items():
            if not isinstance(callees, list):
                raise DataError(f"{path}: {caller!r} maps to {callees!r}; expected a list of callees or an \"edges\" list")
            out.extend((str(caller), str(c)) for c in callees)
    else:
        raise DataError(f"{path}: expected {{\"edges\": [[caller, callee], ...]}}")
    return out
