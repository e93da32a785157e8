"""`copilot report ID --format html`: one self-contained HTML file (inline SVG and CSS, no
external assets): charts of the anomalous series with baseline, onset and alert times
marked; a timeline of alerts, changes and onsets; the call graph with the suspect
highlighted; then the full five-section report."""

from __future__ import annotations

import html
import math
from typing import Any

from .charts import finding_series
from .evidence import DatabaseEvidence, MetricEvidence, evidence_from_dict
from .timefmt import hhmm as _hhmm, when

MAX_CHARTS = 6
W, H, PAD = 660, 170, 36
LEFT = 64  # room for the value labels


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _when(ts: float) -> str:
    return when(ts, seconds=True)


def _alert_times(findings: list[dict[str, Any]], telemetry: Any) -> list[float]:
    times = [float(f["onset"]) for f in findings if f.get("source") == "alerts" and f.get("onset")]
    if telemetry is not None:
        times += [a.timestamp for a in telemetry.alerts]
    return sorted(set(times))


def chart_svg(finding: dict[str, Any], series: Any, alerts: list[float]) -> str:
    ts = [float(t) for t in series.timestamps]
    vs = [float(v) for v in series.values]
    points = [(t, v) for t, v in zip(ts, vs) if not math.isnan(v)]
    if len(points) < 2:
        return ""
    t0, t1 = points[0][0], points[-1][0]
    ev = evidence_from_dict(str(finding.get("source") or ""), finding.get("details"))
    base = ev.baseline if isinstance(ev, (MetricEvidence, DatabaseEvidence)) else None
    lo = min([v for _, v in points] + ([base] if isinstance(base, (int, float)) else []))
    hi = max([v for _, v in points] + ([base] if isinstance(base, (int, float)) else []))
    span_t, span_v = (t1 - t0) or 1.0, (hi - lo) or 1.0

    def x(t: float) -> float:
        return LEFT + (t - t0) / span_t * (W - LEFT - PAD)

    def y(v: float) -> float:
        return H - PAD + 8 - (v - lo) / span_v * (H - 2 * PAD)

    unit = (ev.unit if isinstance(ev, (MetricEvidence, DatabaseEvidence)) else None) or ""
    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
             f'aria-label="{_e(finding.get("summary", ""))}">',
             f'<rect x="0" y="0" width="{W}" height="{H}" fill="#fff"/>',
             '<polyline fill="none" stroke="#2563eb" stroke-width="1.6" points="'
             + " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points) + '"/>']
    if isinstance(base, (int, float)):
        parts.append(f'<line class="baseline" x1="{LEFT}" x2="{W - PAD}" y1="{y(base):.1f}" y2="{y(base):.1f}" '
                     f'stroke="#16a34a" stroke-dasharray="5 4"/><text x="{W - PAD}" y="{y(base) - 4:.1f}" '
                     f'font-size="10" text-anchor="end" fill="#16a34a">baseline {base:.4g}</text>')
    for at in alerts:
        if t0 <= at <= t1:
            parts.append(f'<line class="alert" x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{PAD - 14}" y2="{H - PAD + 8}" '
                         f'stroke="#f59e0b" stroke-width="1.5"/><text x="{x(at) + 3:.1f}" y="{PAD - 16}" font-size="10" '
                         f'fill="#b45309">alert {_hhmm(at)}</text>')
    onset = finding.get("onset")
    if onset and t0 <= onset <= t1:
        parts.append(f'<line class="onset" x1="{x(onset):.1f}" x2="{x(onset):.1f}" y1="{PAD - 4}" y2="{H - PAD + 8}" '
                     f'stroke="#dc2626" stroke-width="1.5" stroke-dasharray="3 2"/><text x="{x(onset) - 3:.1f}" '
                     f'y="{PAD - 4}" font-size="10" text-anchor="end" fill="#dc2626">onset {_hhmm(onset)}</text>')
    parts += [f'<text x="{LEFT}" y="{H - 6}" font-size="10" fill="#555">{_hhmm(t0)}</text>',
              f'<text x="{W - PAD}" y="{H - 6}" font-size="10" text-anchor="end" fill="#555">{_hhmm(t1)}</text>',
              f'<text x="2" y="{y(hi) + 4:.1f}" font-size="10" fill="#555">{hi:.4g}{_e(unit)}</text>',
              f'<text x="2" y="{y(lo) + 4:.1f}" font-size="10" fill="#555">{lo:.4g}{_e(unit)}</text>', "</svg>"]
    return "".join(parts)


