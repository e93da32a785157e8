"""The fault catalogue: each canonical fault kind, named in English and Chinese, with the
expected signature and the standard mitigation (the seed talk's 故障分类 table, extended).
The knowledge base holds richer, editable experience; this is the built-in floor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FaultInfo:
    kind: str
    name_en: str
    name_zh: str
    signature_en: str
    mitigation_en: str
    mitigation_zh: str
    improvement_en: str
    improvement_zh: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en

    def mitigation(self, lang: str) -> str:
        return self.mitigation_zh if lang == "zh" else self.mitigation_en

    def improvement(self, lang: str) -> str:
        return self.improvement_zh if lang == "zh" else self.improvement_en


CATALOGUE: dict[str, FaultInfo] = {
    f.kind: f
    for f in (
        FaultInfo(
            "traffic_surge", "traffic surge", "流量异常",
            "request rate at the entry rises sharply; latency and CPU follow downstream",
            "Apply rate limiting at the gateway and scale out the hot services.",
            "在网关处限流，并对热点服务扩容。",
            "Set per-client quotas and autoscaling on request rate.",
            "为调用方设置配额，并基于请求量配置自动扩缩容。",
        ),
        FaultInfo(
            "disk_full", "disk full", "磁盘空间不足",
            "disk usage climbs to near 100%; writes fail with 'No space left on device'",
            "Clean up redundant files (old logs, dumps) and expand the volume.",
            "清理冗余文件（旧日志、转储文件），并扩容磁盘。",
            "Add log rotation and alert on disk usage above 80%.",
            "配置日志轮转，并在磁盘使用率超过80%时告警。",
        ),
        FaultInfo(
            "cpu_saturation", "CPU saturation", "CPU利用率过高",
            "CPU usage of one stateless service jumps and stays high; its latency rises",
            "Restart the stateless service (or move it off the busy host) and find the hot code path.",
            "重启该无状态服务（或迁移到空闲节点），并排查热点代码。",
            "Set CPU limits and autoscaling; profile the service under load.",
            "设置CPU限额与自动扩缩容，对服务进行压测与性能剖析。",
        ),
        FaultInfo(
            "jvm_gc", "JVM GC pressure", "JAVA进程GC异常",
            "GC count and pause time rise on a JVM service; latency spikes in step with pauses",
            "Tune GC parameters (heap size, collector) and restart the JVM; look for allocation hot spots.",
            "调整GC参数（堆大小、垃圾回收器）并重启JVM，排查大对象分配热点。",
            "Alert on GC pause time and old-generation occupancy.",
            "对GC停顿时间和老年代占用配置告警。",
        ),
        FaultInfo(
            "memory_leak", "memory leak", "内存泄漏",
            "memory usage grows steadily without falling back; eventually OOM kills or restarts",
            "Restart the service to reclaim memory and roll back the change that introduced the leak.",
            "重启服务释放内存，并回滚引入泄漏的变更。",
            "Set memory limits and alert on sustained growth; take heap profiles in staging.",
            "设置内存限额并对持续增长告警；在预发环境采集堆分析。",
        ),
        FaultInfo(
            "network_delay", "network delay", "网络延迟",
            "latency of calls into one component rises while its CPU stays normal",
            "Move traffic away from the slow node or link and check the network path.",
            "将流量切离慢节点或链路，检查网络路径。",
            "Monitor per-link RTT and set timeouts with retries and budgets.",
            "监控链路RTT，设置合理的超时、重试与预算。",
        ),
        FaultInfo(
            "network_loss", "network packet loss", "网络丢包",
            "errors, timeouts and retransmissions on calls into one component; lost spans",
            "Drain the faulty node or link and check NICs, switches and security groups.",
            "摘除故障节点或链路，检查网卡、交换机与安全组。",
            "Monitor retransmission and drop counters per host.",
            "按主机监控重传与丢包计数。",
        ),
        FaultInfo(
            "code_exception", "code exception", "代码异常",
            "new error log templates and exception bursts in one service; failed spans start there",
            "Roll back the latest deploy of the service and fix the failing code path.",
            "回滚该服务的最近一次发布，并修复出错的代码路径。",
            "Add canary releases and error-rate gates to deploys.",
            "发布时引入金丝雀与错误率门禁。",
        ),
        FaultInfo(
            "unknown", "unknown fault", "未知故障",
            "anomalies that match no known fault signature",
            "Contain the impact (fail over, roll back recent changes) and investigate the strongest anomaly.",
            "先止损（切流、回滚近期变更），再排查最显著的异常。",
            "Record this incident in the knowledge base once understood.",
            "定位清楚后将本次故障沉淀到知识库。",
        ),
    )
}


def _platform(kind: str, en: str, zh: str, signature: str, now_en: str, now_zh: str, later_en: str, later_zh: str) -> FaultInfo:
    return FaultInfo(kind, en, zh, signature, now_en, now_zh, later_en, later_zh)


# Kubernetes faults (plugins/platform/detect.py). Commands are proposed for an engineer to
# run; the copilot never runs them.
PLATFORM: tuple[FaultInfo, ...] = (
    _platform("oom_killed", "container OOMKilled", "容器内存超限被杀（OOMKilled）",
              "containers terminated with reason OOMKilled (exit code 137) at their memory limit",
              "Raise the container's memory limit or roll back the change that grew memory: "
              "`kubectl -n NS set resources deploy/NAME --limits=memory=1Gi`, then watch `kubectl -n NS get pods -w`.",
              "提高容器内存上限或回滚导致内存增长的变更：`kubectl -n NS set resources deploy/NAME --limits=memory=1Gi`，"
              "再用 `kubectl -n NS get pods -w` 观察。",
              "Size limits from observed peak usage (VPA recommendations) and alert on memory above 90% of the limit.",
              "依据实际峰值（VPA建议）设置内存上限，并在内存超过上限90%时告警。"),
    _platform("crash_loop", "container crash loop", "容器反复崩溃（CrashLoopBackOff）",
              "a container exits non-zero again and again; the kubelet backs off restarting it",
              "Read why it exits: `kubectl -n NS logs POD --previous` and `kubectl -n NS describe pod POD`; "
              "roll back the last rollout if it started then: `kubectl -n NS rollout undo deploy/NAME`.",
              "查看退出原因：`kubectl -n NS logs POD --previous` 与 `kubectl -n NS describe pod POD`；"
              "若始于最近发布则回滚：`kubectl -n NS rollout undo deploy/NAME`。",
              "Gate rollouts on readiness and error rate; keep startup failures explicit in logs.",
              "发布以就绪与错误率为门禁；启动失败要在日志中明确输出原因。"),
    _platform("container_restarts", "container restarts", "容器重启", "a container restarted; now running",
              "Check the last termination: `kubectl -n NS describe pod POD` and `kubectl -n NS logs POD --previous`.",
              "查看上次退出原因：`kubectl -n NS describe pod POD` 与 `kubectl -n NS logs POD --previous`。",
              "Alert on restart rate rather than single restarts.", "对重启速率而非单次重启告警。"),
    _platform("image_pull_error", "image pull failure", "镜像拉取失败",
              "new pods wait in ImagePullBackOff / ErrImagePull: the image tag does not exist or the registry refuses",
              "Fix the image reference or registry credentials, or roll back: `kubectl -n NS rollout undo deploy/NAME`; "
              "check `kubectl -n NS describe pod POD` for the registry's answer.",
              "修正镜像地址或仓库凭据，或回滚：`kubectl -n NS rollout undo deploy/NAME`；"
              "用 `kubectl -n NS describe pod POD` 查看仓库返回的错误。",
              "Verify images exist before rollout (CI pushes, then deploys by digest); monitor imagePullSecrets expiry.",
              "发布前校验镜像存在（CI推送后按digest发布），监控imagePullSecrets有效期。"),
    _platform("missing_config", "missing ConfigMap or Secret", "缺少 ConfigMap 或 Secret",
              "containers stay in CreateContainerConfigError: a referenced ConfigMap/Secret or key does not exist",
              "Create the missing object or fix the reference: `kubectl -n NS get configmap,secret`, "
              "`kubectl -n NS describe pod POD`; or roll back the rollout that referenced it.",
              "创建缺失的对象或修正引用：`kubectl -n NS get configmap,secret`、`kubectl -n NS describe pod POD`；"
              "或回滚引用它的发布。",
              "Ship ConfigMaps and Secrets with the workload (one release) and validate references in CI.",
              "ConfigMap/Secret 与工作负载一同发布，并在CI中校验引用。"),
    _platform("pod_pending", "pods pending", "Pod Pending", "pods are not scheduled",
              "Read the scheduler's reason: `kubectl -n NS describe pod POD` (Events) and `kubectl get events -A "
              "--field-selector reason=FailedScheduling`.",
              "查看调度失败原因：`kubectl -n NS describe pod POD`（Events）与 `kubectl get events -A "
              "--field-selector reason=FailedScheduling`。",
              "Alert on pods pending longer than a few minutes.", "对长时间 Pending 的 Pod 告警。"),
    _platform("pod_unschedulable_resources", "pods pending: cluster resources short", "Pod Pending：集群资源不足",
              "FailedScheduling: Insufficient cpu/memory or too many pods on every node",
              "Add capacity (nodes or node-pool size) or lower the pods' requests; see free capacity with "
              "`kubectl describe nodes | grep -A5 Allocated`.",
              "为集群扩容（增加节点或节点池规模）或降低 Pod 的 requests；用 "
              "`kubectl describe nodes | grep -A5 Allocated` 查看剩余容量。",
              "Run the cluster autoscaler and alert on allocatable headroom.", "启用集群自动扩缩容，并对可分配余量告警。"),
    _platform("pod_unschedulable_constraints", "pods pending: no node fits the constraints", "Pod Pending：调度约束无法满足",
              "FailedScheduling: untolerated taints, node affinity/selector or anti-affinity exclude every node",
              "Fix the pod's tolerations, nodeSelector or affinity, or label/untaint nodes: "
              "`kubectl get nodes --show-labels`, `kubectl describe node NODE | grep Taints`.",
              "修正 Pod 的容忍、nodeSelector 或亲和性，或调整节点标签/污点：`kubectl get nodes --show-labels`、"
              "`kubectl describe node NODE | grep Taints`。",
              "Validate scheduling constraints against the node pools in CI.", "在CI中用节点池校验调度约束。"),
    _platform("pvc_unbound", "PersistentVolumeClaim not bound", "PVC 未绑定",
              "pods wait for a PersistentVolumeClaim that stays Pending (provisioning fails)",
              "Check the claim and its StorageClass: `kubectl -n NS describe pvc PVC`, `kubectl get storageclass`; "
              "fix the class or provisioner.",
              "检查存储卷声明及其 StorageClass：`kubectl -n NS describe pvc PVC`、`kubectl get storageclass`，修复存储类或供应器。",
              "Alert on PVCs pending longer than a few minutes.", "对长时间 Pending 的 PVC 告警。"),
    _platform("quota_exceeded", "ResourceQuota exceeded", "超出 ResourceQuota 配额",
              "FailedCreate: exceeded quota; the ReplicaSet cannot create pods",
              "Raise the namespace quota or free usage: `kubectl -n NS describe resourcequota`.",
              "提高命名空间配额或释放占用：`kubectl -n NS describe resourcequota`。",
              "Alert on quota usage above 80%.", "对配额使用率超过80%告警。"),
    _platform("limit_range_refused", "LimitRange refusal", "LimitRange 拒绝",
              "FailedCreate: the pod's requests/limits break the namespace's LimitRange",
              "Fit the pod's resources to the LimitRange: `kubectl -n NS describe limitrange`.",
              "按 LimitRange 调整 Pod 资源：`kubectl -n NS describe limitrange`。",
              "Validate resources against LimitRanges in CI.", "在CI中按 LimitRange 校验资源配置。"),
    _platform("probe_failure", "failing health probes", "健康检查探针失败",
              "Unhealthy events: liveness/readiness probes fail; the kubelet restarts or unreadies the pod",
              "Check the probe's endpoint and timing: `kubectl -n NS describe pod POD`; loosen timeoutSeconds/"
              "failureThreshold if the app is slow to answer, or fix the endpoint.",
              "检查探针地址与时序：`kubectl -n NS describe pod POD`；应用响应慢时放宽 timeoutSeconds/failureThreshold，或修复探针接口。",
              "Keep liveness probes cheap and independent of dependencies; add startup probes for slow starts.",
              "存活探针保持轻量且不依赖下游；启动慢的服务加 startupProbe。"),
    _platform("pod_evicted", "pods evicted", "Pod 被驱逐", "pods failed with reason Evicted under node pressure",
              "Find the node's pressure and the heavy pods: `kubectl describe node NODE`, `kubectl top pods -A "
              "--sort-by=memory`; set requests close to real usage.",
              "查看节点压力与占用大的 Pod：`kubectl describe node NODE`、`kubectl top pods -A --sort-by=memory`；"
              "让 requests 贴近实际用量。",
              "Set requests and limits on every workload; alert on node pressure.", "所有工作负载设置 requests/limits，并对节点压力告警。"),
    _platform("node_not_ready", "node NotReady", "节点 NotReady",
              "a node's Ready condition is False/Unknown; its pods are unreachable or being evicted",
              "Cordon and drain the node, check the kubelet: `kubectl cordon NODE`, `kubectl drain NODE "
              "--ignore-daemonsets --delete-emptydir-data`, `kubectl describe node NODE`.",
              "隔离并驱逐该节点上的负载，检查 kubelet：`kubectl cordon NODE`、`kubectl drain NODE "
              "--ignore-daemonsets --delete-emptydir-data`、`kubectl describe node NODE`。",
              "Spread replicas across nodes and zones (PodDisruptionBudgets, topology spread).",
              "副本跨节点与可用区分布（PDB、拓扑分布约束）。"),
    _platform("node_pressure", "node resource pressure", "节点资源压力",
              "a node reports MemoryPressure, DiskPressure or PIDPressure",
              "Relieve the node: `kubectl describe node NODE`, `kubectl top pods -A --sort-by=memory`; clean images "
              "or logs for disk pressure; move heavy pods away.",
              "缓解节点压力：`kubectl describe node NODE`、`kubectl top pods -A --sort-by=memory`；"
              "磁盘压力时清理镜像或日志，迁走高占用的 Pod。",
              "Reserve system resources (kube-reserved) and alert on node pressure.", "配置系统预留资源并对节点压力告警。"),
    _platform("rollout_stuck", "rollout stuck", "发布卡住",
              "a Deployment's new ReplicaSet never becomes ready (ProgressDeadlineExceeded)",
              "See why the new pods are not ready: `kubectl -n NS rollout status deploy/NAME`, `kubectl -n NS describe "
              "rs NEW_RS`; roll back: `kubectl -n NS rollout undo deploy/NAME`.",
              "查看新 Pod 未就绪的原因：`kubectl -n NS rollout status deploy/NAME`、`kubectl -n NS describe rs NEW_RS`；"
              "回滚：`kubectl -n NS rollout undo deploy/NAME`。",
              "Use progress deadlines with automatic rollback in the delivery pipeline.", "在交付流水线中配置进度超时与自动回滚。"),
    _platform("replicas_unavailable", "replicas unavailable", "副本不可用", "a workload has fewer ready replicas than desired",
              "`kubectl -n NS get pods -l app=NAME -o wide` and describe the unready ones.",
              "`kubectl -n NS get pods -l app=NAME -o wide`，并 describe 未就绪的 Pod。",
              "Alert on available replicas below desired.", "对可用副本数低于期望值告警。"),
    _platform("job_failed", "job failed", "Job 失败", "a Job reached its backoff limit or deadline",
              "`kubectl -n NS describe job JOB` and `kubectl -n NS logs job/JOB`.",
              "`kubectl -n NS describe job JOB` 与 `kubectl -n NS logs job/JOB`。",
              "Alert on failed jobs; make jobs idempotent so a rerun is safe.", "对失败的 Job 告警；让任务幂等以便安全重跑。"),
    _platform("hpa_at_max", "autoscaler at maximum", "HPA 已达最大副本",
              "the HPA's current replicas equal maxReplicas while utilisation stays above target",
              "Raise maxReplicas if the cluster has room (`kubectl -n NS patch hpa NAME -p '{\"spec\":{\"maxReplicas\":N}}'`) "
              "or shed load at the entry; check `kubectl -n NS describe hpa NAME`.",
              "集群有余量时提高 maxReplicas（`kubectl -n NS patch hpa NAME -p '{\"spec\":{\"maxReplicas\":N}}'`），"
              "或在入口限流；查看 `kubectl -n NS describe hpa NAME`。",
              "Plan capacity for peak traffic; alert when an HPA sits at its maximum.", "按峰值规划容量；HPA 触顶时告警。"),
    _platform("dns_failure", "DNS resolution failures", "DNS 解析失败",
              "logs show 'no such host' / 'Temporary failure in name resolution' for in-cluster or external names",
              "Check CoreDNS and the name: `kubectl -n kube-system get pods -l k8s-app=kube-dns`, `kubectl -n kube-system "
              "logs -l k8s-app=kube-dns`, `kubectl -n NS get svc NAME`.",
              "检查 CoreDNS 与被解析的名字：`kubectl -n kube-system get pods -l k8s-app=kube-dns`、"
              "`kubectl -n kube-system logs -l k8s-app=kube-dns`、`kubectl -n NS get svc NAME`。",
              "Monitor CoreDNS errors and latency; use NodeLocal DNSCache.", "监控 CoreDNS 错误与延迟；启用 NodeLocal DNSCache。"),
    _platform("tls_failure", "TLS failures", "TLS 握手失败",
              "logs show x509 / certificate expired / unknown authority / handshake failures",
              "Check the certificate the peer presents and its chain; renew or fix the CA bundle: "
              "`kubectl -n NS get certificate,secret`, `kubectl -n NS describe certificate NAME`.",
              "检查对端证书及其证书链，续期或修正 CA：`kubectl -n NS get certificate,secret`、"
              "`kubectl -n NS describe certificate NAME`。",
              "Automate renewal (cert-manager) and alert 14 days before expiry.", "自动续期（cert-manager），到期前14天告警。"),
    _platform("service_selector_mismatch", "Service selects no pod", "Service 选择器匹配不到 Pod",
              "a Service has no endpoints because its selector matches no pod's labels",
              "Compare the selector with the pods' labels and fix one of them: `kubectl -n NS get svc NAME -o "
              "jsonpath='{.spec.selector}'`, `kubectl -n NS get pods --show-labels`, `kubectl -n NS get endpoints NAME`.",
              "对比 Service 的选择器与 Pod 标签并修正其一：`kubectl -n NS get svc NAME -o jsonpath='{.spec.selector}'`、"
              "`kubectl -n NS get pods --show-labels`、`kubectl -n NS get endpoints NAME`。",
              "Validate Service selectors against the workload's labels in CI; alert on Services without endpoints.",
              "在CI中校验 Service 选择器与工作负载标签一致；对没有端点的 Service 告警。"),
    _platform("cert_expiring", "certificate expiring", "证书即将过期",
              "a certificate's notAfter is within days (or past)",
              "Renew it now: `kubectl -n NS describe certificate NAME`; with cert-manager, "
              "`cmctl renew NAME -n NS`.",
              "立即续期：`kubectl -n NS describe certificate NAME`；使用 cert-manager 时执行 `cmctl renew NAME -n NS`。",
              "Alert 14 days before expiry; check that renewal actually runs.", "到期前14天告警，并确认自动续期确实在执行。"),
)
CATALOGUE.update({f.kind: f for f in PLATFORM})


TEXT_FIELDS = ("name_en", "name_zh", "mitigation_en", "mitigation_zh", "improvement_en", "improvement_zh")
_plugin_texts: dict[str, dict[str, str]] = {}


def register_fault_texts(plugin: str, texts: dict[str, dict[str, str]]) -> list[str]:
    """A plugin's names and proposals for its kinds (data, not engine code); returns one
    problem line per entry refused. A built-in kind keeps its catalogue entry."""
    problems = []
    for kind, fields in (texts or {}).items():
        unknown = sorted(set(fields) - set(TEXT_FIELDS))
        if kind in CATALOGUE:
            problems.append(f"plugin {plugin!r}: fault kind {kind!r} is built in; its texts cannot be replaced")
        elif unknown:
            problems.append(f"plugin {plugin!r}: fault texts of {kind!r} have unknown fields {', '.join(unknown)}; "
                            f"use {', '.join(TEXT_FIELDS)}")
        else:
            _plugin_texts[kind] = {f: str(t).strip() for f, t in fields.items() if str(t).strip()}
    return problems


def kind_experience(kind: str, lang: str) -> dict[str, Any] | None:
    """The bundled expert experience of this kind with a mitigation, in the report's
    language when there is one (the knowledge base holds both)."""
    from .kinds import bundled_experiences

    entries = [e for e in bundled_experiences() if e.get("fault_kind") == kind and e.get("mitigation")]
    entries.sort(key=lambda e: e.get("language", lang) != lang)
    return entries[0] if entries else None


def fault_info(kind: str) -> FaultInfo:
    """The kind's catalogue entry. A kind a plugin or an experience defined is named and
    mitigated from data: the plugin's fault texts, else its experiences (fault_name,
    mitigation), else its own words and the generic lines."""
    if kind in CATALOGUE:
        return CATALOGUE[kind]
    from .kinds import all_kinds

    if kind and kind in all_kinds():
        base = CATALOGUE["unknown"]
        words = kind.replace("_", " ")
        given = _plugin_texts.get(kind, {})
        exp = {lang: kind_experience(kind, lang) or {} for lang in ("en", "zh")}
        exp = {lang: e if e.get("language", lang) == lang else {} for lang, e in exp.items()}

        def pick(field: str, lang: str, from_exp: str, default: str) -> str:
            return given.get(f"{field}_{lang}") or str(exp[lang].get(from_exp) or "").strip() or default

        return FaultInfo(kind, pick("name", "en", "fault_name", words), pick("name", "zh", "fault_name", words), "",
                         pick("mitigation", "en", "mitigation", base.mitigation_en),
                         pick("mitigation", "zh", "mitigation", base.mitigation_zh),
                         pick("improvement", "en", "", base.improvement_en),
                         pick("improvement", "zh", "", base.improvement_zh))
    return CATALOGUE["unknown"]


# Words that name a fault kind in free text (a model's answer, a chat log), English and Chinese.
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "memory_leak": ("memory leak", "leaking memory", "leaks memory", "oom", "out of memory", "内存泄漏", "内存打满", "内存溢出"),
    "cpu_saturation": ("cpu saturation", "cpu saturated", "high cpu", "cpu hog", "cpu is saturated", "cpu利用率过高", "cpu飙升", "cpu打满"),
    "disk_full": ("disk full", "disk is full", "no space left", "disk space", "磁盘空间不足", "磁盘写满", "磁盘满"),
    "jvm_gc": ("garbage collection", "gc pause", "gc pressure", "full gc", "jvm gc", "gc异常", "垃圾回收"),
    "network_delay": ("network delay", "network latency", "slow network", "packet delay", "网络延迟"),
    "network_loss": ("packet loss", "network loss", "dropped packets", "retransmission", "丢包"),
    "traffic_surge": ("traffic surge", "surge in traffic", "request surge", "traffic spike", "流量异常", "流量突增"),
    "code_exception": ("exception", "code bug", "bad deploy", "faulty release", "error in the code", "代码异常", "异常抛出"),
}


def fault_kind_from_text(text: str) -> str:
    """The fault kind a free-text answer names first, or "unknown"."""
    low = text.lower()
    best: tuple[int, str] | None = None
    for kind, words in KIND_WORDS.items():
        for word in words:
            pos = low.find(word)
            if pos >= 0 and (best is None or pos < best[0]):
                best = (pos, kind)
    return best[1] if best else "unknown"
