"""The built-in `telemetry` plugin: read a telemetry directory and run the detectors.

Tool names are a contract with the offline brain and the prompts:
describe_telemetry, detect_metric_anomalies, detect_log_anomalies, detect_trace_anomalies,
list_changes, rank_root_causes, get_metric_series. All of them only read.
"""

from __future__ import annotations

from typing import Callable

from copilot.errors import CopilotError
from copilot.finding_ids import allocator
from copilot.plugin_manager import Plugin
from copilot.timefmt import hhmm, zone_tag
from copilot.timefmt import when as _when
from copilot.tools import ToolContext, ToolResult, tool

MAX_LINES = 25


def _telemetry(ctx: ToolContext):
    """The run's telemetry: every source of the run asked once, merged (plugins/telemetry/collect.py)."""
    from copilot.plugins.telemetry.collect import run_telemetry

    return run_telemetry(ctx)


def _ids(ctx: ToolContext) -> Callable[[str], str]:
    """Finding ids unique in the run, also across the findings this call is still building."""
    return allocator(f.id for f in ctx.findings)


def _window(ctx: ToolContext, tel, start, end):
    from copilot.plugins.telemetry.window import resolve_window

    return resolve_window(tel, ctx.window, start, end)


def _span(window) -> str:
    return f"{hhmm(window[0])}-{hhmm(window[1])} {zone_tag(window[0])}"


def _lines(findings, header: str) -> str:
    body = [f"{f.id} [{f.score:.1f}] {f.summary}" for f in findings[:MAX_LINES]]
    if len(findings) > MAX_LINES:
        body.append(f"... and {len(findings) - MAX_LINES} weaker findings (narrow by component or time to see them)")
    return "\n".join([header] + body)


def _check_component(tel, component: str | None) -> str | None:
    if not component:
        return None
    names = tel.components()
    for n in names:
        if n.lower() == component.strip().lower():
            return n
    raise CopilotError(f"unknown component {component!r}; known: {', '.join(names)}")


def _guard(fn):
    """Turn user-facing problems into error results the model can read."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CopilotError as exc:
            return ToolResult.error(str(exc))

    return wrapper



def _findings_result(findings: list, header: str, context: dict) -> ToolResult:
    """A detector's findings as the model reads them (one line each) and as the program does."""
    return ToolResult.ok(_lines(findings, header), data={**context, "findings": [f.to_dict() for f in findings]},
                         findings=findings)

@tool
@_guard
def describe_telemetry(ctx: ToolContext) -> ToolResult:
    """Describe the telemetry: components, signals per source, time range, alerts and call graph. Call this first."""
    from copilot.plugins.detectors.signals import family

    tel = _telemetry(ctx)
    rng = tel.time_range()
    if rng is None:
        return ToolResult.no_data("the telemetry directory has no timestamped data")
    next_id = _ids(ctx)
    fams: dict[str, set[str]] = {}
    for m in tel.metrics:
        fams.setdefault(family(m.metric), set()).add(m.metric)
    lines = [f"time range: {_when(rng[0])} to {_when(rng[1])} ({(rng[1] - rng[0]) / 60:.0f} min)",
             f"components ({len(tel.components())}): {', '.join(tel.components())}",
             f"metrics: {len(tel.metrics)} series; families: "
             + "; ".join(f"{k} ({', '.join(sorted(v)[:4])}{', ...' if len(v) > 4 else ''})" for k, v in sorted(fams.items())),
             f"logs: {len(tel.logs)} records" + (f" from {len({r.component for r in tel.logs})} components" if tel.logs else ""),
             f"traces: {len(tel.spans)} spans in {len({s.trace_id for s in tel.spans})} traces" if tel.spans else "traces: none",
             f"changes: {len(tel.changes)}", ]
    if tel.platform:
        lines.append("kubernetes: " + ", ".join(f"{n} {k}" for k, n in tel.platform.counts().items())
                     + (f"; captured {_when(tel.platform.captured_at)}" if tel.platform.captured_at else ""))
    edges = ", ".join(f"{a}->{b}" for a, b in tel.call_graph[:40])
    lines.append(f"call graph ({tel.meta.get('call_graph_from', 'none')}): {edges or 'unknown'}")
    findings = []
    seen: set[tuple[str, str]] = set()
    for a in tel.alerts:
        if (a.component, a.name) in seen:
            continue
        seen.add((a.component, a.name))
        from copilot.diagnosis import Finding
        from copilot.evidence import AlertEvidence

        findings.append(Finding(next_id("A"), "alerts", a.component, a.name, "alert",
                                f"alert {a.name} ({a.severity}) fired on {a.component} at {_when(a.timestamp)}"
                                + (f": {a.description}" if a.description else ""), 0.0, a.timestamp,
                                AlertEvidence(severity=a.severity, description=a.description)))
    lines.append(f"alerts: {len(tel.alerts)}" + ("; first firing:" if findings else ""))
    lines += [f"  {f.id} {f.summary}" for f in findings[:10]]
    window, _, how = _window(ctx, tel, None, None)
    lines.append(f"default window: {_span(window)} ({how})")
    for problem in list(tel.meta.get("source_errors", [])) + list(tel.meta.get("capped", [])):
        lines.append(f"warning: {problem}")
    data = {"time_range": list(rng), "components": tel.components(), "metric_families": {k: sorted(v) for k, v in fams.items()},
            "logs": len(tel.logs), "spans": len(tel.spans), "changes": len(tel.changes), "alerts": len(tel.alerts),
            "call_graph": [list(e) for e in tel.call_graph], "window": list(window),
            "platform": tel.platform.counts(), "captured_at": tel.platform.captured_at}
    return ToolResult.ok("\n".join(lines), data=data, findings=findings)


