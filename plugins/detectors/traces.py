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

from typing import Callable

import numpy as np

from copilot.diagnosis import Finding
from copilot.evidence import TraceEvidence

from ..telemetry.model import Span
from .metrics import MAX_SCORE, hhmm
from .robust import center_scale
from .span_groups import SpanGroups, span_groups
from .spanstats import flag_onset, ratio_score, thin_traces
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


def _judged(b: np.ndarray, w: np.ndarray) -> bool:
    """Enough spans in both periods to judge a group."""
    return len(b) >= MIN_SPANS and len(w) >= MIN_SPANS


def _self_time_findings(g: SpanGroups) -> list[Finding]:
    """Latency that originates in a component: its own time per call rose."""
    out: list[Finding] = []
    for comp, (b, w, times) in sorted(g.self_ms.items()):
        if not _judged(b, w):
            continue
        score, b50, w50 = _latency_score(b, w)
        if score >= MIN_LATENCY_SCORE and w50 > 1.2 * b50:
            thr = float(np.percentile(b, 90))
            onset = flag_onset(times, w > thr)
            out.append(Finding(
                "", "traces", comp, f"{comp} self time", "latency_origin",
                f"latency originates in {comp}: its own time per call rose {w50 / max(b50, 1e-9):.1f}x "
                f"({b50:.1f} -> {w50:.1f} ms median) at {hhmm(onset)}, {round(score, 2):.1f} sigma, not inherited from its callees",
                round(score, 2), onset, TraceEvidence(self_ms_before=round(b50, 3), self_ms_after=round(w50, 3), spans=len(w)),
            ))
    return out


def _wire_findings(g: SpanGroups) -> list[Finding]:
    """Calls into a component that spend longer on the wire."""
    out: list[Finding] = []
    for comp, (b, w, times) in sorted(g.wire_ms.items()):
        if not _judged(b, w):
            continue
        score, b50, w50 = _latency_score(b, w)
        if score >= MIN_LATENCY_SCORE and w50 > 1.2 * b50:
            onset = flag_onset(times, w > float(np.percentile(b, 90)))
            out.append(Finding(
                "", "traces", comp, f"network into {comp}", "network_latency",
                f"calls into {comp} spend {w50 / max(b50, 1e-9):.1f}x longer on the wire ({b50:.1f} -> {w50:.1f} ms median "
                f"between the caller's client span and {comp}'s server span) at {hhmm(onset)}, {round(score, 2):.1f} sigma",
                round(score, 2), onset, TraceEvidence(wire_ms_before=round(b50, 3), wire_ms_after=round(w50, 3), spans=len(w)),
            ))
    return out


def _edge_latency_findings(g: SpanGroups) -> list[Finding]:
    """Call edges caller->callee whose calls slowed."""
    out: list[Finding] = []
    for (caller, callee), (b, w, _) in sorted(g.edge_ms.items()):
        if not _judged(b, w):
            continue
        score, b50, w50 = _latency_score(b, w)
        if score >= MIN_LATENCY_SCORE and w50 > 1.2 * b50:
            out.append(Finding(
                "", "traces", callee, f"{caller}->{callee}", "latency",
                f"calls {caller}->{callee} slowed {w50 / max(b50, 1e-9):.1f}x ({b50:.1f} -> {w50:.1f} ms median), {round(score, 2):.1f} sigma",
                round(score, 2), None, TraceEvidence(caller=caller, callee=callee, ms_before=round(b50, 3), ms_after=round(w50, 3)),
            ))
    return out


def _edge_error_findings(g: SpanGroups) -> list[Finding]:
    """Call edges caller->callee whose calls fail more often."""
    out: list[Finding] = []
    for (caller, callee), ((kb, nb), (kw, nw), _, _) in sorted(g.edge_err.items()):
        if nb < MIN_SPANS or nw < MIN_SPANS:
            continue
        score, pb, pw = ratio_score(kb, nb, kw, nw)
        if score >= MIN_RATIO_SCORE and pw >= 2 * pb and pw - pb >= 0.01:
            out.append(Finding(
                "", "traces", callee, f"{caller}->{callee}", "errors",
                f"calls {caller}->{callee} fail {pw:.1%} of the time (baseline {pb:.1%}), {round(score, 2):.1f} sigma",
                round(score, 2), None, TraceEvidence(caller=caller, callee=callee, ratio_before=pb, ratio_after=pw, calls=nw),
            ))
    return out


