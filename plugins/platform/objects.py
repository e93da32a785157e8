"""Kubernetes objects, as `kubectl get -o json` and the API print them, into a `Platform`.

A document is one object, a `List` (`kubectl get pods,events -A -o json`) or a typed list
(`PodList`, `EventList`, as `kubectl cluster-info dump` writes). Events come in two shapes:
core/v1 (`involvedObject`, `lastTimestamp`, `count`) and events.k8s.io/v1 (`regarding`,
`note`, `eventTime`, `series`, `deprecated*`); both become `PlatformEvent`.

A pod belongs to the workload its owner references lead to (Pod -> ReplicaSet ->
Deployment, Pod -> StatefulSet, Pod -> Job -> CronJob): that workload is the component.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterable

from copilot.plugins.telemetry.model import PLATFORM_KINDS, ChangeEvent, Platform, PlatformEvent

FIELD_OF_KIND = {kind: name for name, kinds in PLATFORM_KINDS.items() for kind in kinds}
REVISION = "deployment.kubernetes.io/revision"


def parse_time(value: Any) -> float | None:
    """RFC 3339 (`2024-06-03T10:26:00Z`) and MicroTime (`...00.123456Z`) as unix seconds."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def key(obj: dict[str, Any]) -> str:
    m = meta(obj)
    return f"{m.get('namespace') or ''}/{m.get('name') or ''}"


def items_of(doc: Any) -> Iterable[dict[str, Any]]:
    """The objects of one JSON document: a List, a typed list, or one object."""
    if not isinstance(doc, dict):
        return []
    if isinstance(doc.get("items"), list):
        kind = str(doc.get("kind") or "")
        item_kind = kind[:-4] if kind.endswith("List") and kind != "List" else ""
        out = []
        for item in doc["items"]:
            if isinstance(item, dict):
                if item_kind and not item.get("kind"):
                    item = {**item, "kind": item_kind}  # the API leaves `kind` out of list items
                out.append(item)
        return out
    return [doc] if doc.get("kind") else []


