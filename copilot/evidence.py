"""What a finding saw, as data: one dataclass per kind of finding evidence (`Finding.details`).

Every field is optional: None means the detector did not say it, and `to_dict()` leaves it
out, so the JSON of a finding's details holds exactly the keys its detector wrote. A few
kinds always write some keys, even as null (a metric's `after` when the window had no
finite value): their `ALWAYS`. Keys no field names (a third-party detector's) are kept in
`extra`. A dict read back (`from_dict`: memory, transcripts, a plugin that passes a dict)
keeps its keys and their order, so dict -> evidence -> dict gives the same dict.

The fields of `Evidence` are the ones the engine reads from any finding (ranking, verdict):
a fault kind a detector recognised itself, whether the condition is still active, and what
a confounder explains.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Mapping, Self, TypeAlias

_META = ("extra", "key_order")  # bookkeeping fields, never keys of the dict


@dataclass(kw_only=True)
class Evidence:
    """The fields shared by every kind; also the evidence of a source no class knows."""

    ALWAYS: ClassVar[tuple[str, ...]] = ()  # keys written even when None, by the detector that builds this kind

    fault_kind: str | None = None  # the fault kind the detector recognised itself (copilot/kinds.py); "" when ruled out
    why: str | None = None  # why that signature means that fault kind, in English (the ranking quotes it)
    why_zh: str | None = None  # the same in Chinese
    active: bool | None = None  # whether the condition still holds at the end of the data
    ended: float | None = None  # unix seconds when the condition ended (None: active, or not known)
    recovered_at: float | None = None  # unix seconds when the signal came back to normal (database detectors)
    confounder: bool | None = None  # looks like a cause but is not one (a checkpoint whose CPU recovered)
    ruled_out: str | None = None  # why it is not the cause, one sentence
    explains: list[Any] | None = None  # signals it accounts for: a signal of its own component, or [component, signal]
    extra: dict[str, Any] = field(default_factory=dict)  # keys no field names (a third-party writer's), as given
    key_order: tuple[str, ...] | None = field(default=None, repr=False, compare=False)  # the keys as written, in order

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The keys this kind has fields for."""
        return tuple(f.name for f in fields(cls) if f.name not in _META)

    def to_dict(self) -> dict[str, Any]:
        """The details as JSON data: the fields that say something, then `extra`, in the
        order they were written (a dict read back keeps its own order, null values included)."""
        said = set(self.key_order) if self.key_order is not None else set(self.ALWAYS)
        out: dict[str, Any] = {}
        for name in self.keys():
            value = getattr(self, name)
            if value is not None or name in said:
                out[name] = value
        for name, value in self.extra.items():
            out.setdefault(name, value)
        if self.key_order:
            rank = {k: i for i, k in enumerate(self.key_order)}
            out = {k: out[k] for k in sorted(out, key=lambda k: rank.get(k, len(rank)))}
        return copy.deepcopy(out)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The evidence of a details dict: its known keys as fields, the rest in `extra`."""
        names = set(cls.keys())
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names}
        return cls(**known, extra=extra, key_order=tuple(data))


@dataclass(kw_only=True)
class OtherEvidence(Evidence):
    """Evidence of a source no class below knows: the shared fields and `extra`."""


@dataclass(kw_only=True)
class MetricEvidence(Evidence):
    """A metric series off its baseline (plugins/detectors/metrics.py)."""

    ALWAYS: ClassVar[tuple[str, ...]] = ("family", "direction", "harmful", "baseline", "after", "peak", "unit",
                                         "labels", "slope_per_min", "series")

    family: str | None = None  # the metric family: cpu, memory, latency, request_rate, error_rate, ...
    direction: str | None = None  # "up" or "down": which way it moved
    harmful: bool | None = None  # whether that way is bad for its family (latency up: yes; latency down: no)
    baseline: float | None = None  # the level before the window (median)
    after: float | None = None  # the level in the window from the onset (None: no finite value)
    peak: float | None = None  # the most extreme value in the window
    unit: str | None = None  # the series' unit ("ms", "%", "bytes", ""), from its name or labels
    labels: dict[str, str] | None = None  # the series' labels
    slope_per_min: float | None = None  # the trend per minute (0 when not a trend)
    series: str | None = None  # the series key "component/metric"
    common_mode: float | None = None  # the share of components whose same metric shifted with it (a shared cause)
    moves_with_alert: float | None = None  # the largest |Pearson r| with an alerted series (None: nothing to say)
    seasonal: str | None = None  # "1d" when judged against the same time a day earlier
    failing_before: float | None = None  # a ratio series' failing share in the baseline (beta-binomial test)
    failing_after: float | None = None  # its failing share in the window
    requests: float | None = None  # the requests the window counted for that test
    test: str | None = None  # the test that scored it ("beta-binomial"), when not robust sigmas
    query: str | None = None  # the PromQL query the series came from (the Prometheus tool)


@dataclass(kw_only=True)
class LogEvidence(Evidence):
    """A log template that surged, burst or is new (plugins/detectors/logs.py)."""

    ALWAYS: ClassVar[tuple[str, ...]] = ("template", "count", "baseline_count", "examples", "baseline_minutes",
                                         "baseline_adjacent")

    template: str | None = None  # the log template, variables as <*>
    count: int | None = None  # its lines in the window
    baseline_count: int | None = None  # its lines in the baseline
    examples: list[str] | None = None  # up to three raw lines
    baseline_minutes: int | None = None  # the baseline's length in whole minutes (None: no baseline)
    baseline_adjacent: bool | None = None  # whether the baseline ends where the window starts


@dataclass(kw_only=True)
class TraceEvidence(Evidence):
    """A change in the spans: slower, failing or missing calls (plugins/detectors/traces.py, trace_paths.py)."""

    caller: str | None = None  # the calling component of a call edge
    callee: str | None = None  # the called component
    callers: list[str] | None = None  # the callers that stop right after calling the component
    requests: int | None = None  # the requests those callers cut short
    blamed_by_callers: bool | None = None  # the callers' cut-short requests blame the component
    operation: str | None = None  # the operation whose requests end part-way
    self_ms_before: float | None = None  # the component's own time per call, baseline median (ms)
    self_ms_after: float | None = None  # the same in the window
    wire_ms_before: float | None = None  # time on the wire into the component, baseline median (ms)
    wire_ms_after: float | None = None  # the same in the window
    ms_before: float | None = None  # the call edge's duration, baseline median (ms)
    ms_after: float | None = None  # the same in the window
    ratio_before: float | None = None  # the failing (or missing) share in the baseline
    ratio_after: float | None = None  # the same in the window
    calls: int | None = None  # the calls the window counted
    spans: int | None = None  # the spans the window counted
    missing: list[str] | None = None  # the steps the requests no longer take ("component:operation")
    own_share: float | None = None  # the share of the cut-short requests that skipped those steps


@dataclass(kw_only=True)
class ChangeEvidence(Evidence):
    """A deploy, config change or other change near the onset (plugins/detectors/changes.py)."""

    ALWAYS: ClassVar[tuple[str, ...]] = ("minutes_before_onset", "description", "author", "onset")

    minutes_before_onset: float | None = None  # how long before the onset it happened (negative: after)
    description: str | None = None  # what the change record says
    author: str | None = None  # who made it ("" when not known)
    onset: float | None = None  # the onset it was measured against (unix seconds)


@dataclass(kw_only=True)
class AlertEvidence(Evidence):
    """An alert that fired (plugins/telemetry_plugin.py, copilot/bench/rank.py)."""

    ALWAYS: ClassVar[tuple[str, ...]] = ("severity", "description")

    severity: str | None = None  # critical, warning, ... as the alert says
    description: str | None = None  # the alert's description, verbatim


@dataclass(kw_only=True)
class PlatformEvidence(Evidence):
    """A Kubernetes fault or ruled-out lookalike (plugins/platform/detect.py, ids K1, K2, ...)."""

    namespace: str | None = None  # the object's namespace
    pod: str | None = None  # the pod
    node: str | None = None  # the node (the pod's, or the node itself)
    container: str | None = None  # the container
    restarts: int | None = None  # the container's restart count
    image: str | None = None  # the image that cannot be pulled
    reason: str | None = None  # the Kubernetes reason (ErrImagePull, BackoffLimitExceeded, ...) or why it is ruled out
    message: str | None = None  # the Kubernetes message
    missing: str | None = None  # the ConfigMap/Secret (or key) a container cannot find
    limit: str | None = None  # the container's memory limit as written ("512Mi")
    limit_bytes: float | None = None  # that limit in bytes
    exit_code: int | None = None  # the last termination's exit code
    last_termination: float | None = None  # when it last terminated (unix seconds)
    termination_message: str | None = None  # the last termination's message (first 300 characters)
    scheduler_message: str | None = None  # the scheduler's FailedScheduling message
    reasons: list[dict[str, Any]] | None = None  # that message split: [{"nodes": n, "reason": text}]
    pvc: str | None = None  # the PersistentVolumeClaim that cannot be provisioned
    probe_failures: dict[str, int] | None = None  # failed probes by kind: {"liveness": 15}
    probe_restarts: int | None = None  # restarts the kubelet made for failed liveness/startup probes
    sample: str | None = None  # one line that shows it (a probe failure, a log line)
    condition: str | None = None  # the node condition (MemoryPressure, DiskPressure, PIDPressure)
    deployment: str | None = None  # the deployment
    replicas: int | None = None  # the replicas wanted
    unavailable: int | None = None  # the replicas unavailable
    new_replicaset: str | None = None  # the rollout's new ReplicaSet
    old_replicasets_scaled: bool | None = None  # whether the old ReplicaSets are scaled to zero
    terminating: list[str] | None = None  # old pods still terminating
    ready: int | None = None  # the replicas ready
    quota: str | None = None  # the ResourceQuota that refused pods
    requested: str | None = None  # what the refused pods requested
    used: str | None = None  # what the quota had used
    limited: str | None = None  # the quota's limit
    max_replicas: int | None = None  # an HPA's maximum
    current: int | None = None  # its current replicas
    usage: list[str] | None = None  # its metrics against their targets ("cpu 95% (target 60%)")
    service: str | None = None  # the Service
    selector: dict[str, str] | None = None  # its selector
    lines: int | None = None  # the log lines that show it (DNS, TLS)
    not_after: float | None = None  # a certificate's expiry (unix seconds)
    days_left: float | None = None  # days until then
    secret: str | None = None  # the certificate's Secret
    pvcs: list[str] | None = None  # Pending PersistentVolumeClaims the pod waits for
    pods: list[str] | None = None  # the pods affected (on a node, of a Service, or merged into this finding)
    count: int | None = None  # how many findings (or events) this one stands for


@dataclass(kw_only=True)
class DatabaseEvidence(Evidence):
    """A managed-database fault or confounder (plugins/cloud/detect.py, ids D1, D2, ...)."""

    category: str | None = None  # the fault kind's category (copilot/kinds.py)
    baseline: float | None = None  # the metric's level before the window
    after: float | None = None  # its level (or peak) in the window
    unit: str | None = None  # the metric's unit, when not in its name ("s")
    metric: str | None = None  # which metric said it ("missing": only the RDS events did)
    max_connections: float | None = None  # the connection limit
    refusals: int | None = None  # "too many connections" lines in the logs
    events: list[str] | None = None  # the RDS events that show it
    maintenance: list[str] | None = None  # the maintenance running (vacuum, checkpoints)
    top_sql: list[dict[str, Any]] | None = None  # Performance Insights' top statements: name, total (AAS), ...
    top_waits: list[dict[str, Any]] | None = None  # its top wait events, the same way
    share: float | None = None  # the share of the load the top statement (or the lock waits) carries
    write_load: dict[str, Any] | None = None  # the write load behind a replica's lag


@dataclass(kw_only=True)
class ItemEvidence(Evidence):
    """A diagnosis item's output or out-of-range value (plugins/items/model.py, registry.py)."""

    item: str | None = None  # the item's name
    direction: str | None = None  # "up" or "down": which side of the normal range
    value: Any = None  # the worst value (a number), or the item's output object
    at: float | None = None  # when the worst value was seen (unix seconds)
    normal: str | None = None  # the normal range, as text
    times: list[float] | None = None  # the out-of-range points' times
    values: list[float] | None = None  # their values
    meaning: str | None = None  # what the item's result means
    drilldown_tag: str | None = None  # the label the item drills down by
    drilldown: list[dict[str, Any]] | None = None  # the drill-down rows: value, peak, out_of_range
    link: str | None = None  # a dashboard link for the item
    description: str | None = None  # the sentence (the Chinese report quotes it)