def _error_origin_findings(g: SpanGroups) -> list[Finding]:
    """Errors that originate in a component: its spans fail with no failing callee."""
    out: list[Finding] = []
    for comp, ((kb, nb), (kw, nw), times, flags) in sorted(g.origin_err.items()):
        if nb < MIN_SPANS or nw < MIN_SPANS:
            continue
        score, pb, pw = ratio_score(kb, nb, kw, nw)
        if score >= MIN_RATIO_SCORE and pw >= 2 * pb and pw - pb >= 0.01:
            onset = flag_onset(times, flags)
            out.append(Finding(
                "", "traces", comp, f"{comp} errors", "error_origin",
                f"errors originate in {comp}: {pw:.1%} of its spans fail with no failing callee (baseline {pb:.1%}) "
                f"since {hhmm(onset)}, {round(score, 2):.1f} sigma",
                round(score, 2), onset, TraceEvidence(ratio_before=pb, ratio_after=pw, spans=nw),
            ))
    return out


def _lost_findings(g: SpanGroups) -> list[Finding]:
    """Calls an operation normally makes into another component that go missing."""
    out: list[Finding] = []
    for (caller, callee), ((kb, nb), (kw, nw), times, flags) in sorted(g.lost.items()):
        if nb < MIN_SPANS or nw < MIN_SPANS:
            continue
        score, pb, pw = ratio_score(kb, nb, kw, nw)
        if score >= MIN_RATIO_SCORE and pw - pb >= 0.02:
            onset = flag_onset(times, flags)
            if caller == callee:  # its own steps went missing: trace_paths judges that per operation
                continue
            out.append(Finding(
                "", "traces", callee, f"{caller}->{callee}", "lost_spans",
                f"{pw:.1%} of {caller}'s calls to {callee} are missing (baseline {pb:.1%}) since {hhmm(onset)}: "
                f"broken calls or lost spans, {round(score, 2):.1f} sigma",
                round(score, 2), onset, TraceEvidence(caller=caller, callee=callee, ratio_before=pb, ratio_after=pw, calls=nw),
            ))
    return out


def _orphan_findings(g: SpanGroups) -> list[Finding]:
    """Spans whose parent never arrived: spans lost upstream."""
    out: list[Finding] = []
    for comp, ((kb, nb), (kw, nw), _, _) in sorted(g.orphans.items()):
        if nb < MIN_SPANS or nw < MIN_SPANS:
            continue
        score, pb, pw = ratio_score(kb, nb, kw, nw)
        if score >= MIN_RATIO_SCORE and pw - pb >= 0.02:
            out.append(Finding(
                "", "traces", comp, f"{comp} orphans", "orphan_spans",
                f"{pw:.1%} of {comp}'s spans have a parent that never arrived (baseline {pb:.1%}): "
                f"spans lost upstream of {comp}, {round(score, 2):.1f} sigma",
                round(score, 2), None, TraceEvidence(ratio_before=pb, ratio_after=pw, spans=nw),
            ))
    return out


def detect_trace_anomalies(
    spans: list[Span],
    window: tuple[float, float],
    baseline: tuple[float, float],
    next_id: Callable[[str], str],
) -> list[Finding]:
    spans = thin_traces(spans)

    def period(s: Span) -> int:  # 0 baseline, 1 window, -1 neither
        if baseline[0] <= s.start < baseline[1]:
            return 0
        return 1 if window[0] <= s.start <= window[1] else -1

    g = span_groups(spans, window, baseline, MIN_SPANS, EXPECTED_CALL)
    out: list[Finding] = []
    for detect in (_self_time_findings, _wire_findings, _edge_latency_findings, _edge_error_findings,
                   _error_origin_findings, _lost_findings, _orphan_findings):
        out += detect(g)
    out += detect_path_changes(spans, g.children, period, periods=g.period, patterns=g.patterns)
    out.sort(key=lambda f: -f.score)
    for f in out:
        f.id = next_id("T")
    return out