def timeline_events(findings: list[dict[str, Any]], per_source: int = 3) -> list[tuple[float, str, str]]:
    """(time, kind, text): every alert and change, and the earliest onsets of the other sources."""
    events: list[tuple[float, str, str]] = []
    counts: dict[str, int] = {}
    for f in sorted((f for f in findings if f.get("onset")), key=lambda f: f["onset"]):
        src = f.get("source", "")
        if src in ("alerts", "changes"):
            events.append((float(f["onset"]), "alert" if src == "alerts" else "change", f"[{f['id']}] {f['summary']}"))
        elif counts.get(src, 0) < per_source:
            counts[src] = counts.get(src, 0) + 1
            events.append((float(f["onset"]), "onset", f"[{f['id']}] {f['summary']}"))
    return sorted(events)


COLORS = {"alert": "#f59e0b", "change": "#7c3aed", "onset": "#dc2626"}


def timeline_svg(events: list[tuple[float, str, str]]) -> str:
    if not events:
        return ""
    width, row = 900, 18
    t0, t1 = events[0][0], events[-1][0]
    span = (t1 - t0) or 1.0
    height = 40 + row * len(events)
    parts = [f'<svg class="timeline" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f'<line x1="20" x2="{width - 20}" y1="20" y2="20" stroke="#999"/>']
    for i, (at, kind, text) in enumerate(events):
        xx = 20 + (at - t0) / span * (width - 40)
        yy = 40 + i * row
        parts.append(f'<circle cx="{xx:.1f}" cy="20" r="5" fill="{COLORS[kind]}"/>'
                     f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="25" y2="{yy - 4}" stroke="{COLORS[kind]}" stroke-width="0.6"/>'
                     f'<text x="{min(xx, width - 560):.1f}" y="{yy}" font-size="11" fill="{COLORS[kind]}">'
                     f'{_hhmm(at)} {kind}: {_e(text[:85])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def graph_layout(edges: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """Node -> (column, row): columns by call depth from the entry services."""
    nodes = list(dict.fromkeys(n for e in edges for n in e))
    callers = {b for _, b in edges}
    depth = {n: 0 for n in nodes if n not in callers} or ({nodes[0]: 0} if nodes else {})
    frontier = list(depth)
    while frontier:
        nxt = []
        for a in frontier:
            for b in (b for x, b in edges if x == a):
                if b not in depth:
                    depth[b] = depth[a] + 1
                    nxt.append(b)
        frontier = nxt
    for n in nodes:
        depth.setdefault(n, 0)
    rows: dict[int, int] = {}
    out = {}
    for n in nodes:
        col = depth[n]
        out[n] = (col, rows.get(col, 0))
        rows[col] = rows.get(col, 0) + 1
    return out


def graph_svg(edges: list[tuple[str, str]], suspect: str, anomalous: set[str]) -> str:
    if not edges:
        return ""
    pos = graph_layout(edges)
    bw, bh, gx, gy = 120, 34, 60, 22
    cols = max(c for c, _ in pos.values()) + 1
    rows = max(r for _, r in pos.values()) + 1
    width, height = cols * (bw + gx) + 20, rows * (bh + gy) + 20

    def box(n: str) -> tuple[float, float]:
        c, r = pos[n]
        return 10 + c * (bw + gx), 10 + r * (bh + gy)

    parts = [f'<svg class="callgraph" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#888"/></marker></defs>']
    for a, b in edges:
        (ax, ay), (bx, by) = box(a), box(b)
        parts.append(f'<line x1="{ax + bw:.0f}" y1="{ay + bh / 2:.0f}" x2="{bx:.0f}" y2="{by + bh / 2:.0f}" '
                     f'stroke="#888" marker-end="url(#arrow)"/>')
    for n in pos:
        nx, ny = box(n)
        cls, fill, stroke = (("suspect", "#fee2e2", "#dc2626") if n == suspect else
                             ("anomalous", "#fef3c7", "#f59e0b") if n in anomalous else ("healthy", "#f3f4f6", "#9ca3af"))
        parts.append(f'<g class="node {cls}" data-component="{_e(n)}"><rect x="{nx}" y="{ny}" width="{bw}" height="{bh}" '
                     f'rx="6" fill="{fill}" stroke="{stroke}" stroke-width="{3 if n == suspect else 1.2}"/>'
                     f'<text x="{nx + bw / 2}" y="{ny + bh / 2 + 4}" font-size="12" text-anchor="middle">{_e(n)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


CSS = """body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:980px;color:#111}
h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
.cause{background:#fef2f2;border-left:4px solid #dc2626;padding:8px 12px}figure{margin:10px 0 18px}
figcaption{font-size:12px;color:#333}.legend span{margin-right:14px;font-size:12px}
code{background:#f3f4f6;padding:0 3px}pre{background:#f3f4f6;padding:8px;overflow:auto}"""


def render_html(report: dict[str, Any], diagnosis: dict[str, Any], telemetry: Any, markdown: str,
                session_id: str = "") -> str:
    from markdown_it import MarkdownIt

    findings = list(diagnosis.get("findings") or [])
    causes = diagnosis.get("root_causes") or []
    suspect = causes[0]["component"] if causes else ""
    series = finding_series(findings, telemetry)
    alerts = _alert_times(findings, telemetry)
    ranked = sorted((f for f in findings if f["id"] in series), key=lambda f: -float(f.get("score") or 0))
    charts = []
    for f in ranked[:MAX_CHARTS]:
        svg = chart_svg(f, series[f["id"]], alerts)
        if svg:
            charts.append(f'<figure id="chart-{_e(f["id"])}">{svg}<figcaption><b>[{_e(f["id"])}]</b> '
                          f'{_e(f.get("summary", ""))}</figcaption></figure>')
    edges = [tuple(e) for e in (telemetry.call_graph if telemetry is not None else [])]
    anomalous = {c["component"] for c in report.get("faulty_components", [])}
    cause_html = (f'<p class="cause"><b>{_e(suspect)}</b> — {_e(causes[0].get("fault_type", ""))}, confidence '
                  f'{float(causes[0].get("confidence", 0)):.2f}</p>' if causes else '<p class="cause">no root cause named</p>')
    body = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Incident report {_e(session_id)}</title><style>{CSS}</style></head><body>",
        f"<h1>Incident report</h1><p>{_e(diagnosis.get('question', ''))}</p>",
        f"<p><small>session {_e(session_id)}</small></p>", cause_html,
        "<h2>Anomalous series</h2>",
        '<p class="legend"><span style="color:#16a34a">- - baseline</span><span style="color:#dc2626">| onset</span>'
        '<span style="color:#b45309">| alert</span></p>',
        "".join(charts) or "<p>no metric series to chart</p>",
        "<h2>Timeline</h2>", timeline_svg(timeline_events(findings)) or "<p>no dated events</p>",
        "<h2>Call graph</h2>", graph_svg(edges, suspect, anomalous) or "<p>no call graph in the data</p>",
        "<h2>Report</h2>", MarkdownIt("commonmark", {"html": False}).render(markdown),
        "</body></html>",
    ]
    return "\n".join(body) + "\n"
