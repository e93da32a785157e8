"""Trace anomalies: where latency and errors originate, and which calls are lost.

From a span table (one span per service call, children inside their parent):
- per call edge caller->callee: the callee spans' latency and error ratio, window vs baseline;
- per component self time (duration minus its children): latency that originates in a
  component rather than being inherited from its callees;
- network time of calls: where a caller records a client span around the callee's server
  span (one child, in another component, with the same operation), the gap between the
  two is time on the wire; it belongs to the call into the callee, not to the caller's
  own time;
- errors that originate in a component (an error span none of whose children failed);
- lost spans / broken calls (the seed's "point loss"): calls an operation normally makes
  that go missing, and spans whose parent never appears;
- requests that stop part-way (early return, exception): `call_path_change`, see trace_paths.
Scores are robust sigmas (latency) or binomial z (ratios), capped at 99.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import numpy as np

from copilot.diagnosis import Finding

from ..telemetry.model import Span
from .metrics import MAX_SCORE, hhmm
from .robust import center_scale
from .spanstats import flag_onset, is_client_span, ratio_score, thin_traces
from .trace_paths import detect_path_changes

MIN_SPANS = 20  # per group and period, below which a group is not judged
MIN_LATENCY_SCORE = 4.0
MIN_RATIO_SCORE = 4.0
EXPECTED_CALL = 0.9  # an operation "always" calls a service when it did in >= 90% of baseline spans


def _latency_score(base: np.ndarray, win: np.ndarray) -> tuple[float, float, float]:
    """(score, baseline median, window median) of a latency shift, in robust sigmas of the baseline."""
    b50, scale = center_scale(base, rel_floor=0.05, abs_floor=0.05)
    w50 = float(np.median(win))
    b90, w90 = float(np.percentile(base, 90)), float(np.percentile(win, 90))
    score = max((w50 - b50) / scale, 0.7 * (w90 - b90) / max(scale, 0.1 * b90))
    return min(score, MAX_SCORE), b50, w50


def detect_trace_anomalies(
    spans: list[Span],
    window: tuple[float, float],
    baseline: tuple[float, float],
    next_id: Callable[[str], str],
) -> list[Finding]:
    spans = thin_traces(spans)
    by_id = {s.span_id: s for s in spans}
    children: dict[str, list[Span]] = defaultdict(list)
    for s in spans:
        if s.parent_id:
            children[s.parent_id].append(s)

    def period(s: Span) -> int:  # 0 baseline, 1 window, -1 neither
        if baseline[0] <= s.start < baseline[1]:
            return 0
        return 1 if window[0] <= s.start <= window[1] else -1

    # which services each operation calls in (nearly) every baseline span
    op_calls: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    op_count: dict[tuple[str, str], int] = defaultdict(int)
    for s in spans:
        if period(s) == 0:
            key = (s.component, s.operation)
            op_count[key] += 1
            for svc in {c.component for c in children.get(s.span_id, ())}:
                op_calls[key][svc] += 1
    expected = {
        key: {svc for svc, k in calls.items() if op_count[key] >= MIN_SPANS and k / op_count[key] >= EXPECTED_CALL}
        for key, calls in op_calls.items()
    }

    wire_ms: dict[str, list[list[float]]] = defaultdict(lambda: [[], []])
    wire_t: dict[str, list[float]] = defaultdict(list)
    self_ms: dict[str, list[list[float]]] = defaultdict(lambda: [[], []])
    self_t: dict[str, list[float]] = defaultdict(list)
    edge_ms: dict[tuple[str, str], list[list[float]]] = defaultdict(lambda: [[], []])
    edge_err: dict[tuple[str, str], list[list[int]]] = defaultdict(lambda: [[0, 0], [0, 0]])
    origin_err: dict[str, list[list[int]]] = defaultdict(lambda: [[0, 0], [0, 0]])
    origin_t: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    lost: dict[tuple[str, str], list[list[int]]] = defaultdict(lambda: [[0, 0], [0, 0]])
    lost_t: dict[tuple[str, str], list[tuple[float, bool]]] = defaultdict(list)
    orphans: dict[str, list[list[int]]] = defaultdict(lambda: [[0, 0], [0, 0]])
    for s in spans:
        p = period(s)
        if p < 0:
            continue
        kids = children.get(s.span_id, ())
        own = max(s.duration_ms - sum(c.duration_ms for c in kids), 0.0)
        if is_client_span(s, kids):
            wire_ms[kids[0].component][p].append(own)
            if p == 1:
                wire_t[kids[0].component].append(s.start)
        else:
            self_ms[s.component][p].append(own)
            if p == 1:
                self_t[s.component].append(s.start)
        called = {c.component for c in kids}
        missing = expected.get((s.component, s.operation), set()) - called
        for svc in expected.get((s.component, s.operation), ()):
            lost[(s.component, svc)][p][0] += svc in missing
            lost[(s.component, svc)][p][1] += 1
            if p == 1:
                lost_t[(s.component, svc)].append((s.start, svc in missing))
        failed = s.status == "error"
        originates = failed and not missing and not any(c.status == "error" for c in kids)
        origin_err[s.component][p][0] += originates
        origin_err[s.component][p][1] += 1
        if p == 1:
            origin_t[s.component].append((s.start, originates))
        if s.parent_id:
            parent = by_id.get(s.parent_id)
            if parent is None:
                orphans[s.component][p][0] += 1
            elif parent.component != s.component:  # calls inside a component are not call edges
                edge = (parent.component, s.component)
                edge_ms[edge][p].append(s.duration_ms)
                edge_err[edge][p][0] += failed
                edge_err[edge][p][1] += 1
        orphans[s.component][p][1] += 1

    out: list[Finding] = []
    for comp, (b, w) in sorted(self_ms.items()):
        if len(b) < MIN_SPANS or len(w) < MIN_SPANS:
            continue
        score, b50, w50 = _latency_score(np.asarray(b), np.asarray(w))
        if score >= MIN_LATENCY_SCORE and w50 > 1.2 * b50:
            times = np.asarray(self_t[comp])
            thr = float(np.percentile(b, 90))
            onset = flag_onset(times, np.asarray(w) > thr)
            out.append(Finding(
                "", "traces", comp, f"{comp} self time", "latency_origin",
                f"latency originates in {comp}: its own time per call rose {w50 / max(b50, 1e-9):.1f}x "
                f"({b50:.1f} -> {w50:.1f} ms median) at {hhmm(onset)}, {round(score, 2):.1f} sigma, not inherited from its callees",
                round(score, 2), onset, {"self_ms_before": round(b50, 3), "self_ms_after": round(w50, 3), "spans": len(w)},
            ))
    for comp, (b, w) in sorted(wire_ms.items()):
        if len(b) < MIN_SPANS or len(w) < MIN_SPANS:
            continue
        score, b50, w50 = _latency_score(np.asarray(b), np.asarray(w))
        if score >= MIN_LATENCY_SCORE and w50 > 1.2 * b50:
            onset = flag_onset(np.asarray(wire_t[comp]), np.asarray(w) > float(np.percentile(b, 90)))
            out.append(Finding(
                "", "traces", comp, f"network into {comp}", "network_latency",
                f"calls into {comp} spend {w50 / max(b50, 1e-9):.1f}x longer on the wire ({b50:.1f} -> {w50:.1f} ms median "
                f"between the caller's client span and {comp}'s server span) at {hhmm(onset)}, {round(score, 2):.1f} sigma",
                round(score, 2), onset, {"wire_ms_before": round(b50, 3), "wire_ms_after": round(w50, 3), "spans": len(w)},
            ))
    for (caller, callee), (b, w) in sorted(edge_ms.items()):
        if len(b) < MIN_SPANS or len(w) < MIN_SPANS:
            continue
        score, b50, w50 = _latency_score(np.asarray(b), np.asarray(w))
        if score >= MIN_LATENCY_SCORE and w50 > 1.2 * b50:
            out.append(Finding(
                "", "traces", callee, f"{caller}->{callee}", "latency",
                f"calls {caller}->{callee} slowed {w50 / max(b50, 1e-9):.1f}x ({b50:.1f} -> {w50:.1f} ms median), {round(score, 2):.1f} sigma",
                round(score, 2), None, {"caller": caller, "callee": callee, "ms_before": round(b50, 3), "ms_after": round(w50, 3)},
            ))
    for (caller, callee), ((kb, nb), (kw, nw)) in sorted(edge_err.items()):
        if nb < MIN_SPANS or nw < MIN_SPANS:
            continue
        score, pb, pw = ratio_score(kb, nb, kw, nw)
        if score >= MIN_RATIO_SCORE and pw >= 2 * pb and pw - pb >= 0.01:
            out.append(Finding(
                "", "traces", callee, f"{caller}->{callee}", "errors",
                f"calls {caller}->{callee} fail {pw:.1%} of the time (baseline {pb:.1%}), {round(score, 2):.1f} sigma",
                round(score, 2), None, {"caller": caller, "callee": callee, "ratio_before": pb, "ratio_after": pw, "calls": nw},
            ))
    for comp, ((kb, nb), (kw, nw)) in sorted(origin_err.items()):
        if nb < MIN_SPANS or nw < MIN_SPANS:
            continue
        score, pb, pw = ratio_score(kb, nb, kw, nw)
        if score >= MIN_RATIO_SCORE and pw >= 2 * pb and pw - pb >= 0.01:
            pts = origin_t[comp]
            onset = flag_onset(np.array([t for t, _ in pts]), np.array([f for _, f in pts]))
            out.append(Finding(
                "", "traces", comp, f"{comp} errors", "error_origin",
                f"errors originate in {comp}: {pw:.1%} of its spans fail with no failing callee (baseline {pb:.1%}) "
                f"since {hhmm(onset)}, {round(score, 2):.1f} sigma",
                round(score, 2), onset, {"ratio_before": pb, "ratio_after": pw, "spans": nw},
            ))
    for (caller, callee), ((kb, nb), (kw, nw)) in sorted(lost.items()):
        if nb < MIN_SPANS or nw < MIN_SPANS:
            continue
        score, pb, pw = ratio_score(kb, nb, kw, nw)
        if score >= MIN_RATIO_SCORE and pw - pb >= 0.02:
            pts = lost_t[(caller, callee)]
            onset = flag_onset(np.array([t for t, _ in pts]), np.array([f for _, f in pts]))
            if caller == callee:  # its own steps went missing: trace_paths judges that per operation
                continue
            out.append(Finding(
                "", "traces", callee, f"{caller}->{callee}", "lost_spans",
                f"{pw:.1%} of {caller}'s calls to {callee} are missing (baseline {pb:.1%}) since {hhmm(onset)}: "
                f"broken calls or lost spans, {round(score, 2):.1f} sigma",
                round(score, 2), onset, {"caller": caller, "callee": callee, "ratio_before": pb, "ratio_after": pw, "calls": nw},
            ))
    for comp, ((kb, nb), (kw, nw)) in sorted(orphans.items()):
        if nb < MIN_SPANS or nw < MIN_SPANS:
            continue
        score, pb, pw = ratio_score(kb, nb, kw, nw)
        if score >= MIN_RATIO_SCORE and pw - pb >= 0.02:
            out.append(Finding(
                "", "traces", comp, f"{comp} orphans", "orphan_spans",
                f"{pw:.1%} of {comp}'s spans have a parent that never arrived (baseline {pb:.1%}): "
                f"spans lost upstream of {comp}, {round(score, 2):.1f} sigma",
                round(score, 2), None, {"ratio_before": pb, "ratio_after": pw, "spans": nw},
            ))
    out += detect_path_changes(spans, children, period)
    out.sort(key=lambda f: -f.score)
    for f in out:
        f.id = next_id("T")
    return out
