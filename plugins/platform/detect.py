"""Platform faults from Kubernetes state: findings with numbers and times.

Each finding's `kind` is a fault kind (copilot/kinds.py) and its details say whether the
fault is `active` in the captured state or was seen and is over (`ended`). What looks like
a fault but is not one (a finished rollout's old pods terminating, a node that flapped and
came back) is a finding of kind `ruled_out` with the reason: never ranked, shown in the
report's "ruled out" part.

Detectors: container waiting/terminated reasons (OOMKilled with the limit, CrashLoopBackOff,
ImagePullBackOff/ErrImagePull, CreateContainerConfigError from a missing ConfigMap/Secret),
restarts and the last termination, Pending pods and the scheduler's reasons, quota and
limit-range refusals, failed probes and probe-caused restarts, evictions, node conditions
and the pods on those nodes, stuck rollouts, HPAs at their maximum, jobs that failed, DNS
and TLS failures in logs, certificates near expiry.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from copilot.diagnosis import Finding
from copilot.evidence import PlatformEvidence
from copilot.timefmt import hhmm_zone, when

from copilot.plugins.telemetry.model import Platform, PlatformEvent, Telemetry

from .objects import Owners, component_of, controller_of, key, meta, parse_time

SOURCE = "platform"
RECENT_S = 15 * 60  # a restart or event this close to the capture counts as still happening
CERT_WARN_DAYS = 14
ROLLOUT_SLOW_S = 10 * 60  # a new ReplicaSet not ready this long after it was created is stuck
RULED_OUT_ROLLOUT_S = 2 * 3600  # finished rollouts this recent are named (and ruled out) as suspects
MAX_RULED_OUT = 10  # the most recent this many red herrings are listed; the rest are counted


def hhmm(ts: float | None) -> str:
    return hhmm_zone(ts or None, missing="unknown time")


def day(ts: float | None) -> str:
    return when(ts) if ts else "unknown time"


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 1e3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "m": 1e-3}


def quantity(text: Any) -> float | None:
    """A Kubernetes quantity ("512Mi", "1.5Gi", "250m", "2") as a number."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]i?|k|m)?\s*", str(text or ""))
    if not m:
        return None
    return float(m.group(1)) * _UNITS.get(m.group(2) or "", 1)


@dataclass
class Draft:
    component: str
    kind: str  # the fault kind, or ruled_out
    signal: str
    summary: str
    score: float
    onset: float | None
    details: PlatformEvidence = field(default_factory=PlatformEvidence)


@dataclass
class Scan:
    """One pass over the platform state; `drafts` become findings."""

    tel: Telemetry
    now: float
    drafts: list[Draft] = field(default_factory=list)

    @property
    def platform(self) -> Platform:
        return self.tel.platform

    def add(self, component: str, kind: str, signal: str, summary: str, score: float, onset: float | None,
            active: bool, **details: Any) -> Draft:
        said = {"fault_kind": kind if kind != "ruled_out" else "", "active": active, **details}
        d = Draft(component, kind, signal, summary, score, onset, PlatformEvidence(**said, key_order=tuple(said)))
        self.drafts.append(d)
        return d

    def recent(self, ts: float | None) -> bool:
        return ts is not None and self.now - ts <= RECENT_S


# ---------------------------------------------------------------------------- pods

MISSING_REF = re.compile(r'(configmap|secret)s? "?([\w.-]+)"? not found|couldn\'t find key (\S+) in (ConfigMap|Secret) ([\w./-]+)', re.I)


