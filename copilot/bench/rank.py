"""The seam between the benchmark harness and the ranking under test.

`rank_case(telemetry, alert_time)` is what every RCA benchmark scores: a ranked list of
(component, fault_kind), most likely root cause first. It sees the case's telemetry and
the alert time only, never the ground truth. It runs the product's own method, the same
detectors and ranking the copilot's tools call (plugins/detectors): metric anomalies,
trace anomalies and log anomalies where the case has spans or logs, then
`rank_root_causes` over the findings and the call graph. `floor_rank_case` is the naive
N-sigma floor scored beside it. `SIGNALS` says which telemetry the ranking reads, so the
harness can skip loading the rest.
"""

from __future__ import annotations

import itertools

from copilot.plugins.telemetry.model import Telemetry

from . import baseline_rank

SIGNALS: frozenset[str] = frozenset({"metrics", "traces", "logs"})


def rank_case(telemetry: Telemetry, alert_time: float) -> list[tuple[str, str]]:
    from copilot.plugins.detectors.logs import detect_log_anomalies
    from copilot.plugins.detectors.metrics import alerted_series, detect_metric_anomalies
    from copilot.plugins.detectors.rank import rank_root_causes
    from copilot.plugins.detectors.traces import detect_trace_anomalies

    rng = telemetry.time_range()
    if rng is None:
        return []
    lo, hi = rng
    counter = itertools.count(1)

    def next_id(prefix: str) -> str:
        return f"{prefix}{next(counter)}"

    window, baseline = (alert_time, hi), (lo, alert_time)
    reference = telemetry.meta.get("reference")
    findings = alert_findings(telemetry, next_id)
    findings += detect_metric_anomalies(telemetry.metrics, window, baseline, next_id, limit=1000,
                                        reference=reference.metrics if isinstance(reference, Telemetry) else None,
                                        alerted=alerted_series(telemetry.metrics, telemetry.alerts))
    if telemetry.spans:
        findings += detect_trace_anomalies(telemetry.spans, window, baseline, next_id)
    if telemetry.logs:
        findings += detect_log_anomalies(telemetry.logs, window, baseline, next_id)
    causes = rank_root_causes(findings, call_graph(telemetry), top_k=5)
    return [(r.component, r.fault_type) for r in causes]


def call_graph(telemetry: Telemetry) -> list[tuple[str, str]]:
    """The declared call graph and the calls the spans show: a declared graph may miss
    services (then they would look like entries nothing calls), the spans cannot lie."""
    from copilot.plugins.telemetry.files import derive_call_graph

    return sorted(set(telemetry.call_graph) | set(derive_call_graph(telemetry.spans)))


def alert_findings(telemetry: Telemetry, next_id) -> list:
    """The alerts as findings, as the copilot's describe_telemetry tool reports them."""
    from copilot.diagnosis import Finding
    from copilot.evidence import AlertEvidence

    return [Finding(next_id("A"), "alerts", a.component, a.name, "alert", f"alert {a.name} fired on {a.component}",
                    0.0, a.timestamp, AlertEvidence(severity=a.severity, description=a.description))
            for a in telemetry.alerts]


def floor_rank_case(telemetry: Telemetry, alert_time: float) -> list[tuple[str, str]]:
    """The naive N-sigma floor, scored the same way beside the ranking under test."""
    return [(r.component, r.fault_kind) for r in baseline_rank.rank(telemetry, alert_time, method="nsigma")]