@tool
@_guard
def detect_metric_anomalies(ctx: ToolContext, component: str | None = None, start: str | None = None,
                            end: str | None = None) -> ToolResult:
    """Find metric series that deviate from their baseline: by how much (robust sigmas) and since when.

    Args:
        component: only this component (default: all)
        start: window start: ISO-8601, HH:MM (the run's time zone, the data's day) or unix seconds
        end: window end, same formats
    """
    from copilot.plugins.detectors.metrics import alerted_series
    from copilot.plugins.detectors.metrics import detect_metric_anomalies as detect

    tel = _telemetry(ctx)
    comp = _check_component(tel, component)
    series = [m for m in tel.metrics if comp is None or m.component == comp]
    if not series:
        return ToolResult.no_data("no metric series" + (f" for {comp}" if comp else ""))
    window, baseline, how = _window(ctx, tel, start, end)
    findings = detect(series, window, baseline, _ids(ctx), alerted=alerted_series(tel.metrics, tel.alerts))
    header = (f"window {_span(window)} ({how}), baseline {_span(baseline)}; {len(series)} series scored, "
              f"{len(findings)} anomalous")
    return _findings_result(findings, header, {"window": list(window)})


@tool
@_guard
def detect_log_anomalies(ctx: ToolContext, component: str | None = None, start: str | None = None,
                         end: str | None = None) -> ToolResult:
    """Mine log templates and find new templates, template bursts and error surges per component.

    Args:
        component: only this component (default: all)
        start: window start: ISO-8601, HH:MM (the run's time zone, the data's day) or unix seconds
        end: window end, same formats
    """
    try:
        from copilot.plugins.detectors.logs import detect_log_anomalies as detect
    except ImportError as exc:
        return ToolResult.error(f"log anomaly detection is not available ({exc}); use the other detectors")
    tel = _telemetry(ctx)
    comp = _check_component(tel, component)
    records = [r for r in tel.logs if comp is None or r.component == comp]
    if not records:
        return ToolResult.no_data("no log records" + (f" for {comp}" if comp else ""))
    window, baseline, how = _window(ctx, tel, start, end)
    findings = detect(records, window, baseline, _ids(ctx))
    findings.sort(key=lambda f: -f.score)
    header = f"window {_span(window)} ({how}); {len(records)} log records, {len(findings)} anomalies"
    return _findings_result(findings, header, {"window": list(window)})


@tool
@_guard
def detect_trace_anomalies(ctx: ToolContext, start: str | None = None, end: str | None = None) -> ToolResult:
    """Find where latency and errors originate in the traces, slow or failing call edges, and lost spans.

    Args:
        start: window start: ISO-8601, HH:MM (the run's time zone, the data's day) or unix seconds
        end: window end, same formats
    """
    from copilot.plugins.detectors.traces import detect_trace_anomalies as detect

    tel = _telemetry(ctx)
    if not tel.spans:
        return ToolResult.no_data("no traces in this telemetry")
    window, baseline, how = _window(ctx, tel, start, end)
    findings = detect(tel.spans, window, baseline, _ids(ctx))
    header = f"window {_span(window)} ({how}); {len(tel.spans)} spans, {len(findings)} anomalies"
    return _findings_result(findings, header, {"window": list(window)})


def _reference_onset(ctx: ToolContext, tel, window) -> tuple[float, str]:
    """The incident onset as the detectors saw it: the lower quartile of the onsets of the
    strongest findings (robust to one early noise blip), else the first alert, else the window start."""
    import numpy as np

    strong = sorted((f for f in ctx.findings if f.source in ("metrics", "traces", "logs") and f.onset is not None
                     and f.score >= 5.0 and window[0] <= f.onset <= window[1]), key=lambda f: -f.score)[:10]
    if strong:
        return float(np.percentile([f.onset for f in strong], 25, method="lower")), "when the strongest anomalies start"
    alerts = [a.timestamp for a in tel.alerts if window[0] <= a.timestamp <= window[1]]
    if alerts:
        return min(alerts), "the first alert"
    return window[0], "the window start"


