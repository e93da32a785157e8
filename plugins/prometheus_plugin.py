"""The built-in `prometheus` plugin: read-only tools over a Prometheus-compatible HTTP API
(Prometheus, VictoriaMetrics, Thanos).

Tools: prom_query (range query, summarised per series), prom_series (which series exist),
prom_labels (label names and values) and prom_detect (anomaly findings for a query). They
are always listed; without `prometheus_url` they answer no_data with how to configure it.
Aggregation happens on the server: a query that would pull more than a few hundred raw
series is refused with advice to wrap it in `sum by (...)` or `topk`.

Times (start, end) accept ISO-8601, unix seconds, "now", "now-1h", "-30m" (ago) or "HH:MM"
(in the run's time zone, the most recent such time).
"""

from __future__ import annotations

import functools
import re
import time as _time
from datetime import datetime, timedelta
from typing import Any, Callable, Sequence

from copilot.errors import CopilotError
from copilot.finding_ids import allocator
from copilot.plugin_manager import Plugin
from copilot.timefmt import current_zone, hhmm, when, zone_tag
from copilot.tools import ToolContext, ToolResult, tool

NOT_CONFIGURED = "no Prometheus configured; set prometheus_url in config.toml or COPILOT_PROMETHEUS_URL"
QUERY_SPAN_S = 3600  # prom_query without times: the last hour
DETECT_SPAN_S = 30 * 60  # prom_detect without times: the last 30 minutes...
LOOKBACK_S = 15 * 60  # ...or the run's window widened this far back
BASELINE_MIN_S, BASELINE_MAX_S = 3600, 6 * 3600  # prom_detect's baseline: 3x the window, within these
DISCOVERY_SPAN_S = 6 * 3600  # prom_series / prom_labels without times
MAX_QUERY_SERIES = 200
MAX_DETECT_SERIES = 2000
MAX_LINES = 30
DEVIATION_SIGMA = 4.0

_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_RELATIVE = re.compile(r"^\s*(?:now)?\s*-\s*(.+)$|^\s*(\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w))\s*(?:ago)?\s*$")


def _guard(fn: Callable[..., ToolResult]) -> Callable[..., ToolResult]:
    """No URL: no_data. A CopilotError: an error result the model can read."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> ToolResult:
        ctx = kwargs.get("ctx")
        if not (getattr(getattr(ctx, "settings", None), "prometheus_url", "") or "").strip():
            return ToolResult.no_data(NOT_CONFIGURED)
        try:
            return fn(*args, **kwargs)
        except CopilotError as exc:
            return ToolResult.error(str(exc))

    return wrapper


def _client(ctx: ToolContext | None):
    from copilot.plugins.telemetry.prometheus import PrometheusClient

    return PrometheusClient.from_settings(getattr(ctx, "settings", None))


def _component_labels(ctx: ToolContext | None) -> Sequence[str]:
    from copilot.plugins.telemetry.prometheus import DEFAULT_COMPONENT_LABELS

    value = getattr(getattr(ctx, "settings", None), "prometheus_component_labels", None)
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    names = [v for v in (value or []) if v]
    return tuple(names) or DEFAULT_COMPONENT_LABELS


def parse_time(value: str | float | int | None, now: float) -> float | None:
    """Unix seconds from the formats in the module docstring; None stays None."""
    from copilot.plugins.telemetry.prometheus import parse_duration
    from copilot.plugins.telemetry.tables import parse_time as parse_absolute

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "now":
            return now
        rel = _RELATIVE.match(text)
        if rel:
            return now - parse_duration((rel.group(1) or rel.group(2)).strip())
        hm = _HHMM.match(text)
        if hm:
            day = datetime.fromtimestamp(now, tz=current_zone()).replace(hour=0, minute=0, second=0, microsecond=0)
            t = day + timedelta(hours=int(hm.group(1)), minutes=int(hm.group(2)), seconds=int(hm.group(3) or 0))
            if t.timestamp() > now + 60:
                t -= timedelta(days=1)
            return t.timestamp()
    try:
        return parse_absolute(value)
    except (ValueError, OverflowError):
        raise CopilotError(f"{value!r} is not a time; use ISO-8601 (2024-05-14T13:05:00Z), unix seconds, "
                           "now-1h, -30m or HH:MM (in the times' zone)") from None


def resolve_range(ctx: ToolContext | None, start: Any, end: Any, span: float, lookback: float = 0.0,
                  now: float | None = None) -> tuple[float, float]:
    """Explicit times win; then the run's window (widened back by `lookback`); then the last `span` seconds."""
    now = _time.time() if now is None else now
    s, e = parse_time(start, now), parse_time(end, now)
    window = getattr(ctx, "window", None)
    if s is None and e is None and window:
        s, e = window[0] - lookback, window[1]
    e = now if e is None else min(e, max(now, (s or now) + 60))  # no point asking about the future
    s = e - span if s is None else s
    if e <= s:
        raise CopilotError(f"start ({_when(s)}) must be before end ({_when(e)})")
    return s, e


