"""Which data-source agents a firing alert points to.

The host reads the alerts before it starts the data-source agents: `KubePodCrashLooping`
points to the Kubernetes agent, `HighRequestLatency` to the trace and metric agents,
`RDSReplicaLagHigh` to the database agent. The mapping reads the alert's name (split at
CamelCase and separators) and its description, in English and Chinese. An alert that
points to an agent whose signal the run does not hold is said plainly, so the engineer
knows which data would answer it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

# agent -> what in an alert's name or description points to it (lowercase, words split)
AGENT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("platform", r"\bkube|\bk8s\b|\bpods?\b|crash ?loop|oom ?kill|container|\bnodes?\b"
                 r"|replicas? ?mismatch|\bhpa\b|evict|image ?pull|persistent ?volume|\bpvc\b|certificate|\bcert\b"
                 r"|容器|节点|重启|驱逐|证书"),
    ("database", r"\brds\b|aurora|mysql|postgres|mariadb|database|\bdb\b|replica(tion)? ?lag|deadlock|lock ?wait"
                 r"|too ?many ?connections|数据库|主从|慢查询|死锁"),
    ("traces", r"latency|slow|\bp9\d\b|duration|timeout|response ?time|\bapdex\b|延迟|超时|响应时间|慢"),
    ("logs", r"error|exception|\b5\d\dx?\b|panic|fail|fatal|报错|错误|异常"),
    ("metrics", r"\bcpu|memory|\bmem\b|disk|filesystem|\bload\b|saturat|throttl|\bgc\b|heap|traffic|\bqps\b|\brps\b"
                r"|request ?rate|file ?descriptor|\bfds?\b|target ?down|latency|error ?rate|network|packet|interface"
                r"|\bdns\b|内存|磁盘|负载|流量|句柄|网络|丢包"),
    ("changes", r"deploy|rollout|config ?reload|version|发布|变更|配置"),
)


def alert_words(text: str) -> str:
    """`KubePodCrashLooping` -> `kube pod crash looping`; separators become spaces."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    return re.sub(r"[_\-.:/]+", " ", spaced).lower()


def agents_for(name: str, description: str = "") -> tuple[str, ...]:
    """The agents one alert points to, in the order of AGENT_PATTERNS."""
    text = f"{alert_words(name)} {description.lower()}"
    return tuple(agent for agent, pattern in AGENT_PATTERNS if re.search(pattern, text))


@dataclass(frozen=True)
class AlertRoute:
    """Where the firing alerts point: agent -> the alerts (name, component) naming it."""

    by_agent: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    def agents(self) -> tuple[str, ...]:
        return tuple(self.by_agent)


def route_alerts(alerts: Iterable[tuple[str, str, str]]) -> AlertRoute:
    """(name, component, description) of each firing alert -> the route, each alert once."""
    by_agent: dict[str, list[tuple[str, str]]] = {}
    seen: set[tuple[str, str]] = set()
    for name, component, description in alerts:
        if (name, component) in seen:
            continue
        seen.add((name, component))
        for agent in agents_for(name, description):
            by_agent.setdefault(agent, []).append((name, component))
    order = [agent for agent, _ in AGENT_PATTERNS]
    return AlertRoute({a: tuple(by_agent[a]) for a in order if a in by_agent})


def alert_label(name: str, component: str, lang: str) -> str:
    """One alert as the host names it: `KubePodCrashLooping on cart` / `cart 的 KubePodCrashLooping`."""
    if not component:
        return name
    return f"{component} 的 {name}" if lang == "zh" else f"{name} on {component}"


SHOWN = 3  # alerts named per agent in the host's thought; the rest are counted


def alert_list(alerts: tuple[tuple[str, str], ...], lang: str) -> str:
    """The first SHOWN alerts by name, then how many more: an alert storm stays one line."""
    names = [alert_label(n, c, lang) for n, c in alerts[:SHOWN]]
    more = len(alerts) - SHOWN
    if lang == "zh":
        return "、".join(names) + (f" 等 {len(alerts)} 条" if more > 0 else "")
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")