@dataclass(kw_only=True)
class RuleEvidence(Evidence):
    """A diagnosis rule that fired on an item's series (plugins/items/rules.py)."""

    rule: str | None = None  # the rule's name
    group: str | None = None  # its rule group
    threshold: float | None = None  # the threshold it crossed
    labels: dict[str, Any] | None = None  # the series' labels
    times: list[float] | None = None  # the firing points' times
    values: list[float] | None = None  # their values
    direction: str | None = None  # "up" or "down"


Details: TypeAlias = (MetricEvidence | LogEvidence | TraceEvidence | ChangeEvidence | AlertEvidence | PlatformEvidence
                      | DatabaseEvidence | ItemEvidence | RuleEvidence | OtherEvidence)

BY_SOURCE: dict[str, type[Details]] = {
    "metrics": MetricEvidence, "logs": LogEvidence, "traces": TraceEvidence, "changes": ChangeEvidence,
    "alerts": AlertEvidence, "platform": PlatformEvidence, "database": DatabaseEvidence,
}


def evidence_class(source: str, data: Mapping[str, Any]) -> type[Details]:
    """The class for a details dict: a rule's or item's by their own key (they report under
    any source, most often "metrics"), else the source's, else OtherEvidence."""
    if "rule" in data:
        return RuleEvidence
    if "item" in data:
        return ItemEvidence
    return BY_SOURCE.get(source, OtherEvidence)


def evidence_from_dict(source: str, data: Mapping[str, Any] | None) -> Details:
    """The typed evidence of a finding's details dict (None or {}: nothing said)."""
    data = data or {}
    return evidence_class(source, data).from_dict(data)