@tool
@_guard
def list_changes(ctx: ToolContext, start: str | None = None, end: str | None = None) -> ToolResult:
    """List deploys and config changes near the incident onset, closest (and before it) first.

    Args:
        start: window start: ISO-8601, HH:MM (the run's time zone, the data's day) or unix seconds
        end: window end, same formats
    """
    from copilot.plugins.detectors.changes import detect_changes
    tel = _telemetry(ctx)
    if not tel.changes:
        return ToolResult.no_data("no change events in this telemetry")
    window, _, how = _window(ctx, tel, start, end)
    onset, basis = _reference_onset(ctx, tel, window)
    findings = detect_changes(tel.changes, window, onset, _ids(ctx))
    header = f"onset {hhmm(onset)} {zone_tag(onset)} ({basis}); {len(tel.changes)} changes, {len(findings)} near it"
    return _findings_result(findings, header, {"onset": onset})


@tool
@_guard
def rank_root_causes(ctx: ToolContext, top_k: int = 5) -> ToolResult:
    """Rank likely root-cause components with a fault kind each, from every finding so far and the call graph.

    Args:
        top_k: how many candidates to return
    """
    from copilot.faults import fault_info
    from copilot.plugins.detectors.rank import rank_root_causes as rank

    if not ctx.findings:
        return ToolResult.no_data("no findings yet; run the detectors (metrics, logs, traces, changes) first")
    graph = _telemetry(ctx).call_graph if (ctx.sources or ctx.data_dir is not None) else []
    platform = [f for f in ctx.findings if f.source == "platform"]
    others = [f for f in ctx.findings if f.source != "platform"]
    causes = rank(others, graph, top_k=max(1, int(top_k))) if others else []
    if platform:  # Kubernetes faults (plugins/platform/rank.py): active ones lead, ruled-out ones never rank
        from copilot.plugins.platform.rank import combine

        causes = combine(platform, causes, top_k=max(1, int(top_k)))
    if not causes:
        return ToolResult.no_data("the findings point at no component")
    mitigation = [fault_info(causes[0].fault_type).mitigation_en]
    lines = []
    for i, rc in enumerate(causes, start=1):
        lines.append(f"{i}. {rc.component}: {rc.fault_type}" + (f" [{rc.category}]" if rc.category else "") + f" (confidence {rc.confidence:.2f}; evidence {', '.join(rc.evidence[:6])})")
        lines += [f"   - {r}" for r in rc.reasons[:5]]
    lines.append(f"mitigation for {causes[0].fault_type}: {mitigation[0]}")
    return ToolResult.ok("\n".join(lines), data={"root_causes": [rc.to_dict() for rc in causes], "mitigation": mitigation})


@tool
@_guard
def get_metric_series(ctx: ToolContext, component: str, metric: str, start: str | None = None,
                      end: str | None = None) -> ToolResult:
    """Summarise one metric series (min/median/max in about 10 time buckets) to drill down.

    Args:
        component: the component
        metric: the metric name, or a family such as cpu, memory, latency
        start: start: ISO-8601, HH:MM (the run's time zone, the data's day) or unix seconds (default: the data's start)
        end: end, same formats (default: the data's end)
    """
    import numpy as np

    from copilot.plugins.detectors.signals import family
    from copilot.plugins.telemetry.window import parse_when

    tel = _telemetry(ctx)
    comp = _check_component(tel, component)
    mine = [m for m in tel.metrics if m.component == comp]
    picked = [m for m in mine if m.metric.lower() == metric.strip().lower()] or \
             [m for m in mine if family(m.metric) == metric.strip().lower()]
    if not picked:
        known = ", ".join(sorted({m.metric for m in mine})) or "none"
        return ToolResult.error(f"no metric {metric!r} on {comp}; its metrics: {known}")
    rng = tel.time_range()
    lo = parse_when(start, rng) if start else rng[0]
    hi = parse_when(end, rng) if end else rng[1]
    lines, data = [], []
    for m in picked[:4]:
        sel = (m.timestamps >= lo) & (m.timestamps <= hi)
        ts, vs = m.timestamps[sel], m.values[sel]
        if not len(ts):
            lines.append(f"{m.key}: no points between {hhmm(lo)} and {hhmm(hi)}")
            continue
        lines.append(f"{m.key} ({len(ts)} points), per bucket: start min/median/max")
        buckets = []
        for idx in np.array_split(np.arange(len(ts)), min(10, len(ts))):
            v = vs[idx]
            b = {"start": float(ts[idx[0]]), "min": float(np.nanmin(v)), "median": float(np.nanmedian(v)), "max": float(np.nanmax(v))}
            buckets.append(b)
            lines.append(f"  {hhmm(b['start'])} {b['min']:.4g}/{b['median']:.4g}/{b['max']:.4g}")
        data.append({"series": m.key, "buckets": buckets})
    return ToolResult.ok("\n".join(lines), data={"series": data})


def _files_source(settings):
    from copilot.plugins.telemetry.files_source import files_source

    return files_source(settings)


plugin = Plugin(
    name="telemetry",
    description="Telemetry files (metrics, logs, traces, changes, alerts) and the anomaly detectors and root-cause ranking over them.",
    tools=[describe_telemetry, detect_metric_anomalies, detect_log_anomalies, detect_trace_anomalies,
           list_changes, rank_root_causes, get_metric_series],
    sources=[_files_source],
)
