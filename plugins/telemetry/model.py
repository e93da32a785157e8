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
class PlatformEvent:
    """A Kubernetes event, the same for core/v1 and events.k8s.io/v1 shapes."""

    timestamp: float  # the last time it was seen
    namespace: str
    object_kind: str  # the object it is about: Pod, Node, Deployment, ...
    object_name: str
    reason: str  # OOMKilling, FailedScheduling, BackOff, Unhealthy, Evicted, ...
    message: str
    type: str = "Normal"  # Normal | Warning
    count: int = 1
    first: float | None = None  # the first time it was seen
    source: str = ""  # kubelet, default-scheduler, deployment-controller, ...


# The platform's object lists, by the field of `Platform` they fill, and the Kubernetes
# kinds (as `kubectl get -o json` spells them) that go there.
PLATFORM_KINDS: dict[str, tuple[str, ...]] = {
    "pods": ("Pod",),
    "nodes": ("Node",),
    "deployments": ("Deployment",),
    "replicasets": ("ReplicaSet",),
    "statefulsets": ("StatefulSet",),
    "daemonsets": ("DaemonSet",),
    "jobs": ("Job", "CronJob"),
    "hpas": ("HorizontalPodAutoscaler",),
    "pvcs": ("PersistentVolumeClaim",),
    "quotas": ("ResourceQuota", "LimitRange"),
    "services": ("Service",),
    "endpoints": ("Endpoints", "EndpointSlice"),
    "certificates": ("Certificate",),  # cert-manager Certificates (status.notAfter); TLS Secrets too (objects.py)
}


@dataclass
class Platform:
    """Kubernetes state as read (raw objects in the API's own JSON shape) and its events."""

    pods: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    replicasets: list[dict[str, Any]] = field(default_factory=list)
    statefulsets: list[dict[str, Any]] = field(default_factory=list)
    daemonsets: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    hpas: list[dict[str, Any]] = field(default_factory=list)
    pvcs: list[dict[str, Any]] = field(default_factory=list)
    quotas: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    certificates: list[dict[str, Any]] = field(default_factory=list)
    events: list[PlatformEvent] = field(default_factory=list)
    captured_at: float | None = None  # when the state was read (None: unknown)
    # "namespace/pod" -> its component: the workload that owns it (Deployment, StatefulSet, ...)
    owners: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.events) or any(getattr(self, name) for name in PLATFORM_KINDS)

    def counts(self) -> dict[str, int]:
        out = {name: len(getattr(self, name)) for name in PLATFORM_KINDS}
        out["events"] = len(self.events)
        return {k: v for k, v in out.items() if v}

    def extend(self, other: "Platform") -> None:
        """Add another source's state (lists concatenated; the later capture time kept)."""
        for name in PLATFORM_KINDS:
            getattr(self, name).extend(getattr(other, name))
        self.events.extend(other.events)
        self.owners.update(other.owners)
        if other.captured_at is not None:
            self.captured_at = max(self.captured_at or other.captured_at, other.captured_at)


@dataclass
class Telemetry:
    metrics: list[MetricSeries] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    changes: list[ChangeEvent] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    call_graph: list[tuple[str, str]] = field(default_factory=list)  # (caller, callee)
    meta: dict[str, Any] = field(default_factory=dict)
    platform: Platform = field(default_factory=Platform)  # Kubernetes state, when a source read one

    def held(self) -> dict[str, bool]:
        """Which kinds of signal the data holds at all: the report says "the data holds no
        metrics" for a missing one, and "no anomaly found" only of data that was read."""
        return {"metrics": bool(self.metrics), "logs": bool(self.logs), "traces": bool(self.spans),
                "changes": bool(self.changes), "alerts": bool(self.alerts),
                "platform": bool(self.platform.counts()), "database": bool(self.meta.get("database"))}

    def components(self) -> list[str]:
        names = {m.component for m in self.metrics}
        names |= {r.component for r in self.logs}
        names |= {s.component for s in self.spans}
        names |= {a for edge in self.call_graph for a in edge}
        names |= set(self.platform.owners.values())
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
        if self.platform.events:
            lows.append(min(e.first or e.timestamp for e in self.platform.events))
            highs.append(max(e.timestamp for e in self.platform.events))
        if self.platform.captured_at is not None:
            highs.append(self.platform.captured_at)
            lows.append(min(lows, default=self.platform.captured_at))
        return (min(lows), max(highs)) if lows else None