def scan_pods(scan: Scan) -> None:
    p = scan.platform
    owners = Owners(p)
    events = events_by_object(p)
    for pod in p.pods:
        m = meta(pod)
        ns, name = str(m.get("namespace") or ""), str(m.get("name") or "")
        comp = owners.component(pod)
        status = pod.get("status") or {}
        spec = pod.get("spec") or {}
        node = str(spec.get("nodeName") or "")
        limits = {str(c.get("name")): ((c.get("resources") or {}).get("limits") or {}) for c in
                  (spec.get("containers") or []) + (spec.get("initContainers") or [])}
        base = {"namespace": ns, "pod": name, "node": node}
        if status.get("phase") == "Failed" and status.get("reason") == "Evicted":
            at = parse_time(status.get("startTime"))
            ev = [e for e in events.get(("Pod", ns, name), []) if e.reason == "Evicted"]
            at = max((e.timestamp for e in ev), default=at)
            scan.add(comp, "pod_evicted", f"pod/{name}", f"pod {name} was evicted from node {node or '?'}: "
                     f"{status.get('message', '').strip()}", 6.0, at, scan.recent(at), **base,
                     message=status.get("message", ""))
            continue
        if status.get("phase") == "Pending" and not node:
            pending(scan, pod, comp, base, events.get(("Pod", ns, name), []))
        elif status.get("phase") == "Pending":
            stuck = [e for e in events.get(("Pod", ns, name), []) if e.reason in ("FailedCreatePodSandBox", "FailedMount",
                                                                                  "FailedAttachVolume")]
            if stuck:
                e = stuck[-1]
                since = min(x.first or x.timestamp for x in stuck)
                scan.add(comp, "pod_pending", f"pod/{name}", f"pod {name} is Pending on node {node} for "
                         f"{(scan.now - since) / 60:.0f} min: {e.reason} ({sum(x.count for x in stuck)} times): {e.message}",
                         8.0, since, True, **base, reason=e.reason, message=e.message)
        for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            container(scan, pod, cs, comp, base, limits.get(str(cs.get("name")), {}), events.get(("Pod", ns, name), []))
        probes(scan, comp, base, events.get(("Pod", ns, name), []))


def container(scan: Scan, pod: dict[str, Any], cs: dict[str, Any], comp: str, base: dict[str, Any],
              limits: dict[str, Any], events: list[PlatformEvent]) -> None:
    name = str(meta(pod).get("name"))
    cname = str(cs.get("name") or "")
    state, last = cs.get("state") or {}, cs.get("lastState") or {}
    waiting = state.get("waiting") or {}
    reason, message = str(waiting.get("reason") or ""), str(waiting.get("message") or "").strip()
    restarts = int(cs.get("restartCount") or 0)
    term = last.get("terminated") or state.get("terminated") or {}
    t_reason = str(term.get("reason") or "")
    finished = parse_time(term.get("finishedAt"))
    started = parse_time(term.get("startedAt"))
    where = f"container {cname} of pod {name}"
    details = {**base, "container": cname, "restarts": restarts}
    if reason in ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"):
        pulls = [e for e in events if e.reason in ("Failed", "BackOff") and "image" in e.message.lower()]
        why = next((e.message for e in pulls if e.reason == "Failed"), message)
        since = min((e.first or e.timestamp for e in pulls), default=None)
        scan.add(comp, "image_pull_error", f"{name}/{cname}", f"{where} cannot pull its image {cs.get('image', '')} "
                 f"({reason}): {why}", 9.0, since, True, **details, image=cs.get("image", ""), reason=reason,
                 message=why)
        return
    if reason in ("CreateContainerConfigError", "CreateContainerError", "RunContainerError"):
        ref = MISSING_REF.search(message)
        cfg = [e for e in events if e.reason == "Failed" and MISSING_REF.search(e.message)]
        since = min((e.first or e.timestamp for e in cfg), default=None)
        missing = ""
        if ref:
            missing = f"{ref.group(1).lower()} {ref.group(2)}" if ref.group(1) else f"key {ref.group(3)} in {ref.group(4)} {ref.group(5)}"
        scan.add(comp, "missing_config", f"{name}/{cname}", f"{where} cannot start ({reason}): {message}",
                 9.0, since, True, **details, reason=reason, message=message, missing=missing)
        return
    oom = t_reason == "OOMKilled" or (term.get("exitCode") == 137 and t_reason != "Completed" and
                                      any(e.reason in ("OOMKilling", "OOMKilled") for e in events))
    if oom:
        limit = limits.get("memory", "")
        looping = reason == "CrashLoopBackOff"
        active = looping or scan.recent(finished)
        scan.add(comp, "oom_killed", f"{name}/{cname}",
                 f"{where} was OOMKilled (exit code {term.get('exitCode', 137)}) at {hhmm(finished)} with memory limit "
                 f"{limit or 'none set'}; restarted {restarts} times" + ("; now in CrashLoopBackOff" if looping else ""),
                 10.0 if active else 4.0, started or finished, active, **details, limit=limit,
                 limit_bytes=quantity(limit), exit_code=term.get("exitCode", 137), last_termination=finished,
                 ended=None if active else finished)
        return
    if reason == "CrashLoopBackOff":
        code = term.get("exitCode")
        scan.add(comp, "crash_loop", f"{name}/{cname}",
                 f"{where} is in CrashLoopBackOff: restarted {restarts} times, last exit code {code} "
                 f"({t_reason or 'Error'}) at {hhmm(finished)}", 9.0, started or finished, True, **details,
                 exit_code=code, last_termination=finished, termination_message=str(term.get("message") or "")[:300])
        return
    if restarts and term and t_reason not in ("Completed",):
        active = scan.recent(finished)
        if not active and not any(e.reason == "Killing" and "liveness" in e.message.lower() for e in events):
            # restarted long ago and running since: over
            scan.add(comp, "container_restarts", f"{name}/{cname}",
                     f"{where} restarted {restarts} times, the last at {day(finished)} (exit code {term.get('exitCode')}, "
                     f"{t_reason or 'Error'}); running and ready since", 1.5, finished, False, **details,
                     exit_code=term.get("exitCode"), last_termination=finished, ended=finished)
        elif active:
            scan.add(comp, "crash_loop", f"{name}/{cname}",
                     f"{where} restarted {restarts} times, the last at {hhmm(finished)} (exit code "
                     f"{term.get('exitCode')}, {t_reason or 'Error'})", 6.0, finished, True, **details,
                     exit_code=term.get("exitCode"), last_termination=finished)


