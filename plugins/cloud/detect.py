"""Database fault detectors over CloudWatch metrics, RDS events and Performance Insights.

Each detector looks at one managed database (a resource) in the investigation window
against the baseline before it and reports what an experienced DBA would say, with numbers
and times, as a `Finding` (source "database", ids D1, D2, ...):

    db_storage_full           FreeStorageSpace near zero, or (the metric missing) an RDS
                              low-storage / storage-full event
    db_connections_exhausted  DatabaseConnections at max_connections (a saved
                              describe-db-parameters), or pinned at a ceiling while refusals
                              ("too many connections") appear in the logs
    db_replication_lag        ReplicaLag far above its baseline, with the write load behind it
                              (WriteIOPS / WriteThroughput of the busiest writer)
    db_failover, db_reboot    RDS failover / availability events
    db_cpu_query              CPU saturated while one SQL statement carries most of the load (PI)
    db_cpu_maintenance        CPU saturated by vacuum / checkpoints that are still running
    db_lock_contention        lock waits (Lock:*, LWLock:*, MySQL lock waits) carry the load

Maintenance that coincides with a CPU rise that recovered, or that runs beside a query that
carries the load, is a confounder: a finding with `details.confounder` and a
`ruled_out` sentence, naming the metric signals it explains (`explains`), never a cause.
Findings that are causes carry `details.fault_kind` and `details.category`.
Top SQL and wait events go in `details.top_sql` / `details.top_waits` (DatabaseEvidence).
Only generic rules: no resource names or fault times appear here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from copilot.diagnosis import Finding
from copilot.evidence import DatabaseEvidence
from copilot.timefmt import hhmm
from copilot.plugins.telemetry.model import MetricSeries, Telemetry

from .kinds import KINDS

GIB = 2.0**30
BUILTIN_KINDS = {"cpu_saturation": "resource_exhaustion"}  # a built-in kind this module also names
WHY = {  # the ranking's one-line reason when the kind decides (English, Chinese)
    "db_storage_full": ("its free storage ran out, so writes fail", "它的可用存储耗尽，写入失败"),
    "db_connections_exhausted": ("its connections reached the limit, so new ones are refused", "它的连接数达到上限，新连接被拒绝"),
    "db_replication_lag": ("the replica fell behind its primary", "副本落后于主库"),
    "db_failover": ("the instance failed over to its standby", "实例切换到了备库"),
    "db_reboot": ("the instance restarted", "实例发生了重启"),
    "db_cpu_query": ("one SQL statement saturates its CPU", "一条 SQL 语句打满了它的 CPU"),
    "db_cpu_maintenance": ("maintenance (vacuum, checkpoints) saturates its CPU", "维护任务（vacuum、checkpoint）打满了它的 CPU"),
    "db_lock_contention": ("sessions wait on locks held by other transactions", "会话在等待其他事务持有的锁"),
    "cpu_saturation": ("its CPU is saturated", "它的 CPU 打满"),
}
# metric name (normalised) -> preferred statistics, most telling first
RDS_METRICS = {
    "freestoragespace": ("Minimum", "Average"),
    "databaseconnections": ("Maximum", "Average"),
    "replicalag": ("Maximum", "Average"),
    "aurorareplicalag": ("Maximum", "Average"),
    "writeiops": ("Average", "Maximum"),
    "writethroughput": ("Average", "Maximum"),
    "cpuutilization": ("Average", "Maximum"),
}
STORAGE_NEAR_ZERO = 0.05  # free storage at or below 5% of the most seen...
STORAGE_FLOOR_B = 1 * GIB  # ...or below 1 GiB after falling by half
STORAGE_DROP = 0.03  # the fall began when free storage left its usual level by 3%
CONNECTIONS_AT_MAX = 0.95
CONNECTIONS_HEADROOM = 0.8  # below 80% of max_connections with nothing refused: room to spare
CEILING_POINTS = 3  # points at the same top value: a connection ceiling
LAG_MIN_S = 30.0
LAG_RISE = 5.0
WRITE_RISE = 1.5
CPU_SATURATED = 85.0
CPU_NORMAL = 70.0
QUERY_SHARE = 0.4  # one statement with 40% of the load drives it...
QUERY_MIN_AAS = 1.0  # ...when that load is at least one session busy all the time
LOCK_SHARE = 0.3  # lock waits with 30% of the load are contention
LOCK_MIN_AAS = 0.5

_REFUSALS = re.compile(r"too many (connections|clients)|remaining connection slots are reserved"
                       r"|connection limit exceeded|max_connections|ER_CON_COUNT_ERROR|1040", re.I)
_MAINTENANCE_SQL = re.compile(r"\b(auto)?vacuum\b|\banalyze\b|\bcheckpoint\b|\breindex\b|\bcluster\b|create index", re.I)
_MAINTENANCE_TEXT = re.compile(r"checkpoint (starting|complete)|automatic (vacuum|analyze)|autovacuum|vacuum", re.I)
_MAINTENANCE_WAITS = re.compile(r"WALWrite|WALSync|DataFileSync|DataFileFlush|CheckpointWriteDelay|BufFileWrite"
                                r"|CheckpointerMain|AutoVacuumMain|VacuumDelay", re.I)
_LOCK_WAITS = re.compile(r"^(Lock:|LWLock:)|^wait/lock/|^wait/synch/|row lock|lock_wait", re.I)
_FAILOVER = re.compile(r"failover", re.I)
_REBOOT = re.compile(r"reboot|restart|shut ?down|instance (is )?(being )?(restarted|started|stopped)", re.I)
_RECOVERED = re.compile(r"complete|completed|finished|restarted|available|resumed", re.I)


def norm(metric: str) -> str:
    return re.sub(r"[^a-z0-9]", "", metric.lower())


def rds_metric(metric: str) -> str | None:
    """The RDS metric a series name spells (`FreeStorageSpace`, `orders FreeStorageSpace Minimum`)."""
    n = norm(metric)
    return next((m for m in sorted(RDS_METRICS, key=len, reverse=True) if m in n), None)


def database_resources(tel: Telemetry) -> list[str]:
    """Resources that look like databases: RDS metrics, RDS events or Performance Insights."""
    names = {m.component for m in tel.metrics if rds_metric(m.metric) or m.labels.get("source") == "pi"}
    names |= {c.component for c in tel.changes if c.author == "rds"}
    names |= {a.component for a in tel.alerts if a.labels.get("source") == "rds"}
    names |= {str(k.get("resource")) for k in tel.meta.get("pi_top", []) if k.get("resource")}
    return sorted(n for n in names if n)


@dataclass
class Ctx:
    tel: Telemetry
    window: tuple[float, float]
    baseline: tuple[float, float]
    next_id: Callable[[str], str]

    def series(self, resource: str, metric: str) -> MetricSeries | None:
        """The resource's series of one RDS metric, in its most telling statistic."""
        found = [m for m in self.tel.metrics if m.component == resource and rds_metric(m.metric) == metric]
        if not found:
            return None
        prefs = RDS_METRICS[metric]
        return min(found, key=lambda m: prefs.index(m.labels["statistic"]) if m.labels.get("statistic") in prefs else len(prefs))

    def part(self, m: MetricSeries, span: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        sel = (m.timestamps >= span[0]) & (m.timestamps <= span[1]) & ~np.isnan(m.values)
        return m.timestamps[sel], m.values[sel]

    def top(self, resource: str, group: str) -> list[dict[str, Any]]:
        """PI top keys of a group for the resource, those overlapping the window first, by load."""
        keys = [k for k in self.tel.meta.get("pi_top", []) if k.get("resource") == resource and k.get("group") == group]
        ws, we = self.window
        inside = [k for k in keys if k.get("start") is None or (k["start"] <= we and (k.get("end") or we) >= ws)]
        return sorted(inside or [], key=lambda k: -float(k.get("total") or 0.0))

    def finding(self, resource: str, signal: str, kind: str, summary: str, score: float, onset: float | None,
                **details: Any) -> Finding:
        if kind in KINDS or kind in BUILTIN_KINDS:
            details = {"fault_kind": kind, "category": {**BUILTIN_KINDS, **KINDS}[kind], "why": WHY.get(kind, ("", ""))[0], "why_zh": WHY.get(kind, ("", ""))[1], **details}
        evidence = DatabaseEvidence(**details, key_order=tuple(details))
        return Finding(self.next_id("D"), "database", resource, signal, kind, summary, round(float(score), 2), onset, evidence)


def gib(b: float) -> str:
    return f"{b / GIB:.2f} GiB" if b < 10 * GIB else f"{b / GIB:.0f} GiB"


def _median(v: np.ndarray) -> float | None:
    return float(np.median(v)) if len(v) else None


def _recovery(ts: np.ndarray, vs: np.ndarray, bad: Callable[[float], bool]) -> tuple[bool, float | None]:
    """(still bad at the window's end, when it stopped being bad if it did)."""
    if not len(vs):
        return False, None
    if bad(float(vs[-1])):
        return True, None
    idx = [i for i, v in enumerate(vs) if bad(float(v))]
    return False, (float(ts[idx[-1] + 1]) if idx and idx[-1] + 1 < len(ts) else None)


def detect_database_faults(tel: Telemetry, window: tuple[float, float], baseline: tuple[float, float],
                           next_id: Callable[[str], str], resource: str | None = None) -> list[Finding]:
    ctx = Ctx(tel, window, baseline, next_id)
    out: list[Finding] = []
    for res in database_resources(tel):
        if resource and res != resource:
            continue
        out += storage(ctx, res)
        out += connections(ctx, res)
        out += replication(ctx, res)
        out += restarts(ctx, res)
        out += cpu(ctx, res)
        out += locks(ctx, res)
    return sorted(out, key=lambda f: -f.score)


# ---- storage ------------------------------------------------------------------------


def storage(ctx: Ctx, res: str) -> list[Finding]:
    m = ctx.series(res, "freestoragespace")
    events = [a for a in ctx.tel.alerts if a.component == res and a.labels.get("source") == "rds"
              and "storage" in (a.name + " " + a.description).lower()
              and ctx.window[0] - 3600 <= a.timestamp <= ctx.window[1]]
    if m is not None:
        ts, vs = ctx.part(m, ctx.window)
        _, base = ctx.part(m, ctx.baseline)
        if len(vs):
            most = float(np.nanmax(m.values))
            low_i = int(np.argmin(vs))
            low = float(vs[low_i])
            level = _median(base) or most
            near = low <= STORAGE_NEAR_ZERO * most or (low <= STORAGE_FLOOR_B and low <= 0.5 * level)
            if near or events:
                falling = [i for i in range(low_i + 1) if vs[i] < (1 - STORAGE_DROP) * level] or [low_i]
                onset = min([float(ts[falling[0]])] + [a.timestamp for a in events])
                active, recovered = _recovery(ts, vs, lambda v: v <= max(STORAGE_NEAR_ZERO * most, 2 * low))
                score = 14.0 if low <= 0.01 * most or events else 9.0
                summary = (f"{res}: free storage fell from {gib(level)} to {gib(low)} at {hhmm(float(ts[low_i]))} "
                           f"({100 * low / most:.1f}% of the most seen, {gib(most)})"
                           + (f"; RDS said: {events[0].description}" if events else "")
                           + ("" if active else f"; it recovered at {hhmm(recovered)}" if recovered else ""))
                return [ctx.finding(res, m.metric, "db_storage_full", summary, score, onset, baseline=level, after=low,
                                    unit="bytes", active=active, recovered_at=recovered,
                                    events=[a.description for a in events[:3]])]
            return []
    if events:
        first = events[0]
        why = "no FreeStorageSpace metric was saved" if m is None else "FreeStorageSpace has no points in the window"
        summary = (f"{res}: RDS reported storage exhausted at {hhmm(first.timestamp)}: {first.description} "
                   f"({why}; the event alone shows it)")
        return [ctx.finding(res, first.name, "db_storage_full", summary, 12.0, first.timestamp,
                            metric="missing", active=True, events=[a.description for a in events[:3]])]
    return []


# ---- connections ----------------------------------------------------------------------


def max_connections(ctx: Ctx, res: str) -> float | None:
    value = (ctx.tel.meta.get("db_parameters", {}).get(res) or {}).get("max_connections")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None  # a formula like {DBInstanceClassMemory/9531392}: not known here


def refusals(ctx: Ctx, res: str) -> list[Any]:
    ws, we = ctx.window
    only = len(database_resources(ctx.tel)) == 1  # a client's refusal names no instance: the one there is
    return [r for r in ctx.tel.logs if ws <= r.timestamp <= we and _REFUSALS.search(r.message)
            and (only or r.component in (res, "") or res in r.component or res in r.message)] + \
           [c for c in ctx.tel.changes if c.component == res and ws <= c.timestamp <= we and _REFUSALS.search(c.description)]


def connections(ctx: Ctx, res: str) -> list[Finding]:
    m = ctx.series(res, "databaseconnections")
    refused = refusals(ctx, res)
    if m is None:
        return []
    ts, vs = ctx.part(m, ctx.window)
    _, base = ctx.part(m, ctx.baseline)
    if not len(vs):
        return []
    peak = float(np.max(vs))
    level = _median(base)
    limit = max_connections(ctx, res)
    at_top = int(np.sum(vs >= 0.98 * peak))
    rose = level is None or peak >= 1.5 * max(level, 1.0)
    if limit:
        exhausted = peak >= CONNECTIONS_AT_MAX * limit
    else:
        exhausted = rose and at_top >= CEILING_POINTS and bool(refused)
    onset = float(ts[int(np.argmax(vs >= 0.98 * peak))])
    if not exhausted:
        if limit and rose and not refused and peak < CONNECTIONS_HEADROOM * limit:
            sentence = (f"{res}: database connections rose from {level or 0:.0f} to {peak:.0f} at {hhmm(onset)}, but that is "
                        f"{100 * peak / limit:.0f}% of max_connections ({limit:.0f}) and nothing was refused: more clients, "
                        "not exhaustion")
            return [_confounder(ctx, res, m.metric, onset, sentence, [], [m.metric], kind="within_limits",
                                baseline=level, after=peak, max_connections=limit)]
        return []
    active, recovered = _recovery(ts, vs, lambda v: v >= 0.9 * peak)
    basis = (f"max_connections is {limit:.0f}" if limit else
             f"it sat at a ceiling of {peak:.0f} for {at_top} points")
    summary = (f"{res}: database connections rose from {level or 0:.0f} to {peak:.0f} at {hhmm(onset)}; {basis}"
               + (f"; {len(refused)} refused connection messages (\"{_text(refused[0])[:80]}\")" if refused else "")
               + ("" if active else f"; they fell back at {hhmm(recovered)}" if recovered else ""))
    score = 12.0 if refused or (limit and peak >= limit) else 9.0
    return [ctx.finding(res, m.metric, "db_connections_exhausted", summary, score, onset, baseline=level, after=peak,
                        max_connections=limit, refusals=len(refused), active=active, recovered_at=recovered)]


def _text(x: Any) -> str:
    return str(getattr(x, "message", None) or getattr(x, "description", ""))


# ---- replication ---------------------------------------------------------------------


def write_load(ctx: Ctx) -> dict[str, Any] | None:
    """The writer whose write load rose the most in the window (WriteIOPS, WriteThroughput)."""
    best: dict[str, Any] | None = None
    for res in database_resources(ctx.tel):
        for metric in ("writeiops", "writethroughput"):
            m = ctx.series(res, metric)
            if m is None:
                continue
            ts, vs = ctx.part(m, ctx.window)
            _, base = ctx.part(m, ctx.baseline)
            level = _median(base)
            if not len(vs) or not level:
                continue
            peak = float(np.max(vs))
            ratio = peak / level
            if ratio >= WRITE_RISE and (best is None or ratio > best["ratio"]):
                best = {"resource": res, "metric": m.metric, "baseline": level, "peak": peak, "ratio": round(ratio, 2),
                        "onset": float(ts[int(np.argmax(vs >= level + 0.5 * (peak - level)))])}
    return best


def replication(ctx: Ctx, res: str) -> list[Finding]:
    m = ctx.series(res, "replicalag") or ctx.series(res, "aurorareplicalag")
    if m is None:
        return []
    ts, vs = ctx.part(m, ctx.window)
    _, base = ctx.part(m, ctx.baseline)
    if not len(vs):
        return []
    scale = 0.001 if rds_metric(m.metric) == "aurorareplicalag" else 1.0  # Aurora counts milliseconds
    peak, level = float(np.max(vs)) * scale, (_median(base) or 0.0) * scale
    if peak < LAG_MIN_S or peak < LAG_RISE * max(level, 1.0):
        return []
    onset = float(ts[int(np.argmax(vs * scale >= max(LAG_MIN_S / 2, 3 * max(level, 1.0))))])
    active, recovered = _recovery(ts, vs * scale, lambda v: v >= LAG_MIN_S)
    writes = write_load(ctx)
    top_sql = [k for k in ctx.top(writes["resource"], "db.sql_tokenized")][:3] if writes else []
    summary = (f"{res}: replica lag rose from {level:.0f}s to {peak:.0f}s by {hhmm(float(ts[int(np.argmax(vs))]))}"
               + (f"; behind it the write load on {writes['resource']} rose {writes['ratio']:.1f}x "
                  f"({writes['metric']} {writes['baseline']:.0f} -> {writes['peak']:.0f}) from {hhmm(writes['onset'])}"
                  if writes else "; the write load did not rise, so look at the replica itself (instance size, IO)")
               + (f"; top SQL there: {top_sql[0]['name'][:80]}" if top_sql else "")
               + ("" if active else f"; it caught up at {hhmm(recovered)}" if recovered else ""))
    score = min(20.0, 6.0 + 2.0 * math.log2(max(peak / max(level, 1.0), 1.0)))
    explains = [[writes["resource"], w.metric] for w in (ctx.series(writes["resource"], n) for n in ("writeiops", "writethroughput"))
                if w is not None] if writes else []
    return [ctx.finding(res, m.metric, "db_replication_lag", summary, score, onset, baseline=level, after=peak, unit="s",
                        write_load=writes, top_sql=_keys(top_sql), active=active, recovered_at=recovered, explains=explains)]


# ---- failover and reboot -----------------------------------------------------------------


def restarts(ctx: Ctx, res: str) -> list[Finding]:
    ws, we = ctx.window
    events = [c for c in ctx.tel.changes if c.component == res and c.author == "rds" and ws - 600 <= c.timestamp <= we
              and (c.kind in ("failover", "restart") or _FAILOVER.search(c.description) or _REBOOT.search(c.description))]
    if not events:
        return []
    failover = [c for c in events if c.kind == "failover" or _FAILOVER.search(c.description)]
    kind = "db_failover" if failover else "db_reboot"
    group = failover or events
    first = group[0]
    done = [c for c in group[1:] if _RECOVERED.search(c.description)]
    ended = done[-1].timestamp if done else None
    conns = ctx.series(res, "databaseconnections")
    dropped = ""
    if conns is not None:
        ts, vs = ctx.part(conns, (first.timestamp - 300, (ended or first.timestamp) + 300))
        _, base = ctx.part(conns, ctx.baseline)
        usual = _median(base)
        if len(vs) and usual and float(np.min(vs)) <= 0.2 * usual:
            dropped = f"; connections dropped from {usual:.0f} to {float(np.min(vs)):.0f}"
    what = "failed over" if failover else "restarted"
    summary = (f"{res}: the instance {what} at {hhmm(first.timestamp)} (RDS: \"{first.description[:100]}\")"
               + (f", done at {hhmm(ended)} after {max(0.0, (ended - first.timestamp) / 60):.0f} min" if ended else "")
               + dropped)
    return [ctx.finding(res, first.description[:60], kind, summary, 10.0 if dropped or failover else 8.0, first.timestamp,
                        events=[c.description for c in events[:5]], active=ended is None, recovered_at=ended)]


# ---- CPU: a query or maintenance -----------------------------------------------------------


def _keys(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": str(k.get("name", ""))[:200], "total": round(float(k.get("total") or 0.0), 3),
             **({"type": k["wait_type"]} if k.get("wait_type") else {})} for k in keys]


