"""A robust-statistics root-cause ranker (BARO-like) and the naive N-sigma floor.

For every metric series: the baseline is its history before the alert (or, when the
telemetry carries a fault-free reference recorded at another time, that reference); the
anomaly score is the largest deviation after the alert in robust sigmas (median and
IQR/MAD; `nsigma`: mean and standard deviation). A component scores the maximum over its
metrics; its fault kind is read from the family of its strongest metric (cpu, memory,
latency, errors, ...). When an alert names a symptom component and a call graph is known,
that component and everything it calls (transitively) are ranked first: a caller suffers
from its callees, not the reverse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from copilot.plugins.telemetry.model import MetricSeries, Telemetry

# (pattern on the metric name, fault kind); first match wins.
METRIC_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), kind)
    for p, kind in (
        (r"gc", "jvm_gc"),
        (r"cpu", "cpu_saturation"),
        (r"mem|heap|rss", "memory_leak"),
        (r"disk|fs_|filesystem|inode", "disk_full"),
        (r"error|fail|success|availability|exception|5xx", "code_exception"),
        (r"lat|duration|delay|response_time|rt$", "network_delay"),
        (r"loss|drop|retrans", "network_loss"),
        (r"lod|load|workload|request|qps|rps|throughput|ops", "traffic_surge"),
        (r"network|net_|receive|transmit|bytes|packet", "network_delay"),
    )
)


@dataclass
class Ranked:
    component: str
    fault_kind: str
    score: float  # robust sigmas of the strongest metric
    metric: str  # key of the strongest metric


def metric_kind(name: str) -> str:
    for pattern, kind in METRIC_FAMILIES:
        if pattern.search(name):
            return kind
    return "unknown"


def rank(telemetry: Telemetry, alert_time: float, method: str = "robust") -> list[Ranked]:
    reference = telemetry.meta.get("reference")
    ref_values = {m.key: m.values for m in reference.metrics} if isinstance(reference, Telemetry) else {}
    best: dict[str, Ranked] = {}
    for series in telemetry.metrics:
        score = series_score(series, alert_time, ref_values.get(series.key), method)
        if score is None:
            continue
        current = best.get(series.component)
        if current is None or score > current.score:
            best[series.component] = Ranked(series.component, metric_kind(series.metric), score, series.key)
    ranked = sorted(best.values(), key=lambda r: (-r.score, r.component))
    suspects = _suspects(telemetry)
    if suspects:
        ranked.sort(key=lambda r: r.component not in suspects)  # stable: keeps score order inside
    return ranked


def series_score(series: MetricSeries, alert_time: float, reference: np.ndarray | None = None,
                 method: str = "robust") -> float | None:
    values = np.asarray(series.values, dtype=float)
    after = values[(series.timestamps >= alert_time) & np.isfinite(values)]
    before = values[(series.timestamps < alert_time) & np.isfinite(values)]
    if reference is not None:
        ref = np.asarray(reference, dtype=float)
        ref = ref[np.isfinite(ref)]
        if ref.size >= 3:
            before = ref
    if after.size == 0 or before.size == 0:
        return None
    if method == "nsigma":
        center, scale = float(before.mean()), float(before.std())
        scale = max(scale, 1e-9 * (abs(center) + 1.0))
    else:
        center, scale = _robust_center_scale(before)
    deviation = np.sort(np.abs(after - center))
    # A fault persists: score the second-largest deviation so one stray blip cannot win.
    return float(deviation[-2] if deviation.size >= 3 else deviation[-1]) / scale


def _robust_center_scale(x: np.ndarray) -> tuple[float, float]:
    center = float(np.median(x))
    q1, q3 = np.percentile(x, [25, 75])
    dev = np.abs(x - center)
    scale = max((q3 - q1) / 1.349, 1.4826 * float(np.median(dev)))
    if scale == 0:  # mostly constant with rare blips: the mean absolute deviation still sees them
        scale = 0.63 * float(dev.mean())
    # Few baseline points, or a level far above the spread, say little: a floor relative
    # to the level keeps a 1% wobble of a large gauge (memory bytes) from ranking first.
    relative = 0.01 if x.size >= 5 else 0.1
    return center, max(scale, relative * abs(center), 1e-9)


def _suspects(telemetry: Telemetry) -> set[str]:
    """Alerted components and everything they call, transitively."""
    if not telemetry.alerts or not telemetry.call_graph:
        return set()
    callees: dict[str, set[str]] = {}
    for caller, callee in telemetry.call_graph:
        callees.setdefault(caller, set()).add(callee)
    seen: set[str] = set()
    stack = [a.component for a in telemetry.alerts]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(callees.get(node, ()))
    return seen
