"""The bundled demo incident: a small shop with one injected fault, as telemetry files.

    gateway -> frontend -> {cart, checkout, catalogue}
    checkout -> {payment, cart, db};  cart -> cache;  catalogue -> db
    payment and checkout run on the JVM.

`generate(out, fault, service, seed)` writes two hours of 1-minute metrics, logs, traces,
change events and alerts (see docs/telemetry-formats.md) plus `incident.json` (the
ground truth, which no loader or tool reads) and `question.txt`. The same seed gives
the same bytes. `ensure_demo()` generates the default demo into the cache once.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from .diagnosis import FAULT_KINDS
from .errors import CopilotError
from .timefmt import hhmm

GENERATOR_VERSION = "1"
BASE_TIME = datetime(2024, 5, 14, 12, 0, tzinfo=timezone.utc).timestamp()
MINUTES = 120

# component: (base cpu %, base memory %, base disk %, own service time ms)
COMPONENTS: dict[str, tuple[float, float, float, float]] = {
    "gateway": (14.0, 31.0, 22.0, 2.0),
    "frontend": (26.0, 47.0, 31.0, 11.0),
    "cart": (21.0, 52.0, 28.0, 5.0),
    "checkout": (19.0, 58.0, 33.0, 14.0),
    "catalogue": (24.0, 44.0, 27.0, 7.0),
    "payment": (17.0, 61.0, 25.0, 22.0),
    "cache": (9.0, 38.0, 41.0, 0.7),
    "db": (31.0, 66.0, 63.0, 3.5),
}
JVM = ("payment", "checkout")
# (caller, callee, probability that one caller request calls the callee)
CALLS: tuple[tuple[str, str, float], ...] = (
    ("gateway", "frontend", 1.0),
    ("frontend", "catalogue", 0.7),
    ("frontend", "cart", 0.5),
    ("frontend", "checkout", 0.2),
    ("checkout", "payment", 1.0),
    ("checkout", "cart", 1.0),
    ("checkout", "db", 1.0),
    ("cart", "cache", 1.0),
    ("catalogue", "db", 0.8),
)


def _topological() -> list[str]:
    """Components with every caller before its callees."""
    order: list[str] = []
    pending = list(COMPONENTS)
    while pending:
        for c in pending:
            if all(a in order for a, b, _ in CALLS if b == c):
                order.append(c)
                pending.remove(c)
                break
    return order


ORDER = _topological()
DEFAULT_SERVICE: dict[str, str] = {
    "cpu_saturation": "catalogue",
    "memory_leak": "cart",
    "disk_full": "db",
    "network_delay": "payment",
    "network_loss": "cache",
    "traffic_surge": "gateway",
    "jvm_gc": "payment",
    "code_exception": "checkout",
}
GENERATED_KINDS = tuple(k for k in FAULT_KINDS if k != "unknown")
OPERATIONS = {
    "gateway": "HTTP GET /", "frontend": "render page", "cart": "GET /cart", "checkout": "POST /orders",
    "catalogue": "GET /products", "payment": "POST /payments", "cache": "GET", "db": "SELECT",
}
LATENCY_FAULTS = ("cpu_saturation", "network_delay", "jvm_gc", "traffic_surge", "memory_leak")


def valid_services(fault: str) -> list[str]:
    if fault == "traffic_surge":
        return ["gateway"]
    if fault == "jvm_gc":
        return list(JVM)
    if fault in ("network_delay", "network_loss"):
        return [c for c in ORDER if c != "gateway"]
    return list(ORDER)


def check_choice(fault: str, service: str | None) -> str:
    if fault not in GENERATED_KINDS:
        raise CopilotError(f"unknown fault {fault!r}; use one of: {', '.join(GENERATED_KINDS)}")
    service = service or DEFAULT_SERVICE[fault]
    allowed = valid_services(fault)
    if service not in allowed:
        raise CopilotError(f"service {service!r} cannot have fault {fault}; use one of: {', '.join(allowed)}")
    return service


def iso(ts: float, ms: bool = False) -> str:
    dt = datetime.fromtimestamp(round(ts, 3), tz=timezone.utc)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if ms:
        text += f".{int(round(ts * 1000)) % 1000:03d}"
    return text + "Z"


@dataclass
class Incident:
    fault: str
    component: str
    seed: int
    onset: int  # minute index of the onset
    rng: np.random.Generator

    @property
    def start(self) -> float:
        return BASE_TIME + 60 * self.onset


def _ramp(minutes: np.ndarray, onset: int, width: float) -> np.ndarray:
    """0 before the onset, rising to 1 over `width` minutes."""
    return np.clip((minutes - onset + 1) / max(width, 1.0), 0.0, 1.0)


def _callees(c: str) -> list[tuple[str, float]]:
    return [(b, p) for a, b, p in CALLS if a == c]


@dataclass
class _Signals:
    """The per-minute drivers of the demo's metrics: traffic, each component's own service
    time and errors, its resources, and what the injected fault does to them."""

    inc: Incident
    t: np.ndarray
    on: np.ndarray  # the fault's onset ramp
    traffic: np.ndarray
    load: dict[str, np.ndarray]
    rate: dict[str, np.ndarray]
    slow: dict[str, np.ndarray]  # multiplier on own service time
    extra: dict[str, np.ndarray]  # ms added to every call into c
    err: dict[str, np.ndarray]  # own error %
    loss: np.ndarray
    cpu_add: np.ndarray
    mem: dict[str, np.ndarray]
    disk: dict[str, np.ndarray]
    gc_count: dict[str, np.ndarray]
    gc_pause: dict[str, np.ndarray]
    rtt: dict[str, np.ndarray]
    retrans: dict[str, np.ndarray]


def _metrics(inc: Incident) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """Per component, per metric, 120 values; and the per-minute effect arrays traces reuse."""
    s = _signals(inc)
    _FAULT_EFFECTS.get(inc.fault, _no_effect)(s)
    mean_ms, seen_err = _latency_and_errors(s)
    out = {c: _component_metrics(s, c, mean_ms[c], seen_err[c]) for c in ORDER}
    effects = {"slow": s.slow, "extra": s.extra, "err": s.err, "loss": s.loss, "traffic": s.traffic}
    return out, effects  # type: ignore[return-value]


def _signals(inc: Incident) -> _Signals:
    """The healthy signals (traffic already surging for a traffic_surge)."""
    rng, t = inc.rng, np.arange(MINUTES, dtype=float)
    phase = rng.uniform(0, 2 * math.pi)
    noise = np.convolve(rng.normal(0, 0.03, MINUTES + 4), np.ones(5) / 5, mode="valid")
    traffic = 1 + 0.12 * np.sin(2 * math.pi * (t + 600) / 1440 + phase) + 0.05 * np.sin(2 * math.pi * t / 47 + phase) + noise
    on = _ramp(t, inc.onset, 2)
    if inc.fault == "traffic_surge":
        traffic = traffic * (1 + rng.uniform(1.6, 2.4) * on)
    rate = {c: np.zeros(MINUTES) for c in ORDER}
    rate["gateway"] = 110 * traffic
    for c in ORDER:
        for d, p in _callees(c):
            rate[d] = rate[d] + rate[c] * p
    base_rate = {c: float(np.median(rate[c][: inc.onset])) for c in ORDER}
    return _Signals(
        inc, t, on, traffic,
        load={c: rate[c] / base_rate[c] for c in ORDER},
        rate=rate,
        slow={c: np.ones(MINUTES) for c in ORDER},
        extra={c: np.zeros(MINUTES) for c in ORDER},
        err={c: np.abs(rng.normal(0.12, 0.04, MINUTES)) for c in ORDER},
        loss=np.zeros(MINUTES),
        cpu_add=np.zeros(MINUTES),
        mem={c: COMPONENTS[c][1] + rng.normal(0, 0.6, MINUTES) for c in ORDER},
        disk={c: COMPONENTS[c][2] + 0.004 * t + rng.normal(0, 0.05, MINUTES) for c in ORDER},
        gc_count={c: rng.poisson(4, MINUTES).astype(float) for c in JVM},
        gc_pause={c: 11 + np.abs(rng.normal(0, 2.0, MINUTES)) for c in JVM},
        rtt={c: 0.35 + np.abs(rng.normal(0, 0.04, MINUTES)) for c in ORDER},
        retrans={c: rng.poisson(2, MINUTES).astype(float) for c in ORDER},
    )


def _no_effect(s: _Signals) -> None:
    return None


def _cpu_saturation(s: _Signals) -> None:
    x, rng = s.inc.component, s.inc.rng
    s.slow[x] = s.slow[x] * (1 + rng.uniform(4, 6) * s.on)
    s.cpu_add = s.on * 100


def _memory_leak(s: _Signals) -> None:
    x, rng = s.inc.component, s.inc.rng
    grow = np.clip(s.t - s.inc.onset + 1, 0, None) * rng.uniform(1.8, 2.2)
    s.mem[x] = np.minimum(s.mem[x] + grow, 97 + rng.normal(0, 0.3, MINUTES))
    s.slow[x] = s.slow[x] * (1 + 2.5 * np.clip((s.mem[x] - 80) / 17, 0, 1))


def _disk_full(s: _Signals) -> None:
    x, rng = s.inc.component, s.inc.rng
    fill = _ramp(s.t, s.inc.onset, rng.uniform(6, 9))
    s.disk[x] = s.disk[x] + (100 - s.disk[x]) * fill
    s.disk[x] = np.minimum(s.disk[x], 100.0)
    full = s.disk[x] >= 99.9
    s.err[x] = s.err[x] + full * rng.uniform(25, 40)
    s.slow[x] = s.slow[x] * (1 + 0.5 * full)


def _network_delay(s: _Signals) -> None:
    x, rng = s.inc.component, s.inc.rng
    s.extra[x] = s.on * rng.uniform(120, 220)
    s.rtt[x] = s.rtt[x] + s.extra[x] / 2


def _network_loss(s: _Signals) -> None:
    x, rng = s.inc.component, s.inc.rng
    s.loss = s.on * rng.uniform(0.2, 0.3)
    s.retrans[x] = s.retrans[x] + s.on * rng.poisson(120, MINUTES)


def _jvm_gc(s: _Signals) -> None:
    x, rng = s.inc.component, s.inc.rng
    s.gc_count[x] = s.gc_count[x] + s.on * rng.poisson(45, MINUTES)
    s.gc_pause[x] = s.gc_pause[x] + s.on * rng.uniform(280, 420) * (1 + rng.normal(0, 0.1, MINUTES))
    s.slow[x] = s.slow[x] * (1 + 3.0 * s.on)
    s.cpu_add = s.on * 14


def _code_exception(s: _Signals) -> None:
    x, rng = s.inc.component, s.inc.rng
    s.err[x] = s.err[x] + s.on * rng.uniform(20, 35) * (1 + rng.normal(0, 0.05, MINUTES))


def _traffic_surge(s: _Signals) -> None:
    for c in ORDER:  # queueing: the busier a component, the slower
        s.slow[c] = s.slow[c] * (1 + 0.6 * np.clip(s.load[c] - 1, 0, None) ** 1.5)


_FAULT_EFFECTS: dict[str, Callable[[_Signals], None]] = {
    "cpu_saturation": _cpu_saturation,
    "memory_leak": _memory_leak,
    "disk_full": _disk_full,
    "network_delay": _network_delay,
    "network_loss": _network_loss,
    "jvm_gc": _jvm_gc,
    "code_exception": _code_exception,
    "traffic_surge": _traffic_surge,
}


def _latency_and_errors(s: _Signals) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Latency (mean ms) from the leaves up: own time + what it waits on its callees; and the
    error % a caller sees (its own and 80% of what its callees return)."""
    rng, x = s.inc.rng, s.inc.component
    mean_ms: dict[str, np.ndarray] = {}
    seen_err: dict[str, np.ndarray] = {}
    for c in reversed(ORDER):
        own = COMPONENTS[c][3] * s.slow[c] * (1 + rng.normal(0, 0.04, MINUTES))
        total, e = own + s.extra[c], s.err[c].copy()
        for d, p in _callees(c):
            total = total + p * mean_ms[d]
            inherited = seen_err[d] * 0.8
            if s.inc.fault == "network_loss" and d == x:
                total = total + p * s.loss * 200  # timeouts and retries
                inherited = inherited + p * s.loss * 100 * 0.6
            e = e + p * inherited
        mean_ms[c], seen_err[c] = total, np.minimum(e, 100.0)
    return mean_ms, seen_err