def _when(ts: float) -> str:
    return when(ts, seconds=True)


def _fmt(v: float) -> str:
    import math

    if not math.isfinite(v):
        return "n/a"
    a = abs(v)
    return f"{v:.0f}" if a >= 1000 else f"{v:.1f}" if a >= 10 else f"{v:.3g}"


def _sigma(z: float) -> str:
    return "over 99 sigma" if z > 99 else f"{z:.0f} sigma"


def _ids(ctx: ToolContext | None) -> Callable[[str], str]:
    """Finding ids unique in the run, also among those this call is still building."""
    return allocator(f.id for f in getattr(ctx, "findings", []) or [])


# -- a robust deviation check for summaries ---------------------------------------------------

def deviation(ts, values, split: float, sigma: float = DEVIATION_SIGMA) -> dict[str, float] | None:
    """Where a series left its baseline (median/MAD of the points before `split`): the first
    point after `split` that starts two consecutive points beyond `sigma` robust sigmas.
    None when it did not, or when there is too little baseline to tell."""
    import numpy as np

    base = values[(ts < split) & ~np.isnan(values)]
    if len(base) < 5:
        return None
    from copilot.plugins.detectors.robust import center_scale

    med, scale = center_scale(base, rel_floor=0.02, abs_floor=1e-9)
    after = ts >= split
    z = (values[after] - med) / scale
    t_after = ts[after]
    beyond = np.nan_to_num(np.abs(z), nan=0.0) >= sigma
    both = beyond[:-1] & beyond[1:] if len(beyond) > 1 else beyond
    if not both.any():
        return None
    i = int(np.argmax(both))
    rest = values[after][i:]
    level = float(np.nanmedian(rest))
    peak = int(np.nanargmax(np.abs(np.nan_to_num(z[i:], nan=0.0)))) + i
    return {"onset": float(t_after[i]), "baseline": med, "level": level, "peak_sigma": float(abs(z[peak])),
            "direction": 1.0 if level >= med else -1.0}


def summarise(series, split: float) -> tuple[str, dict[str, Any]]:
    import numpy as np

    v = series.values[~np.isnan(series.values)]
    labels = ",".join(f"{k}={val}" for k, val in sorted(series.labels.items()))
    head = f"{series.component} {series.metric}" + (f"{{{labels}}}" if labels else "")
    if not len(v):
        return f"{head}: no points in range", {"series": series.key, "points": 0}
    stats = {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max()), "last": float(v[-1])}
    text = (f"{head}: min {_fmt(stats['min'])}, median {_fmt(stats['median'])}, max {_fmt(stats['max'])}, "
            f"last {_fmt(stats['last'])} ({len(v)} points)")
    dev = deviation(series.timestamps, series.values, split)
    if dev:
        ratio = dev["level"] / dev["baseline"] if abs(dev["baseline"]) > 1e-12 else float("nan")
        how = f"{ratio:.1f}x, " if np.isfinite(ratio) and ratio > 0 and (ratio >= 1.5 or ratio <= 0.67) else ""
        text += (f"; deviated from {hhmm(dev['onset'], precise=True)} ({'up' if dev['direction'] > 0 else 'down'} {how}"
                 f"{_fmt(dev['baseline'])} -> {_fmt(dev['level'])}, peak {_sigma(dev['peak_sigma'])})")
    else:
        text += f"; no deviation beyond {DEVIATION_SIGMA:g} sigma after {hhmm(split, precise=True)}"
    return text, {"series": series.key, "points": int(len(v)), **stats, "deviation": dev}


# -- the tools --------------------------------------------------------------------------------

