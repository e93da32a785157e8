"""The fault catalogue: each canonical fault kind, named in English and Chinese, with the
expected signature and the standard mitigation (the seed talk's 故障分类 table, extended).
The knowledge base holds richer, editable experience; this is the built-in floor."""

from __future__ import annotations

from dataclasses import dataclass


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


def fault_info(kind: str) -> FaultInfo:
    return CATALOGUE.get(kind, CATALOGUE["unknown"])


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