def _component_metrics(s: _Signals, c: str, mean_ms: np.ndarray, seen_err: np.ndarray) -> dict[str, np.ndarray]:
    rng = s.inc.rng
    cpu_base, _, _, _ = COMPONENTS[c]
    cpu = cpu_base * (0.55 + 0.45 * s.load[c]) + rng.normal(0, 1.0, MINUTES)
    if c == s.inc.component:
        cpu = cpu + s.cpu_add
    rate_in = s.rate[c] * ((1 - s.loss) if c == s.inc.component else 1)
    m = {
        "cpu_usage": np.clip(cpu, 0.5, 97 + rng.normal(0, 0.8, MINUTES)),
        "memory_usage": np.clip(s.mem[c], 1, 99.5),
        "disk_usage": np.clip(s.disk[c], 1, 100),
        "request_rate": rate_in * (1 + rng.normal(0, 0.02, MINUTES)),
        "error_rate": seen_err,
        "latency_p50": mean_ms * 0.8 * (1 + rng.normal(0, 0.03, MINUTES)),
        "latency_p90": mean_ms * 1.7 * (1 + rng.normal(0, 0.04, MINUTES)),
        "latency_p99": mean_ms * 3.1 * (1 + rng.normal(0, 0.06, MINUTES)),
        "net_rtt_ms": s.rtt[c],
        "tcp_retransmits": s.retrans[c],
    }
    if c in JVM:
        m["gc_count"] = s.gc_count[c]
        m["gc_pause_ms"] = s.gc_pause[c]
    return m


