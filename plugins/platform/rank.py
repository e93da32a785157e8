"""Root causes from platform findings, and how they join the telemetry ranking.

Per component the most specific fault decides its kind (a missing ConfigMap explains the
crash loop and the stuck rollout it causes). A node fault takes in the pods it hit: their
components' findings become its evidence. Faults active in the captured state rank before
the telemetry ranking's causes; faults that are over rank after them. Ruled-out findings
never become causes.
"""

from __future__ import annotations

from collections import defaultdict

from copilot.diagnosis import Finding, RootCause
from copilot.evidence import PlatformEvidence
from copilot.reasons import cited, reason

# Most specific first: the first kind a component shows is its fault kind.
SPECIFIC = (
    "node_not_ready", "node_pressure", "missing_config", "image_pull_error", "oom_killed", "quota_exceeded",
    "limit_range_refused", "pvc_unbound", "pod_unschedulable_resources", "pod_unschedulable_constraints", "pod_pending",
    "service_selector_mismatch", "cert_expiring", "tls_failure", "dns_failure", "probe_failure", "crash_loop", "pod_evicted", "job_failed",
    "hpa_at_max", "rollout_stuck", "replicas_unavailable", "container_restarts",
)
WHY = {  # kind -> why it is the cause (English, Chinese)
    "node_not_ready": ("its node stopped reporting Ready, so the pods on it are down or unreachable",
                       "它所在的节点不再上报 Ready，节点上的 Pod 已停止或无法访问"),
    "node_pressure": ("its node is under resource pressure and the kubelet evicts or starves pods",
                      "它所在的节点资源紧张，kubelet 在驱逐或饿死 Pod"),
    "missing_config": ("its containers cannot start: a ConfigMap or Secret they need does not exist",
                       "它的容器无法启动：所需的 ConfigMap 或 Secret 不存在"),
    "image_pull_error": ("its new pods cannot pull their image",
                         "它的新 Pod 无法拉取镜像"),
    "oom_killed": ("its container exceeds its memory limit and is OOMKilled",
                   "它的容器超出内存限制，被 OOMKilled"),
    "quota_exceeded": ("a ResourceQuota refuses its new pods",
                       "ResourceQuota 拒绝了它的新 Pod"),
    "limit_range_refused": ("a LimitRange refuses its pods at admission",
                            "LimitRange 在准入时拒绝了它的 Pod"),
    "pvc_unbound": ("its pods wait for a PersistentVolumeClaim that is not bound",
                    "它的 Pod 在等待一个未绑定的 PersistentVolumeClaim"),
    "pod_unschedulable_resources": ("the cluster has no node with enough free resources for its pods",
                                    "集群中没有空闲资源足够的节点来调度它的 Pod"),
    "pod_unschedulable_constraints": ("no node satisfies its pods' taints, affinity or node selector",
                                      "没有节点满足它的 Pod 的污点容忍、亲和性或节点选择器"),
    "pod_pending": ("its pods are not scheduled",
                    "它的 Pod 未被调度"),
    "cert_expiring": ("its certificate is expired or about to expire",
                      "它的证书已过期或即将过期"),
    "tls_failure": ("its TLS handshakes fail (certificate problems)",
                    "它的 TLS 握手失败（证书问题）"),
    "dns_failure": ("its DNS lookups fail",
                    "它的 DNS 解析失败"),
    "probe_failure": ("its health probes fail and the kubelet restarts or unreadies it",
                      "它的健康探针失败，kubelet 重启它或将其标记为未就绪"),
    "crash_loop": ("its container keeps crashing and restarting",
                   "它的容器反复崩溃重启"),
    "pod_evicted": ("its pods were evicted by node pressure",
                    "它的 Pod 因节点资源压力被驱逐"),
    "job_failed": ("its job failed",
                   "它的 Job 失败"),
    "hpa_at_max": ("its autoscaler is at its maximum replicas while load is above target",
                   "它的自动扩缩容已到最大副本数，而负载仍高于目标"),
    "rollout_stuck": ("its rollout does not progress",
                      "它的发布没有进展"),
    "service_selector_mismatch": ("its Service selects no pod, so it has no endpoints and its callers cannot connect",
                                  "它的 Service 选不中任何 Pod，没有端点，调用方无法连接"),
    "replicas_unavailable": ("some of its replicas are not ready",
                             "它的部分副本未就绪"),
    "container_restarts": ("its container restarted",
                           "它的容器发生了重启"),
}
ACTIVE_WEIGHT, ENDED_WEIGHT = 2.0, 0.4


