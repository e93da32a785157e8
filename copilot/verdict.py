"""The verdict every diagnosis states: `fault`, `recovered` or `healthy`, with its reasons,
and what was ruled out.

    fault      something is wrong now: the leading cause's evidence is active
    recovered  it happened and is over: every piece of the cause's evidence ended (since when)
    healthy    nothing is wrong: no detector found a fault; alerts are stale or noise

A finding says it is active or over through `details.active` (bool) and `details.ended` or
`details.recovered_at` (unix seconds; copilot/evidence.py), as the platform and the cloud
detectors write them; a finding without `active` (a metric anomaly, a log surge) counts as active. Red
herrings are never ranked: findings of kind `ruled_out` (a finished rollout, a node that
flapped and came back), an alert storm traced to one transient cause, and alerts about
metrics that are missing rather than bad.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .diagnosis import Finding, RootCause

STATES = ("fault", "recovered", "healthy")
STORM_MIN_ALERTS = 5  # this many alerts...
STORM_SPAN_S = 10 * 60  # ...within this span, from one cause that is over, are one storm
MISSING_ALERT = re.compile(r"absent|nodata|no[ _-]?data|missing|targetdown|target[_ ]down|scrape.*fail|stale", re.I)


@dataclass
class RuledOut:
    component: str
    text: str
    evidence: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"component": self.component, "text": self.text, "evidence": list(self.evidence)}


@dataclass
class Verdict:
    state: str  # fault | recovered | healthy
    reasons: list[str] = field(default_factory=list)
    since: float | None = None  # fault: when it began; recovered: when it ended
    ruled_out: list[RuledOut] = field(default_factory=list)
    reasons_zh: list[str] = field(default_factory=list)

    def say(self, en: str, zh: str) -> "Verdict":
        self.reasons.append(en)
        self.reasons_zh.append(zh)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "since": self.since, "reasons": list(self.reasons),
                "reasons_zh": list(self.reasons_zh), "ruled_out": [r.to_dict() for r in self.ruled_out]}


def _hhmm(ts: float | None) -> str:
    from .timefmt import when

    return when(ts) if ts else "an unknown time"


def is_active(f: Finding) -> bool:
    value = f.details.active
    return True if value is None else bool(value)


def is_ruled_out(f: Finding) -> bool:
    """A red herring a detector already checked: kind `ruled_out`, or a confounder that
    says why it is not the cause (`details.ruled_out`, e.g. a checkpoint that recovered)."""
    return f.kind == "ruled_out" or bool(f.details.confounder and f.details.ruled_out)


def ended_at(f: Finding) -> float | None:
    """When a finding's condition ended (`ended`, or `recovered_at` as the database detectors say)."""
    for value in (f.details.ended, f.details.recovered_at):
        if isinstance(value, (int, float)):
            return float(value)
    return None


def decide(causes: list[RootCause], findings: list[Finding], alerts: list[Any] | None = None,
           missing_metrics: dict[str, list[str]] | None = None) -> Verdict:
    """The verdict from the ranked causes and every finding (and the alerts, when known)."""
    by_id = {f.id: f for f in findings}
    ruled = [RuledOut(f.component, str(f.details.ruled_out or f.summary), [f.id])
             for f in findings if is_ruled_out(f)]
    alert_findings = [f for f in findings if f.source == "alerts"]
    ruled += missing_metric_alerts(alert_findings, findings, missing_metrics or {})
    real = [rc for rc in causes if rc.fault_type != "unknown" or _strong(rc, by_id)]
    # signals a confounder explains (CPU high during a checkpoint that recovered) are not faults
    explained = {(f.component, str(sig)) for f in findings if is_ruled_out(f)
                 for sig in (f.details.explains or [])}
    if not real:
        strong = [f for f in findings if f.source not in ("alerts", "changes") and not is_ruled_out(f)
                  and f.score >= 4.0 and is_active(f) and (f.component, f.signal) not in explained]
        if strong:
            return Verdict("fault", since=min((f.onset for f in strong if f.onset is not None), default=None),
                           ruled_out=ruled).say(
                f"anomalies are present [{', '.join(f.id for f in strong[:3])}] but not enough to name a cause",
                f"存在异常 [{', '.join(f.id for f in strong[:3])}]，但不足以确定根因")
        v = Verdict("healthy", ruled_out=ruled).say(
            "no detector found a fault in the data" + (" (only weak or ruled-out signals)" if findings else ""),
            "各检测器均未在数据中发现故障" + ("（只有微弱或已排除的信号）" if findings else ""))
        if ruled:
            v.say(f"{len(ruled)} things that look wrong were checked and ruled out (below)",
                  f"{len(ruled)} 处看似异常的情况已核实并排除（见下文）")
        if alert_findings:
            names = ", ".join(sorted({f.signal for f in alert_findings})[:5])
            v.say(f"the alerts ({names}) are not backed by any anomaly: stale or noise",
                  f"告警（{names}）没有任何异常支撑：属于过期告警或噪声")
        return v
    top = real[0]
    evidence = [by_id[e] for e in top.evidence if e in by_id and by_id[e].source != "alerts"]
    # a detector that knows whether its condition is over says so (`active`); when any of the
    # evidence says, that decides, and undated anomalies beside it do not keep the fault open
    declared = [f for f in evidence if f.details.active is not None]
    active = [f for f in (declared or evidence) if is_active(f)]
    if active:
        since = min((f.onset for f in active if f.onset is not None), default=None)
        v = Verdict("fault", since=since, ruled_out=ruled).say(
            f"{top.component}: {top.fault_type} is active now [{active[0].id}]",
            f"{top.component}：{top.fault_type} 当前仍在发生 [{active[0].id}]")
        for rc in real[1:3]:
            if _active_cause(rc, by_id):
                v.say(f"also active: {rc.component} ({rc.fault_type})", f"同时发生：{rc.component}（{rc.fault_type}）")
        return v
    others = [rc for rc in real[1:] if _active_cause(rc, by_id)]
    if others:  # the leading cause is over, another is not
        rc = others[0]
        return Verdict("fault", ruled_out=ruled).say(
            f"{rc.component}: {rc.fault_type} is active now", f"{rc.component}：{rc.fault_type} 当前仍在发生").say(
            f"{top.component}: {top.fault_type} happened and is over", f"{top.component}：{top.fault_type} 发生过，现已结束")
    ended = [t for t in (ended_at(f) for f in evidence) if t is not None]
    since = max(ended) if ended else None
    ids = ", ".join(f.id for f in evidence[:3])
    v = Verdict("recovered", since=since, ruled_out=ruled).say(
        f"{top.component}: {top.fault_type} happened and is over" + (f" since {_hhmm(since)}" if since else "") + f" [{ids}]",
        f"{top.component}：{top.fault_type} 发生过，现已结束" + (f"（{_hhmm(since)} 起）" if since else "") + f" [{ids}]")
    storm = alert_storm(alert_findings, top, since)
    if storm:
        ruled.append(storm)
        v.say(storm.text, f"告警风暴：{len(storm.evidence)} 条以上告警都源自同一个已结束的短暂原因（{top.component} {top.fault_type}）")
    return v


