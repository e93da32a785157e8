"""The seam between the benchmark harness and the ranking under test.

`rank_case(telemetry, alert_time)` is what every RCA benchmark scores: a ranked list of
(component, fault_kind), most likely root cause first. It sees the case's telemetry and
the alert time only, never the ground truth. Today it is the robust-statistics baseline
in `baseline_rank`; switch it to the shared detectors (plugins/detectors/rank.py) here,
and only here. `SIGNALS` says which telemetry the ranking reads, so the harness can skip
loading the rest (traces are the bulk of nezha-ob).
"""

from __future__ import annotations

from plugins.telemetry.model import Telemetry

from . import baseline_rank

SIGNALS: frozenset[str] = frozenset({"metrics"})


def rank_case(telemetry: Telemetry, alert_time: float) -> list[tuple[str, str]]:
    return [(r.component, r.fault_kind) for r in baseline_rank.rank(telemetry, alert_time)]


def floor_rank_case(telemetry: Telemetry, alert_time: float) -> list[tuple[str, str]]:
    """The naive N-sigma floor, scored the same way beside the ranking under test."""
    return [(r.component, r.fault_kind) for r in baseline_rank.rank(telemetry, alert_time, method="nsigma")]