@tool(timeout_s=120.0)
@_guard
def prom_query(query: str, start: str | None = None, end: str | None = None, step: str | None = None,
               ctx: ToolContext = None) -> ToolResult:
    """Run a PromQL range query on Prometheus and summarise each series: labels, min/median/max/last, and when it deviated from its baseline. Aggregate on the server: sum by (service) (rate(x_total[1m])), histogram_quantile(0.9, sum by (le, service) (rate(x_bucket[5m]))).

    Args:
        query: PromQL instant-vector expression, e.g. sum by (service) (rate(http_requests_total{code=~"5.."}[1m]))
        start: range start: ISO-8601, unix seconds, now-1h, -30m or HH:MM in the run's time zone (default: the run's window or the last hour)
        end: range end, same formats (default: now)
        step: resolution, e.g. 15s, 1m (default: chosen for about 700 points)
    """
    from copilot.plugins.telemetry.prometheus import auto_step, load_range, name_of_query, parse_duration

    s, e = resolve_range(ctx, start, end, QUERY_SPAN_S, LOOKBACK_S)
    st = parse_duration(step) if step else auto_step(s, e)
    window = getattr(ctx, "window", None)
    split = window[0] if window and s < window[0] < e else s + (e - s) / 2
    with _client(ctx) as client:
        series = load_range(client, query, s, e, st, metric=name_of_query(query),
                            component_labels=_component_labels(ctx), max_series=MAX_QUERY_SERIES)
    if not series:
        return ToolResult.no_data(f"{query!r} returned no series between {_when(s)} and {_when(e)}; "
                                  "check the metric name with prom_series or the time range")
    rows = [summarise(m, split) for m in series]
    rows.sort(key=lambda r: (r[1].get("deviation") is None, -(r[1].get("deviation") or {}).get("peak_sigma", 0.0)))
    deviating = sum(1 for r in rows if r[1].get("deviation"))
    header = (f"{len(series)} series from {_when(s)} to {_when(e)}, step {st:g}s; baseline before {hhmm(split, precise=True)}; "
              f"{deviating} deviated")
    lines = [header] + [r[0] for r in rows[:MAX_LINES]]
    if len(rows) > MAX_LINES:
        lines.append(f"... and {len(rows) - MAX_LINES} more series (aggregate further or filter by label)")
    return ToolResult.ok("\n".join(lines), data={"query": query, "start": s, "end": e, "step": st,
                                                 "series": [r[1] for r in rows]})