def _strong(rc: RootCause, by_id: dict[str, Finding]) -> bool:
    return any(by_id[e].score >= 4.0 for e in rc.evidence if e in by_id)


def _active_cause(rc: RootCause, by_id: dict[str, Finding]) -> bool:
    return any(is_active(by_id[e]) for e in rc.evidence if e in by_id and by_id[e].source != "alerts")


def _held(findings: list[Finding]) -> str:
    sources = sorted({f.source for f in findings if f.kind != "ruled_out"})
    return "only weak or ruled-out signals" + (f" in {', '.join(sources)}" if sources else "")


def alert_storm(alerts: list[Finding], cause: RootCause, ended: float | None) -> RuledOut | None:
    """Many alerts in a short span, all after one cause that is now over: one storm, not many faults."""
    timed = sorted(a.onset for a in alerts if a.onset is not None)
    if len(timed) < STORM_MIN_ALERTS or timed[-1] - timed[0] > STORM_SPAN_S:
        return None
    return RuledOut(cause.component, f"alert storm: {len(timed)} alerts between {_hhmm(timed[0])} and {_hhmm(timed[-1])} "
                    f"all follow one transient cause ({cause.component} {cause.fault_type}), which is over",
                    [a.id for a in alerts][:6])


def missing_metric_alerts(alerts: list[Finding], findings: list[Finding],
                          missing: dict[str, list[str]]) -> list[RuledOut]:
    """Alerts about data that stopped arriving (absent(), NoData, TargetDown) on a component
    whose other signals are normal: the metric is missing, not bad."""
    troubled = {f.component for f in findings if f.source not in ("alerts",) and f.kind != "ruled_out" and f.score >= 4.0}
    out = []
    for a in alerts:
        text = f"{a.signal} {a.summary}"
        gone = missing.get(a.component, [])
        if (MISSING_ALERT.search(text) or gone) and a.component not in troubled:
            what = f" ({', '.join(gone[:3])} stopped reporting)" if gone else ""
            out.append(RuledOut(a.component, f"alert {a.signal} on {a.component}: the metric is missing{what}, not bad; "
                                "nothing else on it is anomalous (check the exporter or scrape target)", [a.id]))
    return out


def missing_series(telemetry: Any, window_end: float | None = None) -> dict[str, list[str]]:
    """Per component, metric series whose last points are all missing (NaN) while other
    series of the data go on: data that stopped arriving."""
    import numpy as np

    out: dict[str, list[str]] = {}
    metrics = getattr(telemetry, "metrics", None) or []
    if not metrics:
        return out
    end = window_end or max((float(m.timestamps[-1]) for m in metrics if len(m.timestamps)), default=0.0)
    for m in metrics:
        if len(m.values) < 10:
            continue
        finite = np.isfinite(m.values)
        if not finite.any():
            continue
        last_seen = float(m.timestamps[finite][-1])
        step = float(np.median(np.diff(m.timestamps))) if len(m.timestamps) > 1 else 60.0
        if end - last_seen >= max(5 * step, 300.0) and finite[: len(finite) // 2].mean() > 0.9:
            out.setdefault(m.component, []).append(m.metric)
    return out