def _write_metrics(path: Path, metrics: dict[str, dict[str, np.ndarray]]) -> None:
    lines = ["timestamp,component,metric,value"]
    for i in range(MINUTES):
        stamp = iso(BASE_TIME + 60 * i)
        for c in ORDER:
            for name, values in metrics[c].items():
                lines.append(f"{stamp},{c},{name},{values[i]:.3f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _traces(inc: Incident, eff: dict) -> list[str]:
    rng = inc.rng
    rows = ["trace_id,span_id,parent_id,service,operation,start_ms,duration_ms,status"]
    counter = [0]

    def new_id() -> str:
        counter[0] += 1
        return f"{(counter[0] * 2654435761 + inc.seed) % (1 << 48):012x}"

    def span(c: str, parent: str, trace: str, start: float, i: int) -> tuple[float, bool]:
        sid = new_id()
        own = COMPONENTS[c][3] * eff["slow"][c][i] * rng.lognormal(0, 0.35)
        if inc.fault == "jvm_gc" and c == inc.component and i >= inc.onset and rng.random() < 0.15:
            own += rng.uniform(200, 500)  # a request that waited on a GC pause
        now, failed = start + own * 0.3, False
        for d, p in _callees(c):
            if rng.random() >= p:
                continue
            if inc.fault == "network_loss" and d == inc.component and rng.random() < eff["loss"][i]:
                now += 200.0  # timed out; the call never reached the callee
                failed = failed or rng.random() < 0.6
                continue
            took, child_failed = span(d, sid, trace, now + 0.2, i)
            now += took + 0.4
            failed = failed or (child_failed and rng.random() < 0.8)
        own_fail = rng.random() * 100 < eff["err"][c][i]
        end = now + own * 0.7 + eff["extra"][c][i]
        dur = end - start
        rows.append(f"{trace},{sid},{parent},{c},{OPERATIONS[c]},{start:.1f},{dur:.2f},{'error' if failed or own_fail else 'ok'}")
        return dur, failed or own_fail

    for i in range(MINUTES):
        n = rng.poisson(30 * eff["traffic"][i])
        for start in np.sort(rng.uniform(0, 60_000, n)):
            trace = new_id() + new_id()[:4]
            span("gateway", "", trace, (BASE_TIME + 60 * i) * 1000 + float(start), i)
    return rows


INFO_TEMPLATES: dict[str, tuple[str, ...]] = {
    "gateway": ('10.0.{a}.{b} - "GET /api/{path} HTTP/1.1" 200 {n}0 {ms}ms', "upstream frontend healthy, {n} active connections"),
    "frontend": ("rendered page {page} in {ms}ms for session {sid}", "served static asset /static/{page}.js from cache"),
    "cart": ("cart {sid} updated: {n} items", "loaded cart {sid} from cache in {ms}ms"),
    "checkout": ("order {oid} created for customer {sid}", "placing order {oid}: {n} items, total {amt} USD"),
    "catalogue": ("listed {n} products for category {page} in {ms}ms", "product {oid} fetched from db"),
    "payment": ("payment authorised for order {oid}: {amt} USD via card", "fraud check passed for order {oid} in {ms}ms"),
    "cache": ("{n} changes in 60 seconds. Saving...", "Background saving started by pid {a}{b}", "DB saved on disk"),
    "db": ("[Note] InnoDB: checkpoint at LSN {oid}", "[Note] slow query log rotated, {n} entries"),
}
WARN_TEMPLATES: dict[str, str] = {
    "gateway": "upstream response slow: {ms}ms for GET /api/{path}",
    "frontend": "retrying request to catalogue (attempt 2)",
    "cart": "cache miss storm for key prefix cart:{n}",
    "checkout": "inventory reservation took {ms}ms for order {oid}",
    "catalogue": "image service returned 404 for product {oid}",
    "payment": "card network responded slowly ({ms}ms) for order {oid}",
    "cache": "Client closed connection after {n} seconds idle",
    "db": "[Warning] Aborted connection {a}{b} to db: 'shop' user: 'app' (Got timeout reading communication packets)",
}
PAGES = ("home", "product", "cart", "checkout", "search", "account")
PATHS = ("products", "cart", "orders", "session", "search")


def _fault_logs(inc: Incident, i: int, eff: dict, metrics: dict) -> list[tuple[str, str, str]]:
    """(component, level, template) lines the fault adds in minute i."""
    rng, f, x = inc.rng, inc.fault, inc.component
    if i < inc.onset:
        return []
    out: list[tuple[str, str, str]] = []
    callers = [a for a, b, _ in CALLS if b == x]
    if f == "disk_full":
        d = metrics[x]["disk_usage"][i]
        if 90 <= d < 99.9:
            out.append((x, "WARN", f"disk usage at {d:.0f}% on /var/lib/{x}"))
        if d >= 99.9:
            out += [(x, "ERROR", "write failed: No space left on device (errno 28) path=/var/lib/" + x + "/data-{n}.log")] * int(rng.integers(6, 12))
    elif f == "code_exception":
        k = int(eff["err"][x][i] / 2)
        out += [(x, "ERROR", "Unhandled exception in " + OPERATIONS[x] + ": java.lang.NullPointerException: "
                 "Cannot invoke \"Coupon.discount()\" because \"coupon\" is null at OrderService.price(OrderService.java:142)")] * k
        out += [(c, "ERROR", f"upstream {x} returned 500 for {OPERATIONS[x]}") for c in callers for _ in range(k // 3)]
    elif f == "network_loss":
        k = int(eff["loss"][i] * 20)
        out += [(c, "ERROR", f"timeout after 200ms calling {x}: connection reset by peer") for c in callers for _ in range(k)]
    elif f == "network_delay":
        out += [(c, "WARN", f"slow upstream {x}: {{ms}}ms") for c in callers for _ in range(int(rng.integers(1, 4)))]
    elif f == "jvm_gc":
        out += [(x, "WARN", "GC pause (G1 Evacuation Pause) {ms}ms, heap 3.{n}G->2.{n}G")] * int(rng.integers(3, 7))
    elif f == "traffic_surge":
        out += [("gateway", "WARN", "connection pool near capacity: {n}0 of 1024 in use")] * int(rng.integers(1, 4))
    elif f == "cpu_saturation":
        out += [(x, "WARN", "request took {ms}ms, above the 200ms budget")] * int(rng.integers(1, 4))
    return out


def _fill(template: str, rng: np.random.Generator) -> str:
    vals = {
        "a": int(rng.integers(1, 250)), "b": int(rng.integers(1, 250)), "n": int(rng.integers(1, 60)),
        "ms": int(rng.integers(3, 900)), "sid": f"{int(rng.integers(0, 1 << 32)):08x}",
        "oid": int(rng.integers(100000, 999999)), "amt": f"{rng.uniform(5, 400):.2f}",
        "page": PAGES[int(rng.integers(0, len(PAGES)))], "path": PATHS[int(rng.integers(0, len(PATHS)))],
    }
    return template.format(**vals)


def _logs(inc: Incident, eff: dict, metrics: dict) -> list[str]:
    rng, lines = inc.rng, []
    for i in range(MINUTES):
        entries: list[tuple[str, str, str]] = []
        for c in ORDER:
            n = rng.poisson(3 * (eff["traffic"][i] if c == "gateway" else 1))
            entries += [(c, "INFO", INFO_TEMPLATES[c][int(rng.integers(0, len(INFO_TEMPLATES[c])))]) for _ in range(n)]
            if rng.random() < 0.04:
                entries.append((c, "WARN", WARN_TEMPLATES[c]))
        entries += _fault_logs(inc, i, eff, metrics)
        stamps = np.sort(rng.uniform(0, 60, len(entries)))
        for (c, level, template), s in zip(entries, stamps):
            record = {"timestamp": iso(BASE_TIME + 60 * i + float(s), ms=True), "component": c, "level": level,
                      "message": _fill(template, rng)}
            lines.append(json.dumps(record, ensure_ascii=False))
    return lines


def _changes(inc: Incident) -> list[dict]:
    rng = inc.rng
    others = [c for c in ORDER if c != inc.component and c not in ("cache", "db")]
    early = sorted(int(v) for v in rng.choice(np.arange(10, 50), 2, replace=False))
    picks = rng.choice(len(others), 2, replace=False)
    out = [
        {"timestamp": iso(BASE_TIME + 60 * m + 17), "component": others[int(p)], "kind": "deploy",
         "description": f"deploy {others[int(p)]} v2.{3 + k}.{int(rng.integers(0, 9))}: dependency bumps",
         "author": "ci-bot", "id": f"chg-{101 + k}"}
        for k, (m, p) in enumerate(zip(early, picks))
    ]
    out.append({"timestamp": iso(BASE_TIME + 60 * 60 + 5), "component": "frontend", "kind": "config",
                "description": "frontend: raise static asset cache TTL to 10m", "author": "li.wei", "id": "chg-103"})
    if inc.fault == "code_exception":
        at = inc.start - 60 * float(rng.uniform(1.5, 4))
        out.append({"timestamp": iso(at), "component": inc.component, "kind": "deploy",
                    "description": f"deploy {inc.component} v1.9.0: new coupon pricing path", "author": "j.doe", "id": "chg-104"})
    return sorted(out, key=lambda r: r["timestamp"])


def _alerts(inc: Incident, metrics: dict) -> list[dict]:
    f, x = inc.fault, inc.component
    after = lambda m: iso(inc.start + 60 * m + 30)  # noqa: E731
    out: list[dict] = []
    if f == "memory_leak":
        above = np.nonzero(metrics[x]["memory_usage"][inc.onset:] > 85)[0]
        late = int(above[0]) if len(above) else 10
        out.append({"timestamp": after(late), "component": x, "name": "HighMemoryUsage", "severity": "warning",
                    "description": f"memory usage of {x} above 85% for 1m"})
    elif f == "disk_full":
        above = np.nonzero(metrics[x]["disk_usage"][inc.onset:] > 90)[0]
        out.append({"timestamp": after(int(above[0]) if len(above) else 3), "component": x, "name": "DiskAlmostFull",
                    "severity": "warning", "description": f"disk usage of {x} above 90%"})
        out.append({"timestamp": after(9), "component": "frontend", "name": "HighErrorRate", "severity": "critical",
                    "description": "frontend 5xx ratio above 2% for 2m"})
    elif f in ("code_exception", "network_loss"):
        out.append({"timestamp": after(3), "component": "frontend", "name": "HighErrorRate", "severity": "critical",
                    "description": "frontend 5xx ratio above 2% for 2m"})
    else:
        if f == "traffic_surge":
            out.append({"timestamp": after(2), "component": "gateway", "name": "HighRequestRate", "severity": "warning",
                        "description": "gateway request rate above 200 req/s for 2m"})
        out.append({"timestamp": after(3), "component": "frontend", "name": "HighLatency", "severity": "critical",
                    "description": "frontend p99 latency above its SLO for 3m"})
    return sorted(out, key=lambda r: r["timestamp"])


QUESTIONS = {
    "latency": "Why is the shop slow since {t} UTC?",
    "errors": "Why are shop requests failing since {t} UTC?",
    "memory": "We got a memory alert at {t} UTC. What is going on with the shop?",
    "disk": "Disk and error alerts since {t} UTC. What is the root cause?",
}


def question_for(fault: str, first_alert: float) -> str:
    key = {"code_exception": "errors", "network_loss": "errors", "memory_leak": "memory", "disk_full": "disk"}.get(fault, "latency")
    return QUESTIONS[key].format(t=hhmm(first_alert, tz=timezone.utc))  # the question names UTC


def generate(out: Path, fault: str = "cpu_saturation", service: str | None = None, seed: int = 7) -> dict:
    """Write the demo incident into `out` (created); return the incident.json content."""
    component = check_choice(fault, service)
    rng = np.random.default_rng([seed, GENERATED_KINDS.index(fault), ORDER.index(component)])
    inc = Incident(fault, component, seed, int(rng.integers(int(MINUTES * 0.70), int(MINUTES * 0.80) + 1)), rng)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metrics, eff = _metrics(inc)
    _write_metrics(out / "metrics.csv", metrics)
    (out / "traces.csv").write_text("\n".join(_traces(inc, eff)) + "\n", encoding="utf-8")
    (out / "logs.jsonl").write_text("\n".join(_logs(inc, eff, metrics)) + "\n", encoding="utf-8")
    changes, alerts = _changes(inc), _alerts(inc, metrics)
    for name, rows in (("changes.jsonl", changes), ("alerts.jsonl", alerts)):
        (out / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    topology = {"edges": [[a, b] for a, b, _ in CALLS], "entry": ["gateway"]}
    (out / "topology.json").write_text(json.dumps(topology, indent=1) + "\n", encoding="utf-8")
    first_alert = datetime.fromisoformat(alerts[0]["timestamp"]).timestamp()
    (out / "question.txt").write_text(question_for(fault, first_alert) + "\n", encoding="utf-8")
    truth = {
        "component": component, "fault_kind": fault, "start": iso(inc.start), "seed": seed,
        "description": f"{fault.replace('_', ' ')} injected into {component} at {hhmm(inc.start, tz=timezone.utc)} UTC "
                       f"(demo generator v{GENERATOR_VERSION})",
    }
    (out / "incident.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth


def ensure_demo(fault: str = "cpu_saturation") -> Path:
    """The default demo for `fault`, generated into the cache once and reused."""
    from .config import cache_dir

    check_choice(fault, None)
    target = cache_dir() / "demo" / GENERATOR_VERSION / fault
    if (target / "incident.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{fault}-", dir=target.parent))
    try:
        generate(tmp, fault)
        try:
            tmp.rename(target)
        except OSError:  # another process won the race; its copy is as good as ours
            if not (target / "incident.json").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target