def maintenance_evidence(ctx: Ctx, res: str, sql: list[dict[str, Any]], waits: list[dict[str, Any]]) -> list[str]:
    ws, we = ctx.window
    said: list[str] = []
    said += [f"SQL {k['name'][:60]!r} ({k['total']:.2f} AAS)" for k in sql[:5] if _MAINTENANCE_SQL.search(str(k["name"]))]
    said += [f"wait {k['name']} ({k['total']:.2f} AAS)" for k in waits[:5] if _MAINTENANCE_WAITS.search(str(k["name"]))]
    said += [f"log \"{r.message[:80]}\"" for r in ctx.tel.logs if ws <= r.timestamp <= we and _MAINTENANCE_TEXT.search(r.message)
             and (r.component in (res, "") or res in r.component)][:3]
    said += [f"RDS \"{c.description[:80]}\"" for c in ctx.tel.changes if c.component == res and ws - 600 <= c.timestamp <= we
             and _MAINTENANCE_TEXT.search(c.description)][:2]
    return said


def cpu(ctx: Ctx, res: str) -> list[Finding]:
    m = ctx.series(res, "cpuutilization")
    if m is None:
        return []
    ts, vs = ctx.part(m, ctx.window)
    _, base = ctx.part(m, ctx.baseline)
    if not len(vs):
        return []
    peak = float(np.max(vs))
    level = _median(base) or 0.0
    if peak < CPU_SATURATED or level >= CPU_NORMAL:
        return []
    onset = float(ts[int(np.argmax(vs >= CPU_SATURATED))])
    active, recovered = _recovery(ts, vs, lambda v: v >= CPU_NORMAL)
    sql, waits = ctx.top(res, "db.sql_tokenized"), ctx.top(res, "db.wait_event")
    total = sum(float(k.get("total") or 0.0) for k in sql) or None
    lead = sql[0] if sql else None
    share = float(lead["total"]) / total if lead and total else 0.0
    query_drives = (lead is not None and share >= QUERY_SHARE and float(lead["total"]) >= QUERY_MIN_AAS
                    and not _MAINTENANCE_SQL.search(str(lead["name"])))
    maint = maintenance_evidence(ctx, res, sql, waits)
    explains = [m.metric, "db.load.avg", "os.cpuUtilization.total.avg"]
    shape = f"CPU rose from {level:.0f}% to {peak:.0f}% at {hhmm(onset)}" + (
        "" if active else f" and came back below {CPU_NORMAL:.0f}% at {hhmm(recovered)}" if recovered else "")
    out: list[Finding] = []
    if query_drives and lead is not None:
        summary = (f"{res}: {shape}; one statement carries {100 * share:.0f}% of the database load "
                   f"({float(lead['total']):.2f} AAS): {str(lead['name'])[:120]}")
        out.append(ctx.finding(res, m.metric, "db_cpu_query", summary, 11.0 if active else 7.0, onset, baseline=level,
                               after=peak, top_sql=_keys(sql[:3]), top_waits=_keys(waits[:3]), share=round(share, 3),
                               active=active, recovered_at=recovered))
        if maint:
            out.append(_confounder(ctx, res, m.metric, onset, f"{res}: maintenance ran at the same time ({'; '.join(maint[:2])}), "
                                   f"but the statement above carries the load; maintenance is a confounder, not the cause",
                                   maint, []))
        return out
    if maint and not active:
        return [_confounder(ctx, res, m.metric, onset,
                            f"{res}: {shape}, during maintenance ({'; '.join(maint[:2])}); it recovered on its own, so "
                            "the maintenance explains the CPU rise: a symptom of routine work, not a fault", maint, explains,
                            baseline=level, after=peak, recovered_at=recovered)]
    if maint:
        summary = f"{res}: {shape} and stays high while maintenance runs ({'; '.join(maint[:3])})"
        return [ctx.finding(res, m.metric, "db_cpu_maintenance", summary, 9.0, onset, baseline=level, after=peak,
                            maintenance=maint, top_sql=_keys(sql[:3]), top_waits=_keys(waits[:3]), active=True)]
    summary = f"{res}: {shape}" + (f"; top SQL: {str(lead['name'])[:100]} ({100 * share:.0f}% of the load)" if lead else
                                   "; no Performance Insights data names the statement")
    return [ctx.finding(res, m.metric, "cpu_saturation", summary, 9.0 if active else 5.0, onset, baseline=level, after=peak,
                        top_sql=_keys(sql[:3]), top_waits=_keys(waits[:3]), active=active, recovered_at=recovered)]