SCHED = [  # scheduler message fragment -> (fault kind, what it means)
    (re.compile(r"Insufficient (cpu|memory|ephemeral-storage|pods|[\w./-]+)", re.I), "pod_unschedulable_resources"),
    (re.compile(r"Too many pods", re.I), "pod_unschedulable_resources"),
    (re.compile(r"unbound immediate PersistentVolumeClaims|persistentvolumeclaim \S+ not found", re.I), "pvc_unbound"),
    (re.compile(r"untolerated taint|had taint|didn't tolerate", re.I), "pod_unschedulable_constraints"),
    (re.compile(r"didn't match Pod's node affinity|node affinity/selector|didn't match pod (anti-)?affinity|"
                r"volume node affinity conflict|didn't have free ports|node\(s\) were unschedulable", re.I),
     "pod_unschedulable_constraints"),
]


def scheduler_reasons(message: str) -> list[tuple[int, str]]:
    """`0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {..}.` ->
    [(2, "Insufficient cpu"), (3, "node(s) had untolerated taint {..}")]."""
    body = message.split(":", 1)[1] if "nodes are available" in message else message
    body = body.split("preemption:")[0]
    out = []
    for part in re.split(r",\s*(?=\d+\s)", body.strip().rstrip(".")):
        m = re.match(r"\s*(\d+)\s+(.*)", part)
        if m:
            out.append((int(m.group(1)), m.group(2).strip().rstrip(".")))
        elif part.strip():
            out.append((0, part.strip().rstrip(".")))
    return out


def pending(scan: Scan, pod: dict[str, Any], comp: str, base: dict[str, Any], events: list[PlatformEvent]) -> None:
    status = pod.get("status") or {}
    cond: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {})
    failed = [e for e in events if e.reason == "FailedScheduling"]
    message = (failed[-1].message if failed else "") or str(cond.get("message") or "")
    since = min([e.first or e.timestamp for e in failed] + [t for t in [parse_time(cond.get("lastTransitionTime")),
                                                                          parse_time(meta(pod).get("creationTimestamp"))] if t],
                default=None)
    reasons = scheduler_reasons(message)
    kind = "pod_pending"
    for _, text in sorted(reasons, key=lambda r: -r[0]):
        found = next((k for rx, k in SCHED if rx.search(text)), None)
        if found:
            kind = found
            break
    if kind == "pod_pending" and re.search(r"unbound immediate PersistentVolumeClaims", message):
        kind = "pvc_unbound"
    name = meta(pod).get("name")
    shown = "; ".join(f"{n} {t}" if n else t for n, t in reasons) or message or "no scheduler message"
    waited = f" for {(scan.now - since) / 60:.0f} min" if since else ""
    scan.add(comp, kind, f"pod/{name}", f"pod {name} is Pending{waited}: {shown}", 8.0, since, True, **base,
             scheduler_message=message, reasons=[{"nodes": n, "reason": t} for n, t in reasons])


PROBE = re.compile(r"(Liveness|Readiness|Startup) probe (failed|errored):?\s*(.*)", re.I)