def is_kubernetes(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    kind = str(doc.get("kind") or "")
    return bool(doc.get("apiVersion")) and (kind in FIELD_OF_KIND or kind == "Event" or kind.endswith("List"))


def add_objects(platform: Platform, objects: Iterable[dict[str, Any]]) -> int:
    """File every object under its kind; returns how many were kept (unknown kinds are skipped)."""
    kept = 0
    for obj in objects:
        kind = str(obj.get("kind") or "")
        if kind == "Event":
            event = to_event(obj)
            if event is not None:
                platform.events.append(event)
                kept += 1
            continue
        if kind == "Secret":  # only TLS Secrets, and only their certificate's expiry is kept
            if obj.get("type") == "kubernetes.io/tls":
                platform.certificates.append(tls_secret_certificate(obj))
                kept += 1
            continue
        name = FIELD_OF_KIND.get(kind)
        if name:
            getattr(platform, name).append(obj)
            kept += 1
    return kept


def tls_secret_certificate(obj: dict[str, Any]) -> dict[str, Any]:
    """A `kubernetes.io/tls` Secret as a certificate record: its name and the notAfter of
    the first certificate in `tls.crt`, read with the optional `cryptography` package.
    The Secret's data (the private key above all) is not kept. When the certificate
    cannot be read, `problem` says why in one line."""
    import base64
    import binascii

    m = meta(obj)
    where = f"TLS Secret {m.get('namespace', '')}/{m.get('name', '')}"
    record: dict[str, Any] = {"kind": "Secret", "metadata": {k: m[k] for k in ("name", "namespace", "uid") if k in m},
                              "spec": {"secretName": m.get("name", "")}, "status": {}}
    encoded = (obj.get("data") or {}).get("tls.crt") or ""
    try:
        pem = base64.b64decode(encoded, validate=True) if encoded else b""
    except (binascii.Error, ValueError):
        pem = b""
    if not pem:
        record["problem"] = f"{where}: data.tls.crt is missing or not base64; its expiry is unknown"
        return record
    try:
        from cryptography import x509
    except ImportError:
        record["problem"] = (f"{where}: reading certificate expiry from TLS Secrets needs the `cryptography` package "
                             "(pip install cryptography); cert-manager Certificates are still read")
        return record
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        record["problem"] = f"{where}: tls.crt is not a PEM certificate ({exc}); its expiry is unknown"
        return record
    record["status"]["notAfter"] = cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    return record


def to_event(obj: dict[str, Any]) -> PlatformEvent | None:
    """A core/v1 or events.k8s.io/v1 Event; None when it names no time at all."""
    m = meta(obj)
    if "regarding" in obj or "note" in obj or str(obj.get("apiVersion", "")).startswith("events.k8s.io"):
        about = obj.get("regarding") or {}
        series = obj.get("series") or {}
        last = (parse_time(series.get("lastObservedTime")) or parse_time(obj.get("deprecatedLastTimestamp"))
                or parse_time(obj.get("eventTime")) or parse_time(m.get("creationTimestamp")))
        first = parse_time(obj.get("deprecatedFirstTimestamp")) or parse_time(obj.get("eventTime"))
        count = int(series.get("count") or obj.get("deprecatedCount") or 1)
        message = str(obj.get("note") or "")
        source = str(obj.get("reportingController") or (obj.get("deprecatedSource") or {}).get("component") or "")
    else:
        about = obj.get("involvedObject") or {}
        last = (parse_time(obj.get("lastTimestamp")) or parse_time(obj.get("eventTime"))
                or parse_time((obj.get("series") or {}).get("lastObservedTime")) or parse_time(m.get("creationTimestamp")))
        first = parse_time(obj.get("firstTimestamp")) or parse_time(obj.get("eventTime"))
        count = int(obj.get("count") or (obj.get("series") or {}).get("count") or 1)
        message = str(obj.get("message") or "")
        source = str((obj.get("source") or {}).get("component") or obj.get("reportingComponent") or "")
    if last is None:
        return None
    return PlatformEvent(last, str(about.get("namespace") or m.get("namespace") or ""), str(about.get("kind") or ""),
                         str(about.get("name") or ""), str(obj.get("reason") or ""), message.strip(),
                         str(obj.get("type") or "Normal"), max(1, count), first, source)


_HASH = re.compile(r"-[a-z0-9]{5}$")


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    refs = [r for r in meta(obj).get("ownerReferences") or [] if isinstance(r, dict)]
    return next((r for r in refs if r.get("controller")), refs[0] if refs else None)


class Owners:
    """Who owns what: pods to their workload (the component), through ReplicaSets and Jobs."""

    def __init__(self, platform: Platform) -> None:
        self.rs = {key(o): o for o in platform.replicasets}
        self.jobs = {key(o): o for o in platform.jobs}

    def workload(self, pod: dict[str, Any]) -> tuple[str, str]:
        """(kind, name) of the workload that owns the pod; (Pod, name) for a bare pod."""
        m = meta(pod)
        ns, name = m.get("namespace") or "", str(m.get("name") or "")
        ref = controller_of(pod)
        if ref is None:
            return "Pod", name
        kind, owner = str(ref.get("kind") or ""), str(ref.get("name") or "")
        if kind == "ReplicaSet":
            rs = self.rs.get(f"{ns}/{owner}")
            up = controller_of(rs) if rs else None
            if up:
                return str(up.get("kind")), str(up.get("name"))
            hash_ = (m.get("labels") or {}).get("pod-template-hash")
            if hash_ and owner.endswith("-" + hash_):
                return "Deployment", owner[: -len(hash_) - 1]
            return "ReplicaSet", owner
        if kind == "Job":
            job = self.jobs.get(f"{ns}/{owner}")
            up = controller_of(job) if job else None
            if up and up.get("kind") == "CronJob":
                return "CronJob", str(up.get("name"))
            return "Job", owner
        if kind == "Node":  # a static pod: its name ends with the node's
            return "Pod", name[: -len(owner) - 1] if name.endswith("-" + owner) else name
        return kind, owner

    def component(self, pod: dict[str, Any]) -> str:
        return self.workload(pod)[1]

    def of_replicaset(self, rs: dict[str, Any]) -> str:
        up = controller_of(rs)
        return str(up.get("name")) if up else str(meta(rs).get("name") or "")


def resolve_owners(platform: Platform) -> None:
    """Fill `platform.owners` ("namespace/pod" -> component) from the pods' owner references."""
    owners = Owners(platform)
    for pod in platform.pods:
        platform.owners[key(pod)] = owners.component(pod)


def component_of(platform: Platform, kind: str, namespace: str, name: str) -> str:
    """The component an object (or an event about it) belongs to."""
    if kind == "Pod":
        found = platform.owners.get(f"{namespace}/{name}")
        if found:
            return found
        return _HASH.sub("", re.sub(r"-[a-f0-9]{8,10}(?=-[a-z0-9]{5}$)", "", name))
    if kind == "ReplicaSet":
        for rs in platform.replicasets:
            if key(rs) == f"{namespace}/{name}":
                return Owners(platform).of_replicaset(rs)
        return re.sub(r"-[a-f0-9]{8,10}$", "", name)
    return name


def rollout_changes(platform: Platform) -> list[ChangeEvent]:
    """Rollouts as change events: each ReplicaSet revision of a Deployment (its creation),
    and each Deployment's Progressing condition (the rollout's state, when it last moved)."""
    out: list[ChangeEvent] = []
    owners = Owners(platform)
    for rs in platform.replicasets:
        m = meta(rs)
        ref = controller_of(rs)
        if not ref or ref.get("kind") != "Deployment":
            continue
        created = parse_time(m.get("creationTimestamp"))
        if created is None:
            continue
        revision = (m.get("annotations") or {}).get(REVISION, "?")
        images = ", ".join(str(c.get("image")) for c in containers(rs.get("spec", {}).get("template", {})) if c.get("image"))
        out.append(ChangeEvent(created, owners.of_replicaset(rs), "deploy",
                               f"rollout revision {revision}: ReplicaSet {m.get('name')}" + (f" ({images})" if images else ""),
                               id=f"rs/{m.get('namespace')}/{m.get('name')}"))
    for d in platform.deployments:
        m = meta(d)
        for cond in (d.get("status") or {}).get("conditions") or []:
            if cond.get("type") != "Progressing":
                continue
            at = parse_time(cond.get("lastUpdateTime")) or parse_time(cond.get("lastTransitionTime"))
            if at is None:
                continue
            out.append(ChangeEvent(at, str(m.get("name")), "rollout",
                                   f"rollout {cond.get('reason')}: {cond.get('message', '')}".strip(),
                                   id=f"deploy/{m.get('namespace')}/{m.get('name')}/{cond.get('reason')}"))
    for e in platform.events:
        if e.reason == "ScalingReplicaSet" or (e.object_kind == "HorizontalPodAutoscaler" and e.reason == "SuccessfulRescale"):
            out.append(ChangeEvent(e.timestamp, e.object_name, "scale", e.message,
                                   id=f"event/{e.namespace}/{e.object_name}/{e.reason}/{int(e.timestamp)}"))
    return out


def containers(template_or_pod: dict[str, Any]) -> list[dict[str, Any]]:
    spec = template_or_pod.get("spec") or {}
    return [c for c in (spec.get("containers") or []) if isinstance(c, dict)]


def latest_time(platform: Platform) -> float | None:
    """The latest time the state itself names (the moment it was saved, at the earliest)."""
    times: list[float] = [e.timestamp for e in platform.events]
    for pod in platform.pods:
        times += _pod_times(pod)
    for node in platform.nodes:
        times += _condition_times(node, "lastHeartbeatTime")
    for name in ("deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "hpas", "pvcs"):
        for obj in getattr(platform, name):
            t = parse_time(meta(obj).get("creationTimestamp"))
            if t:
                times.append(t)
            times += _condition_times(obj, "lastUpdateTime")
    return max(times) if times else None


def _condition_times(obj: dict[str, Any], first: str) -> list[float]:
    """Each status condition's `first` time, or else its lastTransitionTime."""
    times: list[float] = []
    for cond in (obj.get("status") or {}).get("conditions") or []:
        t = parse_time(cond.get(first)) or parse_time(cond.get("lastTransitionTime"))
        if t:
            times.append(t)
    return times


def _pod_times(pod: dict[str, Any]) -> list[float]:
    """A pod's condition transitions and its containers' start and finish times."""
    status = pod.get("status") or {}
    times: list[float] = []
    for cond in status.get("conditions") or []:
        t = parse_time(cond.get("lastTransitionTime"))
        if t:
            times.append(t)
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        for state in (cs.get("state") or {}, cs.get("lastState") or {}):
            for detail in state.values():
                if isinstance(detail, dict):
                    times += [t for t in (parse_time(detail.get("startedAt")), parse_time(detail.get("finishedAt"))) if t]
    return times
