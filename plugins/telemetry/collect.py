"""Collect: ask every source of the run for its data and merge the answers into one Telemetry.

Sources are asked concurrently (each one's own I/O bounds itself). A source that fails is
named in `meta["source_errors"]` and the others are still used; when every source fails,
the run stops with their messages, never with an empty "no anomaly" report.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from copilot.errors import CopilotError, DataError
from copilot.redact import redact_telemetry
from copilot.sources import SourceQuery, TelemetrySource

from .model import Telemetry

MAX_PARALLEL_SOURCES = 4


def merge(parts: Sequence[tuple[TelemetrySource, Telemetry]]) -> Telemetry:
    out = Telemetry(meta={"sources": [s.label for s, _ in parts]})
    edges: set[tuple[str, str]] = set()
    for source, tel in parts:
        out.metrics.extend(tel.metrics)
        out.logs.extend(tel.logs)
        out.spans.extend(tel.spans)
        out.changes.extend(tel.changes)
        out.alerts.extend(tel.alerts)
        out.platform.extend(tel.platform)
        for edge in tel.call_graph:
            if edge not in edges:
                edges.add(edge)
                out.call_graph.append(edge)
        for key, value in tel.meta.items():
            if key == "capped":
                out.meta.setdefault("capped", []).append(value)
            else:
                out.meta.setdefault(key, value)
        if tel.call_graph and "call_graph_from" not in out.meta:
            out.meta["call_graph_from"] = tel.meta.get("call_graph_from", source.name)
    out.logs.sort(key=lambda r: r.timestamp)
    out.changes.sort(key=lambda c: c.timestamp)
    out.alerts.sort(key=lambda a: a.timestamp)
    out.platform.events.sort(key=lambda e: e.timestamp)
    if len(parts) == 1:  # one source: its own meta (files lists, source path) as before
        out.meta = {**parts[0][1].meta, **out.meta}
    return out


def collect(sources: Sequence[TelemetrySource], query: SourceQuery) -> Telemetry:
    """Every source's data for the query, merged; a failing source is reported, not fatal."""
    if not sources:
        raise CopilotError("no data source in this run; pass --data DIR, configure a source (copilot init) or use --demo")

    def one(source: TelemetrySource) -> tuple[TelemetrySource, Telemetry | None, str]:
        try:
            return source, redact_telemetry(source.collect(query)), ""  # secrets end where data enters
        except DataError:
            raise  # a file the user must fix stops the run, with its one line
        except CopilotError as exc:
            return source, None, str(exc)

    if len(sources) == 1:
        results = [one(sources[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_SOURCES, len(sources))) as pool:
            results = list(pool.map(one, sources))
    parts = [(s, t) for s, t, _ in results if t is not None]
    errors = [e for _, t, e in results if t is None]
    if not parts:
        raise CopilotError("; ".join(errors))
    tel = merge(parts)
    if errors:
        tel.meta["source_errors"] = errors
    return tel


def components_of(sources: Sequence[TelemetrySource]) -> list[str]:
    """Names the sources know without fetching data (for reading a question); may be empty."""
    names: set[str] = set()
    for source in sources:
        lister = getattr(source, "component_names", None)
        if callable(lister):
            try:
                names.update(lister())
            except CopilotError:
                continue
    return sorted(names)


LIVE_WINDOW_S = 3600  # a live investigation with no time in the question: the last hour
BASELINE_MIN_S, BASELINE_MAX_S = 3600, 6 * 3600  # the baseline fetched before a live window: 3x it, within these


def source_query(ctx: Any, sources: Sequence[TelemetrySource]) -> SourceQuery:
    """What to ask the sources for. Saved data: everything (the detectors pick the window).
    Live systems: the run's window (the last hour when none was stated) and a baseline before it."""
    if not any(getattr(s, "live", False) for s in sources):
        return SourceQuery(0.0, float("inf"), ctx.window)
    if ctx.window is None:
        now = time.time()
        ctx.window = (now - LIVE_WINDOW_S, now)
    ws, we = ctx.window
    baseline = min(max(3 * (we - ws), BASELINE_MIN_S), BASELINE_MAX_S)
    components = tuple(ctx.cache.get("services") or ())
    return SourceQuery(ws - baseline, we, (ws, we), components)


def run_telemetry(ctx: Any) -> Telemetry:
    """The telemetry of one run (a ToolContext): its sources asked once, cached in the run."""
    from .files_source import FilesSource

    if "telemetry" not in ctx.cache:
        sources = list(ctx.sources) or ([FilesSource(ctx.data_dir)] if ctx.data_dir is not None else [])
        ctx.cache["telemetry"] = collect(sources, source_query(ctx, sources))
    return ctx.cache["telemetry"]