def is_cause(f: Finding) -> bool:
    return f.source == "platform" and f.kind != "ruled_out" and bool(f.details.fault_kind)


def _platform(f: Finding) -> PlatformEvidence:
    """A platform finding's evidence (an empty one for a finding of another kind)."""
    return f.details if isinstance(f.details, PlatformEvidence) else PlatformEvidence()


def platform_causes(findings: list[Finding]) -> list[tuple[RootCause, bool, float]]:
    """(root cause, active, weight) per component with platform faults, strongest first."""
    faults = [f for f in findings if is_cause(f)]
    by_comp: dict[str, list[Finding]] = defaultdict(list)
    for f in faults:
        by_comp[f.component].append(f)
    # a node fault takes in the components whose pods run on it
    absorbed: dict[str, str] = {}
    for f in faults:
        if f.kind in ("node_not_ready", "node_pressure"):
            pods = set(_platform(f).pods or [])
            for g in faults:
                if g.component != f.component and (_platform(g).pod in pods or _platform(g).node == f.component):
                    absorbed.setdefault(g.component, f.component)
    for victim, node in absorbed.items():
        if victim in by_comp and not any(g.details.active and g.kind in SPECIFIC[:8] for g in by_comp[victim]
                                         if g.kind not in ("pod_evicted", "replicas_unavailable", "crash_loop")):
            by_comp[node].extend(by_comp.pop(victim))
    out = []
    for comp, items in by_comp.items():
        own = [f for f in items if f.component == comp] or items
        own.sort(key=lambda f: (SPECIFIC.index(f.kind) if f.kind in SPECIFIC else len(SPECIFIC), not f.details.active))
        lead = own[0]
        active = any(f.details.active for f in items)
        weight = sum(f.score for f in items) * (ACTIVE_WEIGHT if active else ENDED_WEIGHT)
        ordered = [lead] + sorted((f for f in items if f is not lead), key=lambda f: -f.score)
        en, zh = WHY.get(lead.kind, (lead.kind.replace("_", " "), ""))
        over = {} if active else dict(zip(("over", "over_zh"), _ended(items)))
        reasons: list[str] = [reason("cause_text", component=comp, text=en, text_zh=zh, **over)]
        reasons += [cited(f.id, f.summary) for f in ordered[:4]]
        out.append((RootCause(comp, lead.kind, 0.0, [f.id for f in ordered][:10], reasons), active, weight))
    out.sort(key=lambda x: (not x[1], -x[2], x[0].component))
    return out


def _ended(items: list[Finding]) -> tuple[str, str]:
    """When a platform cause that is over was last seen (English, Chinese), in the run's zone."""
    from copilot.timefmt import hhmm, zone_tag

    ends = [end for f in items if isinstance(end := f.details.ended, (int, float))]
    if not ends:
        return "not seen in the current state", "当前状态中已不存在"
    at = f"{hhmm(max(ends))} {zone_tag(max(ends))}"
    return f"last seen {at}", f"最后出现于 {at}"


def combine(findings: list[Finding], telemetry_causes: list[RootCause], top_k: int = 5) -> list[RootCause]:
    """Active platform causes, then the telemetry ranking's (a component already named by the
    platform gets their evidence instead), then platform causes that are over."""
    plat = platform_causes(findings)
    if not plat:
        return telemetry_causes
    named = {rc.component: rc for rc, _, _ in plat}
    merged_tel = []
    for rc in telemetry_causes:
        if rc.component in named:
            mine = named[rc.component]
            mine.evidence += [e for e in rc.evidence if e not in mine.evidence][:4]
            mine.reasons += [r for r in rc.reasons[1:3] if r not in mine.reasons]
        else:
            merged_tel.append(rc)
    active = [x for x in plat if x[1]]
    ended = [x for x in plat if not x[1]]
    total_p = sum(w for _, _, w in active) or 1.0
    out: list[RootCause] = []
    share = 0.8 if active else 0.0
    for rc, _, w in active:
        rc.confidence = round(share * w / total_p, 3)
        out.append(rc)
    rest = 1.0 - share
    tel_total = sum(rc.confidence for rc in merged_tel) or 1.0
    tel_share = rest * (0.8 if ended else 1.0) if merged_tel else 0.0
    for rc in merged_tel:
        rc.confidence = round(tel_share * rc.confidence / tel_total, 3)
        out.append(rc)
    total_e = sum(w for _, _, w in ended) or 1.0
    for rc, _, w in ended:
        rc.confidence = round((rest - tel_share) * w / total_e, 3)
        out.append(rc)
    return out[:top_k]