def probes(scan: Scan, comp: str, base: dict[str, Any], events: list[PlatformEvent]) -> None:
    unhealthy = [(e, probe) for e in events if e.reason == "Unhealthy" and (probe := PROBE.search(e.message))]
    if not unhealthy:
        return
    kills = [e for e in events if e.reason == "Killing" and re.search(r"fail(ed)? (liveness|startup) probe", e.message, re.I)]
    by_kind: dict[str, int] = defaultdict(int)
    for e, probe in unhealthy:
        by_kind[probe.group(1).lower()] += e.count
    last = max(e.timestamp for e, _ in unhealthy)
    first = min(e.first or e.timestamp for e, _ in unhealthy)
    sample = unhealthy[-1][1].group(3).strip()
    restarts = sum(e.count for e in kills)
    counts = ", ".join(f"{k} failed {n} times" for k, n in sorted(by_kind.items()))
    active = scan.recent(last)
    scan.add(comp, "probe_failure", f"pod/{base['pod']}/probe",
             f"pod {base['pod']}: {counts} between {hhmm(first)} and {hhmm(last)} ({sample})"
             + (f"; the kubelet restarted it {restarts} times for failing its liveness probe" if restarts else ""),
             7.0 if restarts else 5.0, first, active, **base, probe_failures=dict(by_kind), probe_restarts=restarts,
             sample=sample, ended=None if active else last)


# ---------------------------------------------------------------------------- nodes

PRESSURE = {"MemoryPressure": "memory", "DiskPressure": "disk", "PIDPressure": "PID"}


def scan_nodes(scan: Scan) -> None:
    p = scan.platform
    pods_on: dict[str, list[str]] = defaultdict(list)
    for pod in p.pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            pods_on[node].append(str(meta(pod).get("name")))
    events = events_by_object(p)
    for node in p.nodes:
        name = str(meta(node).get("name"))
        conds = {c.get("type"): c for c in (node.get("status") or {}).get("conditions") or []}
        hit = sorted(pods_on.get(name, []))
        ready = conds.get("Ready") or {}
        since = parse_time(ready.get("lastTransitionTime"))
        flaps = [e for e in events.get(("Node", "", name), []) if e.reason in ("NodeNotReady", "NodeNotSchedulable")]
        if ready and ready.get("status") != "True":
            scan.add(name, "node_not_ready", f"node/{name}", f"node {name} is NotReady since {hhmm(since)} "
                     f"({ready.get('reason', '')}: {ready.get('message', '')}); {len(hit)} pods on it: "
                     + ", ".join(hit[:6]) + (" ..." if len(hit) > 6 else ""), 9.0, since, True, node=name,
                     pods=hit, reason=ready.get("reason", ""))
        elif flaps:
            went = min(e.first or e.timestamp for e in flaps)
            scan.add(name, "ruled_out", f"node/{name}", f"node {name} went NotReady at {hhmm(went)} and is Ready again "
                     f"since {hhmm(since)}; its pods kept running", 0.0, went, False, node=name,
                     reason="node flapped and recovered", ended=since)
        for ctype, what in PRESSURE.items():
            c = conds.get(ctype) or {}
            if c.get("status") == "True":
                at = parse_time(c.get("lastTransitionTime"))
                scan.add(name, "node_pressure", f"node/{name}/{ctype}", f"node {name} has {what} pressure since {hhmm(at)} "
                         f"({c.get('message', '')}); {len(hit)} pods on it", 7.0, at, True, node=name, condition=ctype,
                         pods=hit)


# ---------------------------------------------------------------------------- workloads