@tool(timeout_s=60.0)
@_guard
def prom_series(match: str, start: str | None = None, end: str | None = None, ctx: ToolContext = None) -> ToolResult:
    """List the series in Prometheus that match a selector: how many, per metric name, and their label sets.

    Args:
        match: series selector, e.g. http_requests_total, {job="api"} or {__name__=~"node_cpu.*", instance="db1:9100"}
        start: ISO-8601, unix seconds, now-6h, -30m or HH:MM in the run's time zone (default: the last 6 hours)
        end: same formats (default: now)
    """
    s, e = resolve_range(ctx, start, end, DISCOVERY_SPAN_S)
    with _client(ctx) as client:
        found = client.series(match, s, e)
    if not found:
        return ToolResult.no_data(f"no series match {match!r} between {_when(s)} and {_when(e)}; "
                                  "list metric names with prom_labels(label=\"__name__\")")
    per_metric: dict[str, list[dict[str, str]]] = {}
    for labels in found:
        per_metric.setdefault(labels.get("__name__", ""), []).append(labels)
    lines = [f"{len(found)} series match {match!r} ({len(per_metric)} metric names)"]
    for name, items in sorted(per_metric.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        keys = sorted({k for item in items for k in item if k != "__name__"})
        values = {k: sorted({item[k] for item in items if k in item}) for k in keys}
        shown = "; ".join(f"{k}: {', '.join(v[:6])}{', ...' if len(v) > 6 else ''} ({len(v)})" for k, v in values.items())
        lines.append(f"{name or '(no name)'}: {len(items)} series; {shown}")
    lines, cut = lines[:MAX_LINES + 1], max(0, len(lines) - MAX_LINES - 1)
    if cut:
        lines.append(f"... and {cut} more metric names (narrow the selector)")
    return ToolResult.ok("\n".join(lines), data={"match": match, "count": len(found), "series": found[:500]})


@tool(timeout_s=60.0)
@_guard
def prom_labels(label: str | None = None, match: str | None = None, ctx: ToolContext = None) -> ToolResult:
    """Discover labels in Prometheus: without `label`, the label names; with it, that label's values (label="__name__" lists metric names, label="service" the services).

    Args:
        label: a label name such as service, job, pod or __name__ (omit to list label names)
        match: optional series selector to narrow the search, e.g. {job="api"}
    """
    from copilot.plugins.telemetry.prometheus import DEFAULT_COMPONENT_LABELS

    s, e = resolve_range(ctx, None, None, DISCOVERY_SPAN_S)
    with _client(ctx) as client:
        if label:
            values = client.label_values(label.strip(), match, s, e)
            if not values:
                return ToolResult.no_data(f"label {label!r} has no values in the last {DISCOVERY_SPAN_S // 3600} h"
                                          + (f" for {match}" if match else ""))
            shown = ", ".join(values[:150]) + (f", ... ({len(values) - 150} more)" if len(values) > 150 else "")
            return ToolResult.ok(f"{len(values)} values of {label}: {shown}", data={"label": label, "values": values})
        names = client.labels(match, s, e)
    if not names:
        return ToolResult.no_data("Prometheus has no series in the last 6 h" + (f" matching {match}" if match else ""))
    components = [n for n in _component_labels(ctx) if n in names] or [n for n in DEFAULT_COMPONENT_LABELS if n in names]
    text = f"{len(names)} label names: {', '.join(names)}"
    if components:
        text += f"\ncomponents come from the label {components[0]!r} (values: prom_labels(label={components[0]!r}))"
    return ToolResult.ok(text, data={"labels": names, "component_label": components[0] if components else None})


@tool(timeout_s=120.0)
@_guard
def prom_detect(query: str, start: str | None = None, end: str | None = None, ctx: ToolContext = None) -> ToolResult:
    """Find which series of a PromQL query deviate in a window from their own baseline (the period before it; the same hours a day earlier for a series with a daily cycle): by how many robust sigmas, since when. Returns findings. Aggregate on the server, e.g. sum by (service) (rate(http_requests_total{code=~"5.."}[1m])).

    Args:
        query: PromQL instant-vector expression
        start: window start: ISO-8601, unix seconds, now-30m, -30m or HH:MM in the run's time zone (default: the run's window widened 15 min back, or the last 30 min)
        end: window end, same formats (default: now)
    """
    from copilot.evidence import MetricEvidence
    from copilot.plugins.detectors.metrics import SEASON_S, detect_metric_anomalies
    from copilot.plugins.telemetry.prometheus import auto_step, load_range, name_of_query, with_history

    ws, we = resolve_range(ctx, start, end, DETECT_SPAN_S, LOOKBACK_S)
    bs = ws - min(max(3 * (we - ws), BASELINE_MIN_S), BASELINE_MAX_S)
    step = auto_step(bs, we)
    labels = _component_labels(ctx)
    with _client(ctx) as client:
        series = load_range(client, query, bs, we, step, metric=name_of_query(query),
                            component_labels=labels, max_series=MAX_DETECT_SERIES)
        if series:  # the same hours a day earlier: a daily cycle is then no anomaly
            series = with_history(series, load_range(client, query, bs - SEASON_S, we - SEASON_S, step,
                                                     metric=name_of_query(query), component_labels=labels))
    if not series:
        return ToolResult.no_data(f"{query!r} returned no series between {_when(bs)} and {_when(we)}")
    findings = detect_metric_anomalies(series, (ws, we), (bs, ws), _ids(ctx))
    for f in findings:
        if isinstance(f.details, MetricEvidence):
            f.details.query = query
    header = (f"window {hhmm(ws, precise=True)}-{hhmm(we, precise=True)} {zone_tag(ws)}, baseline {hhmm(bs, precise=True)}-{hhmm(ws, precise=True)} (step {step:g}s); "
              f"{len(series)} series scored, {len(findings)} anomalous")
    body = [f"{f.id} [{f.score:.1f}] {f.summary}" for f in findings[:MAX_LINES]]
    if len(findings) > MAX_LINES:
        body.append(f"... and {len(findings) - MAX_LINES} weaker findings")
    return ToolResult.ok("\n".join([header] + body), findings=findings,
                         data={"query": query, "window": [ws, we], "baseline": [bs, ws],
                               "findings": [f.to_dict() for f in findings]})


def _prometheus_source(settings: Any):
    from copilot.plugins.telemetry.prometheus_source import prometheus_source

    return prometheus_source(settings)


plugin = Plugin(
    name="prometheus",
    description="PromQL range queries, series and label discovery, and anomaly findings from a "
                "Prometheus-compatible API (Prometheus, VictoriaMetrics, Thanos); needs prometheus_url",
    tools=[prom_query, prom_series, prom_labels, prom_detect],
    sources=[_prometheus_source],
)
