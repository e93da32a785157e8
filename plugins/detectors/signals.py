"""Map raw metric names to signal families.

Sources spell the same signal many ways (`cpu_usage`, `container_cpu_usage_seconds`,
`carts_cpu`, `PodCpuUsage`, `lat_90`). Detectors and the ranking reason about families:
cpu, memory, disk, gc, latency, error_rate, success_rate, request_rate, net_latency,
packet_loss, network, other. Rules are regular expressions over a normalised name
(camelCase split, lower case, separators turned into `_`), tried in order.
"""

from __future__ import annotations

import re
from functools import lru_cache

FAMILIES: tuple[str, ...] = (
    "gc",
    "net_latency",
    "packet_loss",
    "cpu",
    "memory",
    "disk",
    "error_rate",
    "success_rate",
    "latency",
    "request_rate",
    "network",
    "other",
)

# Order matters: the first rule that matches wins (gc_pause_ms is gc, not latency;
# network_rtt is net_latency, not latency; request_errors is error_rate, not request_rate).
_RULES: tuple[tuple[str, str], ...] = (
    ("gc", r"(^|_)(gc|garbage|safepoint)"),
    ("net_latency", r"(^|_)(rtt|ping|net(work)?_(latency|delay)|tcp_(latency|srtt)|srtt)(_|$)"),
    ("packet_loss", r"(retrans|packet_?loss|(^|_)(drop(s|ped)?|loss)(_|$)|pkt_?drop)"),
    ("cpu", r"(^|_)(cpu|processor|load_?avg)"),
    ("memory", r"(^|_)(mem|memory|rss|heap|working_?set|oom)"),
    ("disk", r"(^|_)(disk|fs|filesystem|volume|inode|storage)"),
    ("error_rate", r"(^|_)(err|errors?|error_?rate|fail(ed|ures?)?|5xx|exceptions?)"),
    ("success_rate", r"(^|_)(succ|success(_?rate)?|avail|availability|uptime)"),
    ("latency", r"(^|_)(lat|latency|duration|response_?time|rt|resp_?time|p50|p90|p95|p99|elapsed)(_|\d|$)"),
    ("request_rate", r"(^|_)(req(uest)?s?|qps|rps|tps|lod|load|workload|throughput|calls|hits|traffic)(_|$)"),
    ("network", r"(^|_)(net|network|rx|tx|bytes_(sent|recv|received)|receive|transmit)"),
)
_COMPILED = tuple((family, re.compile(pattern)) for family, pattern in _RULES)

# Families whose rise is bad. success_rate is bad when it falls; request_rate either way.
BAD_DIRECTION: dict[str, int] = {
    "gc": 1, "net_latency": 1, "packet_loss": 1, "cpu": 1, "memory": 1, "disk": 1,
    "error_rate": 1, "success_rate": -1, "latency": 1, "request_rate": 0, "network": 0, "other": 0,
}

UNITS: dict[str, str] = {
    "cpu": "%", "memory": "%", "disk": "%", "error_rate": "%", "success_rate": "%",
    "latency": "ms", "net_latency": "ms", "request_rate": "req/s",
}


def normalise(name: str) -> str:
    """`PodCpuUsage` -> `pod_cpu_usage`; `front-end.lat-90` -> `front_end_lat_90`."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return text


@lru_cache(maxsize=4096)
def family(metric: str) -> str:
    """The signal family of a raw metric name ("other" when nothing matches)."""
    norm = normalise(metric)
    for fam, pattern in _COMPILED:
        if pattern.search(norm):
            return fam
    return "other"


def unit(metric: str) -> str:
    """A display unit guessed from the name: an explicit suffix wins, then the family's."""
    norm = normalise(metric)
    for suffix, text in (("_ms", "ms"), ("_seconds", "s"), ("_s", "s"), ("_bytes", "B"), ("_mi", "MiB"), ("_mib", "MiB"),
                         ("_mb", "MB"), ("_gi", "GiB"), ("_gib", "GiB"), ("_gb", "GB"), ("_pct", "%"), ("_percent", "%")):
        if norm.endswith(suffix):
            return text
    fam = family(metric)
    if fam == "cpu" and norm.endswith(("_m", "_millicores", "_mcpu")):
        return "m"  # millicores, as Kubernetes counts CPU
    if fam in ("cpu", "memory", "disk") and not any(w in norm for w in ("usage", "util", "percent", "pct", "rate")):
        return ""
    return UNITS.get(fam, "")


def is_utilisation(metric: str) -> bool:
    """A CPU, memory or disk series in percent of its limit (`CpuUsageRate(%)`,
    `disk_util`, `memory_percent`), where a level near 100 means the resource is used up."""
    name = metric.lower()
    return family(metric) in ("cpu", "memory", "disk") and (
        "%" in name or "percent" in name or "util" in name or name.endswith("rate") or "rate(" in name)