def scan_workloads(scan: Scan) -> None:
    p = scan.platform
    by_deploy: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rs in p.replicasets:
        ref = controller_of(rs)
        if ref and ref.get("kind") == "Deployment":
            by_deploy[f"{meta(rs).get('namespace')}/{ref.get('name')}"].append(rs)
    for d in p.deployments:
        m = meta(d)
        name, ns = str(m.get("name")), str(m.get("namespace"))
        status, spec = d.get("status") or {}, d.get("spec") or {}
        want = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
        conds = {c.get("type"): c for c in status.get("conditions") or []}
        prog, fail = conds.get("Progressing") or {}, conds.get("ReplicaFailure") or {}
        sets = sorted(by_deploy.get(f"{ns}/{name}", []), key=revision)
        new = sets[-1] if sets else None
        new_ready = int((new or {}).get("status", {}).get("readyReplicas") or 0) if new else None
        new_made = parse_time(meta(new).get("creationTimestamp")) if new else None
        unavailable = int(status.get("unavailableReplicas") or 0)
        base = {"namespace": ns, "deployment": name, "replicas": want, "unavailable": unavailable}
        if fail.get("status") == "True":
            quota(scan, name, str(fail.get("message") or ""), parse_time(fail.get("lastTransitionTime")), base)
        if prog.get("reason") == "ProgressDeadlineExceeded":
            at = parse_time(prog.get("lastUpdateTime")) or parse_time(prog.get("lastTransitionTime"))
            scan.add(name, "rollout_stuck", f"deployment/{name}", f"deployment {name}: rollout stuck "
                     f"(ProgressDeadlineExceeded at {hhmm(at)}): {prog.get('message', '')}; {unavailable} of {want} "
                     f"replicas unavailable" + (f", new ReplicaSet {meta(new).get('name')} {new_ready}/{want} ready" if new else ""),
                     8.0, new_made or at, True, **base, new_replicaset=meta(new).get("name") if new else "")
        elif new is not None and new_ready is not None and len(sets) > 1 and new_ready < want and new_made and scan.now - new_made > ROLLOUT_SLOW_S \
                and int(new.get("spec", {}).get("replicas") or 0) > 0:
            scan.add(name, "rollout_stuck", f"deployment/{name}", f"deployment {name}: new ReplicaSet "
                     f"{meta(new).get('name')} (revision {revision(new)}) created {hhmm(new_made)} has {new_ready}/{want} "
                     f"ready after {(scan.now - new_made) / 60:.0f} min; {unavailable} replicas unavailable", 7.0,
                     new_made, True, **base, new_replicaset=meta(new).get("name"))
        elif new is not None and new_ready is not None and len(sets) > 1 and new_ready >= want and unavailable == 0 and new_made \
                and scan.now - new_made <= RULED_OUT_ROLLOUT_S and not any(
                d.component == name and d.kind != "ruled_out" and d.details.active for d in scan.drafts):
            old_live = [rs for rs in sets[:-1] if int((rs.get("status") or {}).get("replicas") or 0) > 0]
            terminating = [pod for pod in p.pods if meta(pod).get("deletionTimestamp") and p.owners.get(key(pod)) == name]
            what = (f"; {len(terminating)} old pods terminating ({', '.join(str(meta(x).get('name')) for x in terminating[:3])})"
                    if terminating else "")
            scan.add(name, "ruled_out", f"deployment/{name}/rollout", f"deployment {name}: rollout to revision "
                     f"{revision(new)} at {hhmm(new_made)} completed; new ReplicaSet {meta(new).get('name')} is "
                     f"{new_ready}/{want} ready" + what, 0.0, new_made, False, **base,
                     reason="finished rollout with a healthy new ReplicaSet", old_replicasets_scaled=len(old_live) == 0,
                     terminating=[meta(x).get("name") for x in terminating])
    for s in p.statefulsets + p.daemonsets:
        m = meta(s)
        st = s.get("status") or {}
        want = int(st.get("desiredNumberScheduled") or (s.get("spec") or {}).get("replicas") or 0)
        ready = int((st.get("numberReady") if "desiredNumberScheduled" in st else st.get("readyReplicas")) or 0)
        if want and ready < want and not any(d.component == m.get("name") for d in scan.drafts):
            scan.add(str(m.get("name")), "replicas_unavailable", f"{s.get('kind', '').lower()}/{m.get('name')}",
                     f"{s.get('kind')} {m.get('name')}: {ready}/{want} ready", 4.0, None, True,
                     namespace=m.get("namespace"), ready=ready, replicas=want)
    for job in p.jobs:
        for c in (job.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Failed" and c.get("status") == "True":
                at = parse_time(c.get("lastTransitionTime"))
                comp = _job_component(job)
                scan.add(comp, "job_failed", f"job/{meta(job).get('name')}", f"job {meta(job).get('name')} failed at "
                         f"{hhmm(at)} ({c.get('reason')}: {c.get('message', '')})", 6.0, at, scan.recent(at),
                         namespace=meta(job).get("namespace"), reason=c.get("reason"), ended=None if scan.recent(at) else at)
    for hpa in p.hpas:
        hpa_at_max(scan, hpa)


def _job_component(job: dict[str, Any]) -> str:
    up = controller_of(job)
    return str(up.get("name")) if up and up.get("kind") == "CronJob" else str(meta(job).get("name"))


def revision(rs: dict[str, Any]) -> int:
    try:
        return int((meta(rs).get("annotations") or {}).get("deployment.kubernetes.io/revision") or 0)
    except ValueError:
        return 0


QUOTA = re.compile(r"exceeded quota: ([\w.-]+), requested: (\S+), used: (\S+), limited: (\S+)")
LIMITRANGE = re.compile(r"(maximum|minimum) (cpu|memory|storage) usage per (Container|Pod) is (\S+), but (limit|request) is (\S+)", re.I)
MUST_SPECIFY = re.compile(r"must specify (limits|requests)\.(cpu|memory)[^;]*", re.I)


def quota(scan: Scan, comp: str, message: str, at: float | None, base: dict[str, Any]) -> bool:
    q = QUOTA.search(message)
    if q:
        scan.add(comp, "quota_exceeded", f"quota/{q.group(1)}", f"{comp}: pods refused by ResourceQuota {q.group(1)}: "
                 f"requested {q.group(2)}, used {q.group(3)}, limited {q.group(4)}", 8.0, at, True, **base,
                 quota=q.group(1), requested=q.group(2), used=q.group(3), limited=q.group(4))
        return True
    lr = LIMITRANGE.search(message) or MUST_SPECIFY.search(message)
    if lr:
        scan.add(comp, "limit_range_refused", f"limitrange/{comp}", f"{comp}: pods refused at admission: {lr.group(0)}",
                 8.0, at, True, **base, message=message[:300])
        return True
    return False


def hpa_at_max(scan: Scan, hpa: dict[str, Any]) -> None:
    spec, st = hpa.get("spec") or {}, hpa.get("status") or {}
    top = int(spec.get("maxReplicas") or 0)
    current, desired = int(st.get("currentReplicas") or 0), int(st.get("desiredReplicas") or 0)
    limited = next((c for c in st.get("conditions") or [] if c.get("type") == "ScalingLimited"
                    and c.get("status") == "True" and c.get("reason") == "TooManyReplicas"), None)
    if not top or not (current >= top and (desired >= top or limited)):
        return
    target = str((spec.get("scaleTargetRef") or {}).get("name") or meta(hpa).get("name"))
    usage = []
    for cur in st.get("currentMetrics") or []:
        res = cur.get("resource") or {}
        value = (res.get("current") or {}).get("averageUtilization")
        if value is not None:
            want = next(((m.get("resource") or {}).get("target", {}).get("averageUtilization") for m in spec.get("metrics") or []
                         if (m.get("resource") or {}).get("name") == res.get("name")), None)
            usage.append(f"{res.get('name')} {value}% (target {want}%)")
    at = parse_time((limited or {}).get("lastTransitionTime"))
    scan.add(target, "hpa_at_max", f"hpa/{meta(hpa).get('name')}", f"HPA {meta(hpa).get('name')} is at its maximum: "
             f"{current}/{top} replicas" + (f", {', '.join(usage)}" if usage else "") + (f" since {hhmm(at)}" if at else ""),
             6.0, at, True, namespace=meta(hpa).get("namespace"), max_replicas=top, current=current, usage=usage)


# ---------------------------------------------------------------------------- events

def scan_events(scan: Scan) -> None:
    """Refusals only events tell: quota/limit-range FailedCreate, PVC provisioning."""
    p = scan.platform
    seen_quota: set[str] = {d.component for d in scan.drafts if d.kind in ("quota_exceeded", "limit_range_refused")}
    for e in p.events:
        if e.reason == "FailedCreate" and e.object_kind in ("ReplicaSet", "StatefulSet", "Job", "DaemonSet"):
            comp = component_of(p, e.object_kind, e.namespace, e.object_name)
            if comp not in seen_quota and quota(scan, comp, e.message, e.timestamp, {"namespace": e.namespace,
                                                                                      "count": e.count}):
                seen_quota.add(comp)
        if e.reason == "ProvisioningFailed" and e.object_kind == "PersistentVolumeClaim":
            if not any(d.kind == "pvc_unbound" and e.object_name in (d.details.scheduler_message or "") for d in scan.drafts):
                scan.add(e.object_name, "pvc_unbound", f"pvc/{e.object_name}", f"PersistentVolumeClaim {e.object_name} "
                         f"cannot be provisioned ({e.count} times, last {hhmm(e.timestamp)}): {e.message}", 6.0,
                         e.first or e.timestamp, True, namespace=e.namespace, pvc=e.object_name)
    for pvc in p.pvcs:
        st = pvc.get("status") or {}
        if st.get("phase") == "Pending":
            name = str(meta(pvc).get("name"))
            for d in scan.drafts:
                if d.kind == "pvc_unbound" and (name in (d.details.scheduler_message or "") or d.component == name):
                    d.details.pvcs = (d.details.pvcs or []) + [name]
                    d.summary += f"; PVC {name} is Pending (storageClass {(pvc.get('spec') or {}).get('storageClassName', 'default')})"
                    break


# ---------------------------------------------------------------------------- services

def scan_services(scan: Scan) -> None:
    """A Service whose selector matches no pod at all is a configuration error (a typo, a
    relabelled Deployment): its callers get connection refused. One whose pods exist but
    none is ready is a symptom of those pods, named on their workload."""
    p = scan.platform
    endpoints = {key(e): e for e in p.endpoints if e.get("kind", "Endpoints") == "Endpoints"}
    for svc in p.services:
        spec = svc.get("spec") or {}
        selector = spec.get("selector") or {}
        if not selector or spec.get("type") == "ExternalName":
            continue
        m = meta(svc)
        ns, name = str(m.get("namespace") or ""), str(m.get("name") or "")
        ep = endpoints.get(f"{ns}/{name}")
        ready = sum(len(sub.get("addresses") or []) for sub in (ep or {}).get("subsets") or [])
        if ep is None or ready:
            continue
        matching = [pod for pod in p.pods if meta(pod).get("namespace") == ns
                    and all((meta(pod).get("labels") or {}).get(k) == v for k, v in selector.items())]
        shown = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        if not matching:
            scan.add(name, "service_selector_mismatch", f"service/{name}", f"service {name} has no endpoints: its "
                     f"selector {shown} matches no pod in namespace {ns}", 8.0, parse_time(m.get("creationTimestamp")),
                     True, namespace=ns, service=name, selector=selector)
        else:
            owner = p.owners.get(key(matching[0]), name)
            scan.add(owner, "replicas_unavailable", f"service/{name}", f"service {name} has no ready endpoints: "
                     f"none of its {len(matching)} pods ({owner}) is ready", 5.0, None, True, namespace=ns,
                     service=name, pods=[meta(x).get("name") for x in matching[:10]])


# ---------------------------------------------------------------------------- logs and certificates

DNS = re.compile(r"no such host|temporary failure in name resolution|could not resolve host|name or service not known|"
                 r"NXDOMAIN|server misbehaving|UnknownHostException|getaddrinfo (ENOTFOUND|EAI_AGAIN)|"
                 r"lookup \S+( on \S+)?: (i/o timeout|no such host)|dns.*(timeout|timed out)", re.I)
TLS = re.compile(r"x509: certificate|certificate has expired|certificate signed by unknown authority|"
                 r"tls: (handshake failure|bad certificate|failed to verify)|SSLHandshakeException|"
                 r"CERTIFICATE_VERIFY_FAILED|certificate verify failed|PKIX path building failed|ssl_error", re.I)


def scan_logs(scan: Scan) -> None:
    for kind, rx, what in (("dns_failure", DNS, "DNS lookups fail"), ("tls_failure", TLS, "TLS handshakes fail")):
        hits: dict[str, list[Any]] = defaultdict(list)
        for r in scan.tel.logs:
            if rx.search(r.message):
                hits[r.component].append(r)
        for comp, recs in hits.items():
            first, last = recs[0].timestamp, recs[-1].timestamp
            sample = recs[-1].message.splitlines()[0][:200]
            active = scan.recent(last) or last >= max((x.timestamp for x in scan.tel.logs if x.component == comp), default=last)
            scan.add(comp, kind, f"logs/{kind}", f"{comp}: {what} in its logs: {len(recs)} lines from {hhmm(first)} to "
                     f"{hhmm(last)}, e.g. \"{sample}\"", 7.0, first, active, lines=len(recs), sample=sample,
                     pods=sorted({r.instance for r in recs if r.instance}), ended=None if active else last)


def scan_certificates(scan: Scan) -> None:
    """cert-manager Certificates (status.notAfter) and kubernetes.io/tls Secrets (the
    certificate's notAfter, objects.tls_secret_certificate); a Secret whose certificate
    is also a cert-manager Certificate's is read once."""
    managed = {(meta(c).get("namespace"), (c.get("spec") or {}).get("secretName")) for c in scan.platform.certificates
               if c.get("kind") != "Secret"}
    problems = scan.tel.meta.setdefault("source_errors", [])
    for cert in scan.platform.certificates:
        if cert.get("kind") == "Secret" and (meta(cert).get("namespace"), meta(cert).get("name")) in managed:
            continue
        if cert.get("problem"):
            if cert["problem"] not in problems:
                problems.append(cert["problem"])
            continue
        st = cert.get("status") or {}
        end = parse_time(st.get("notAfter"))
        if end is None:
            continue
        name = str(meta(cert).get("name"))
        left = (end - scan.now) / 86400
        if left <= CERT_WARN_DAYS:
            secret = (cert.get("spec") or {}).get("secretName", "")
            expired = left <= 0
            what = f"TLS secret {name}" if cert.get("kind") == "Secret" else f"certificate {name} (secret {secret})"
            scan.add(name, "cert_expiring", f"certificate/{name}", f"{what} "
                     + (f"expired at {day(end)}" if expired else f"expires at {day(end)}, in {left:.1f} days"),
                     8.0 if expired else 5.0, end if expired else None, True, namespace=meta(cert).get("namespace"),
                     not_after=end, days_left=round(left, 1), secret=secret)


# ---------------------------------------------------------------------------- entry point

def events_by_object(p: Platform) -> dict[tuple[str, str, str], list[PlatformEvent]]:
    out: dict[tuple[str, str, str], list[PlatformEvent]] = defaultdict(list)
    for e in p.events:
        out[(e.object_kind, e.namespace if e.object_kind != "Node" else "", e.object_name)].append(e)
    return out


MAX_PER_KIND = 20  # findings of one kind on one component beyond this are counted, not listed


def detect_platform(tel: Telemetry, next_id: Callable[[str], str], now: float | None = None) -> list[Finding]:
    """Every platform finding of the state, strongest first, ids K1, K2, ..."""
    if not tel.platform:
        return []
    scan = Scan(tel, now or tel.platform.captured_at or time.time())
    scan_pods(scan)
    scan_nodes(scan)
    scan_services(scan)
    scan_workloads(scan)
    scan_events(scan)
    scan_logs(scan)
    scan_certificates(scan)
    drafts = fold(scan.drafts)
    ruled = sorted((d for d in drafts if d.kind == "ruled_out"), key=lambda d: -(d.onset or 0.0))
    if len(ruled) > MAX_RULED_OUT:
        keep = ruled[:MAX_RULED_OUT]
        keep[-1].summary += f" (and {len(ruled) - MAX_RULED_OUT} more finished rollouts or recovered nodes, older)"
        drafts = [d for d in drafts if d.kind != "ruled_out"] + keep
    drafts.sort(key=lambda d: (d.kind == "ruled_out", not d.details.active, -d.score, d.component, d.signal))
    return [Finding(next_id("K"), SOURCE, d.component, d.signal, d.kind, d.summary, d.score, d.onset, d.details)
            for d in drafts]


def fold(drafts: list[Draft]) -> list[Draft]:
    """Many pods of one workload with the same fault become one finding that counts them."""
    groups: dict[tuple[str, str], list[Draft]] = defaultdict(list)
    for d in drafts:
        groups[(d.component, d.kind)].append(d)
    out = []
    for (comp, kind), items in groups.items():
        if len(items) == 1 or kind in ("ruled_out", "node_not_ready", "node_pressure"):
            out.extend(items)
            continue
        items.sort(key=lambda d: (not d.details.active, -d.score))
        head = items[0]
        pods = sorted({str(d.details.pod) for d in items if d.details.pod})
        onset = min((d.onset for d in items if d.onset is not None), default=head.onset)
        more = len(items) - 1
        head.summary += f" (and {more} more like it" + (f"; pods: {', '.join(pods[:5])}" if pods else "") + ")"
        head.details = replace(head.details, pods=pods, count=len(items), active=any(d.details.active for d in items))
        head.onset = onset
        head.score = head.score + min(3.0, 0.5 * more)
        out.append(head)
    return out