def _confounder(ctx: Ctx, res: str, signal: str, onset: float, sentence: str, maint: list[str], explains: list[str],
                kind: str = "maintenance", **details: Any) -> Finding:
    """A finding that is ruled out as a cause (score 0), naming the signals it explains."""
    return ctx.finding(res, signal, kind, sentence, 0.0, onset, confounder=True, ruled_out=sentence,
                       maintenance=maint, explains=explains, **details)


# ---- locks ------------------------------------------------------------------------------


def locks(ctx: Ctx, res: str) -> list[Finding]:
    waits = ctx.top(res, "db.wait_event")
    total = sum(float(k.get("total") or 0.0) for k in waits)
    lock = [k for k in waits if _LOCK_WAITS.search(str(k.get("name", "")))]
    lock_load = sum(float(k.get("total") or 0.0) for k in lock)
    onset, rise = _lock_series_onset(ctx, res)
    if not lock or total <= 0 or lock_load < LOCK_MIN_AAS or lock_load / total < LOCK_SHARE:
        return []
    if rise is not None and rise < 1.5:
        return []  # lock waits as usual for this database: its normal shape, not contention
    sql = ctx.top(res, "db.sql_tokenized")
    summary = (f"{res}: lock waits carry {100 * lock_load / total:.0f}% of the database load ({lock_load:.2f} AAS): "
               + ", ".join(f"{k['name']} {float(k['total']):.2f}" for k in lock[:3])
               + (f"; top SQL: {str(sql[0]['name'])[:100]}" if sql else "")
               + (f"; lock waits rose {rise:.1f}x from {hhmm(onset)}" if rise is not None and onset is not None else ""))
    return [ctx.finding(res, str(lock[0]["name"]), "db_lock_contention", summary, min(16.0, 6.0 + 10.0 * lock_load / total),
                        onset if onset is not None else ctx.window[0], share=round(lock_load / total, 3),
                        top_waits=_keys(waits[:5]), top_sql=_keys(sql[:3]))]


def _lock_series_onset(ctx: Ctx, res: str) -> tuple[float | None, float | None]:
    """(when lock-wait load began to rise, how many times its baseline) from PI series grouped by wait event."""
    series = [m for m in ctx.tel.metrics if m.component == res and m.labels.get("source") == "pi"
              and _LOCK_WAITS.search(m.labels.get("db.wait_event.name", "") or "")]
    if not series:
        return None, None
    grid = sorted({float(t) for m in series for t in m.timestamps})
    total = np.zeros(len(grid))
    index = {t: i for i, t in enumerate(grid)}
    for m in series:
        for t, v in zip(m.timestamps, m.values):
            if not math.isnan(v):
                total[index[float(t)]] += v
    ts = np.asarray(grid)
    base = total[(ts >= ctx.baseline[0]) & (ts <= ctx.baseline[1])]
    inside = (ts >= ctx.window[0]) & (ts <= ctx.window[1])
    if not inside.any():
        return None, None
    level = float(np.median(base)) if len(base) else 0.0
    peak = float(np.max(total[inside]))
    rise = peak / max(level, 0.05)
    wts, wvs = ts[inside], total[inside]
    onset = float(wts[int(np.argmax(wvs >= level + 0.5 * (peak - level)))])
    return onset, rise
