"""The in-memory telemetry model every source fills and every detector reads.

Times are unix seconds (float, UTC). Components are service-level names ("checkout");
instance-level detail (pod, host) goes in `instance` / labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class MetricSeries:
    component: str
    metric: str  # raw metric name as the source spells it ("cpu_usage", "lat_90", ...)
    timestamps: np.ndarray  # float64 unix seconds, ascending
    values: np.ndarray  # float64, NaN where missing
    labels: dict[str, str] = field(default_factory=dict)  # instance, pod, host, ...

    @property
    def key(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return f"{self.component}/{self.metric}" + (f"{{{extra}}}" if extra else "")


@dataclass
class LogRecord:
    timestamp: float
    component: str
    message: str
    level: str = ""  # DEBUG | INFO | WARN | ERROR | FATAL, or "" when unknown
    instance: str = ""


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    component: str  # service
    operation: str
    start: float  # unix seconds
    duration_ms: float
    status: str = "ok"  # ok | error
    instance: str = ""


@dataclass
class ChangeEvent:
    timestamp: float
    component: str
    kind: str  # deploy | config | scale | restart | infra | ...
    description: str
    author: str = ""
    id: str = ""


@dataclass
class Alert:
    timestamp: float
    component: str
    name: str
    severity: str = "warning"
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Telemetry:
    metrics: list[MetricSeries] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    changes: list[ChangeEvent] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    call_graph: list[tuple[str, str]] = field(default_factory=list)  # (caller, callee)
    meta: dict[str, Any] = field(default_factory=dict)

    def components(self) -> list[str]:
        names = {m.component for m in self.metrics}
        names |= {r.component for r in self.logs}
        names |= {s.component for s in self.spans}
        names |= {a for edge in self.call_graph for a in edge}
        return sorted(n for n in names if n)

    def time_range(self) -> tuple[float, float] | None:
        lows: list[float] = []
        highs: list[float] = []
        for m in self.metrics:
            if len(m.timestamps):
                lows.append(float(m.timestamps[0]))
                highs.append(float(m.timestamps[-1]))
        for seq in (self.logs, self.changes, self.alerts):
            if seq:
                lows.append(min(x.timestamp for x in seq))
                highs.append(max(x.timestamp for x in seq))
        if self.spans:
            lows.append(min(s.start for s in self.spans))
            highs.append(max(s.start for s in self.spans))
        return (min(lows), max(highs)) if lows else None
