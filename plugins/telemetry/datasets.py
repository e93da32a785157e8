"""Adapters from published RCA benchmark layouts to the shared `Telemetry` model.

Each `*_cases(root)` lists the cases of one dataset as `BenchCase`s. A case's telemetry is
read only when `load()` is called, and holds only what an on-call engineer would have:
metrics, traces, logs, call graph and the alert (symptom). The ground truth (root-cause
component and fault kind) sits beside it in `truth`, for scoring only.

Layouts (plain `.csv` or gzipped `.csv.gz` everywhere):
- sockshop-rcd (RCD / RCAEval): `<service>-<fault>/<rep>/{normal,anomalous}.csv`, wide
  `time` + `<container>_<metric>` columns; the fault is active from the first anomalous row.
- nezha-ob (Nezha): `rca_data/<date>/{metric/<pod>_metric.csv, trace/HH_MM_trace.csv,
  log/HH_MM_log.csv, <date>-fault_list.json}`, `metric/dependency.csv` (call graph).
- petshop (PetShop): `dataset/<scenario>/{graph.csv, noissue/metrics.csv,
  <split>/issue_N/{metrics.csv,target.json}}`; metrics have 3 header rows
  (component, metric, statistic) and a unix timestamp first column.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from copilot.errors import DataError

from .model import Alert, LogRecord, MetricSeries, Span, Telemetry
from .tables import unwrap_log_message

RCD_KINDS = {"cpu": "cpu_saturation", "mem": "memory_leak", "disk": "disk_full", "delay": "network_delay",
             "loss": "network_loss", "socket": "network_loss"}
NEZHA_KINDS = {"cpu_contention": "cpu_saturation", "cpu_consumed": "cpu_saturation",
               "network_delay": "network_delay", "return": "code_exception", "exception": "code_exception"}
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_POD_SUFFIX = re.compile(r"-[a-z0-9]{6,10}-[a-z0-9]{5}$")


@dataclass(frozen=True)
class GroundTruth:
    component: str
    fault_kind: str  # canonical (copilot.diagnosis.FAULT_KINDS)
    raw_kind: str  # as the dataset names it


@dataclass
class BenchCase:
    dataset: str
    case_id: str
    alert_time: float  # unix seconds: when the incident is known to have started
    truth: GroundTruth
    loader: Callable[..., Telemetry] = field(repr=False)
    group: str = ""  # the published results' cell (PetShop: "high_traffic / latency"), scored on its own too

    def load(self, **options) -> Telemetry:
        return self.loader(**options)


# ---------------------------------------------------------------- shared readers

def open_text(path: Path) -> io.TextIOBase:
    """Open .csv or .csv.gz (whichever exists) as text."""
    path = resolve_csv(path)
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def resolve_csv(path: Path) -> Path:
    path = Path(path)
    if path.exists():
        return path
    alt = Path(str(path)[:-3]) if str(path).endswith(".gz") else Path(str(path) + ".gz")
    if alt.exists():
        return alt
    raise DataError(f"{path}: file not found (looked for .csv and .csv.gz)")


def _float(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return float("nan")


def read_wide_csv(path: Path, time_column: str = "time") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A wide table: a time column (unix seconds) and one numeric column per series."""
    with open_text(path) as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise DataError(f"{path}: empty file; expected a header with '{time_column}' and metric columns")
    header = [h.strip() for h in rows[0]]
    if time_column not in header:
        raise DataError(f"{path}: row 1: no '{time_column}' column (header starts {','.join(header[:3])})")
    t_idx = header.index(time_column)
    data = np.array([[_float(c) for c in r] for r in rows[1:] if r], dtype=float).reshape(-1, len(header))
    if np.isnan(data[:, t_idx]).any():
        bad = int(np.argmax(np.isnan(data[:, t_idx]))) + 2
        raise DataError(f"{path}: row {bad}: '{time_column}' is not a unix timestamp")
    columns = {h: data[:, i] for i, h in enumerate(header) if i != t_idx and h}
    return data[:, t_idx], columns


def split_wide_column(name: str) -> tuple[str, str]:
    """`<component>_<metric>`: container names cannot hold '_', metric names may."""
    component, _, metric = name.partition("_")
    return (component, metric) if metric else (name, "value")


def service_of_pod(pod: str) -> str:
    """Kubernetes pod name without its ReplicaSet and pod hash groups."""
    return _POD_SUFFIX.sub("", pod)


# ---------------------------------------------------------------- sockshop-rcd

def rcd_cases(root: str | Path) -> list[BenchCase]:
    root = Path(root)
    base = root / "sock-shop-data" if (root / "sock-shop-data").is_dir() else root
    cases = []
    for anomalous in sorted(base.glob("*/*/anomalous.csv*")):
        case_dir = anomalous.parent
        folder = case_dir.parent.name
        service, _, fault = folder.rpartition("-")
        if not service:
            raise DataError(f"{case_dir}: folder {folder!r} is not <service>-<fault>")
        with open_text(anomalous) as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            first = next(reader, None)
        if not first or "time" not in header:
            raise DataError(f"{anomalous}: expected a 'time' column and at least one row")
        alert = float(first[header.index("time")])
        truth = GroundTruth(service, RCD_KINDS.get(fault, "unknown"), fault)
        cases.append(BenchCase("sockshop-rcd", f"{folder}/{case_dir.name}", alert, truth,
                               _bind(load_rcd_case, case_dir)))
    if not cases:
        raise DataError(f"{root}: no <service>-<fault>/<rep>/anomalous.csv found; pass the sockshop-rcd folder")
    return cases


def load_rcd_case(case_dir: str | Path, **_options) -> Telemetry:
    """normal.csv then anomalous.csv as one series per column.

    The normal window was recorded at another time; when it does not end before the
    anomalous window starts, it is moved to end one step before it (meta says by how much).
    """
    case_dir = Path(case_dir)
    t_norm, normal = read_wide_csv(case_dir / "normal.csv")
    t_anom, anomalous = read_wide_csv(case_dir / "anomalous.csv")
    shift = 0.0
    if len(t_norm) and len(t_anom) and t_norm[-1] >= t_anom[0]:
        step = float(np.median(np.diff(t_anom))) if len(t_anom) > 1 else 1.0
        shift = t_anom[0] - step - t_norm[-1]
        t_norm = t_norm + shift
    ts = np.concatenate([t_norm, t_anom])
    metrics = []
    for name in [c for c in anomalous if c in normal] + [c for c in anomalous if c not in normal]:
        values = np.concatenate([normal.get(name, np.full(len(t_norm), np.nan)), anomalous[name]])
        component, metric = split_wide_column(name)
        metrics.append(MetricSeries(component, metric, ts, values))
    meta = {"dataset": "sockshop-rcd", "source": str(case_dir), "reference_shift_s": shift}
    return Telemetry(metrics=metrics, meta=meta)


# ---------------------------------------------------------------- nezha-ob

def nezha_cases(root: str | Path, before_s: float = 1800.0, after_s: float = 300.0) -> list[BenchCase]:
    """One case per injected fault. The telemetry window is [alert - before_s, alert + after_s]:
    faults were injected every ~8 minutes, so a later end would show the next fault."""
    root = Path(root)
    rca = root / "rca_data" if (root / "rca_data").is_dir() else root
    cases = []
    for day in sorted(p for p in rca.iterdir() if p.is_dir()):
        fault_files = sorted(day.glob("*fault_list.json"))
        if not fault_files:
            continue
        try:
            faults = json.loads(fault_files[0].read_text())
        except json.JSONDecodeError as e:
            raise DataError(f"{fault_files[0]}: not valid JSON ({e.msg} at line {e.lineno})") from None
        entries = [f for hour in sorted(faults) for f in faults[hour]]
        entries.sort(key=lambda f: f["inject_time"])
        for i, fault in enumerate(entries):
            alert = _utc(fault["inject_time"])
            pod = fault["inject_pod"]
            truth = GroundTruth(service_of_pod(pod), NEZHA_KINDS.get(fault["inject_type"], "unknown"),
                                fault["inject_type"])
            loader = _bind(load_nezha_window, day, alert - before_s, alert + after_s)
            cases.append(BenchCase("nezha-ob", f"ob-{day.name}-{i:02d}", alert, truth, loader))
    if not cases:
        raise DataError(f"{root}: no rca_data/<date>/*fault_list.json found; pass the nezha-ob folder")
    return cases


def _utc(text: str) -> float:
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


def load_nezha_window(day: str | Path, start: float, end: float, traces: bool = True, logs: bool = True,
                      **_options) -> Telemetry:
    day = Path(day)
    tel = Telemetry(meta={"dataset": "nezha-ob", "source": str(day), "window": (start, end)})
    metric_dir = day / "metric"
    for path in sorted(metric_dir.glob("*_metric.csv*")):
        tel.metrics.extend(_nezha_pod_metrics(path, start, end))
    for name, side in (("source_50", "source"), ("destination_50", "destination")):
        if any(metric_dir.glob(name + ".csv*")):
            tel.metrics.extend(_nezha_edge_metrics(metric_dir / f"{name}.csv", side, start, end))
    if any(metric_dir.glob("dependency.csv*")):
        with open_text(metric_dir / "dependency.csv") as fh:
            edges = {(r["Source"], r["Target"]) for r in csv.DictReader(fh)}
        # Edges to an IP address say which node hosts the service; the rest are calls.
        hosts = {(a, b) for a, b in edges if _IP.match(b)}
        tel.call_graph = sorted(edges - hosts)
        tel.meta["hosts"] = {a: b for a, b in sorted(hosts)}
    # Node* columns describe the host the pod runs on, shared by every pod there: they
    # belong to the node, not to the service (one copy per node is kept).
    host_of = tel.meta.get("hosts", {})
    seen: set[tuple[str, str]] = set()
    kept = []
    for m in tel.metrics:
        if m.metric.startswith("Node") and "pod" in m.labels:
            node = f"node-{host_of.get(m.component, m.component)}"
            if (node, m.metric) in seen:
                continue
            seen.add((node, m.metric))
            m = MetricSeries(node, m.metric, m.timestamps, m.values, {"host": host_of.get(m.component, "")})
        kept.append(m)
    tel.metrics = kept
    if traces:
        for path in _minute_files(day / "trace", "_trace.csv", start, end, day.name):
            tel.spans.extend(_nezha_spans(path, start, end))
    if logs:
        for path in _minute_files(day / "log", "_log.csv", start, end, day.name):
            tel.logs.extend(_nezha_logs(path, start, end))
    return tel


def _nezha_pod_metrics(path: Path, start: float, end: float) -> list[MetricSeries]:
    with open_text(path) as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    skip = {"Time", "TimeStamp", "PodName"}
    ts = np.array([_nezha_row_time(r, header) for r in rows[1:]])
    keep = (ts >= start) & (ts <= end)
    pod = rows[1][header.index("PodName")] if len(rows) > 1 else path.name.split("_metric")[0]
    out = []
    for i, name in enumerate(header):
        if name in skip:
            continue
        values = np.array([_float(r[i]) if i < len(r) else np.nan for r in rows[1:]])
        out.append(MetricSeries(service_of_pod(pod), name, ts[keep], values[keep], {"pod": pod}))
    return out


def _nezha_row_time(row: list[str], header: list[str]) -> float:
    """The 'Time' text ("2022-08-22 03:51:19.79 +0000 UTC m=+0.3"): the numeric TimeStamp
    column is wrong in some published files (off by years)."""
    if "Time" in header:
        text = row[header.index("Time")][:19]
        try:
            return _utc(text)
        except ValueError:
            pass
    return _float(row[header.index("TimeStamp")]) if "TimeStamp" in header else float("nan")


def _nezha_edge_metrics(path: Path, side: str, start: float, end: float) -> list[MetricSeries]:
    """`caller_callee` columns of per-call-edge P50 latency, kept on the callee."""
    ts, columns = read_wide_csv(path, time_column="timestamp")
    keep = (ts >= start) & (ts <= end)
    out = []
    for name, values in columns.items():
        if name == "time" or "_" not in name:
            continue
        caller, callee = name.split("_", 1)
        out.append(MetricSeries(callee, "CallLatencyP50(s)", ts[keep], values[keep],
                                {"caller": caller, "side": side}))
    return out


def _minute_files(folder: Path, suffix: str, start: float, end: float, date: str) -> list[Path]:
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob(f"*{suffix}*")):
        m = re.match(r"(\d\d)_(\d\d)_", path.name)
        if not m:
            continue
        minute = _utc(f"{date} {m.group(1)}:{m.group(2)}:00")
        if minute + 60 > start and minute <= end:
            out.append(path)
    return out


def _nezha_spans(path: Path, start: float, end: float) -> list[Span]:
    spans = []
    with open_text(path) as fh:
        for row in csv.DictReader(fh):
            begin = int(row["StartTimeUnixNano"]) / 1e9
            if not start <= begin <= end:
                continue
            pod = row["PodName"]
            parent = row["ParentID"]
            spans.append(Span(row["TraceID"], row["SpanID"], "" if parent == "root" else parent,
                              service_of_pod(pod), row["OperationName"], begin,
                              float(row["Duration"]) / 1000.0, "ok", pod))
    return spans


def _nezha_logs(path: Path, start: float, end: float) -> list[LogRecord]:
    records = []
    with open_text(path) as fh:
        for row in csv.DictReader(fh):
            ts = int(row["TimeUnixNano"]) / 1e9
            if not start <= ts <= end:
                continue
            message, level = unwrap_log_message(row.get("Log", ""))
            pod = row.get("PodName", "")
            records.append(LogRecord(ts, service_of_pod(pod), message, level, pod))
    return records


# ---------------------------------------------------------------- petshop

# Top-1 of the published graph-traversal baseline per PetShop cell (CLeaR'24), printed beside ours
PETSHOP_PUBLISHED = {"low_traffic / latency": 0.57, "low_traffic / availability": 0.83,
                     "high_traffic / latency": 0.57, "high_traffic / availability": 0.67}


def petshop_cases(root: str | Path) -> list[BenchCase]:
    root = Path(root)
    base = root / "dataset" if (root / "dataset").is_dir() else root
    cases = []
    for target in sorted(base.glob("*/*/issue_*/target.json")):
        issue = target.parent
        scenario = issue.parent.parent
        try:
            spec = json.loads(target.read_text())
        except json.JSONDecodeError as e:
            raise DataError(f"{target}: not valid JSON ({e.msg} at line {e.lineno})") from None
        tgt = spec["target"]
        cause = spec.get("root_cause", {}).get("node", "")
        command = str(spec.get("metadata", {}).get("reproducibility", {}).get("command", ""))
        truth = GroundTruth(cause, _petshop_kind(command, tgt.get("metric", "")), command or tgt.get("metric", ""))
        case_id = f"{scenario.name}/{issue.parent.name}/{issue.name}"
        cases.append(BenchCase("petshop", case_id, float(tgt["timestamp"]), truth,
                               _bind(load_petshop_issue, issue), f"{scenario.name} / {tgt.get('metric', '')}"))
    if not cases:
        raise DataError(f"{root}: no <scenario>/<split>/issue_N/target.json found; pass the petshop folder")
    return cases


def _petshop_kind(command: str, metric: str) -> str:
    text = f"{command} {metric}".lower()
    if "error" in text or "availability" in text:
        return "code_exception"
    if "delay" in text or "latency" in text:
        return "network_delay"
    return "unknown"


def load_petshop_issue(issue_dir: str | Path, **_options) -> Telemetry:
    """Issue metrics, call graph and the symptom alert; `meta["reference"]` holds the
    scenario's fault-free history (`noissue/metrics.csv`, recorded at another time) when
    the scenario has one. target.json's root_cause is never read here."""
    issue_dir = Path(issue_dir)
    scenario = issue_dir.parent.parent
    spec = json.loads((issue_dir / "target.json").read_text())["target"]
    tel = Telemetry(metrics=read_petshop_metrics(issue_dir / "metrics.csv"),
                    call_graph=read_adjacency(scenario / "graph.csv"),
                    meta={"dataset": "petshop", "source": str(issue_dir)})
    tel.alerts.append(Alert(float(spec["timestamp"]), spec["node"], f"{spec['metric']} {spec.get('agg', '')}".strip(),
                            labels={"metric": spec["metric"], "statistic": spec.get("agg", "")}))
    noissue = scenario / "noissue" / "metrics.csv"
    if noissue.exists() or Path(str(noissue) + ".gz").exists():
        tel.meta["reference"] = Telemetry(metrics=read_petshop_metrics(noissue),
                                          meta={"note": "fault-free history recorded at another time"})
    return tel


# PetShop's metrics are CloudWatch/X-Ray service statistics: response time in seconds,
# availability in percent, requests as a count per period
PETSHOP_UNITS = {"latency": "s", "availability": "%", "requests": "req"}


def read_petshop_metrics(path: Path) -> list[MetricSeries]:
    with open_text(path) as fh:
        rows = [r for r in csv.reader(fh) if r]
    if len(rows) < 4:
        raise DataError(f"{path}: expected 3 header rows (component, metric, statistic) and data rows")
    nodes, metrics, stats = rows[0], rows[1], rows[2]
    data = [r for r in rows[3:] if _float(r[0]) == _float(r[0])]  # skips the 'unix_timestamp' label row
    if not data:
        raise DataError(f"{path}: no data rows with a unix timestamp in the first column")
    table = np.array([[_float(c) for c in r] for r in data], dtype=float)
    # CloudWatch stamps each period's statistic at the period's start; stamped at its middle
    # instead, a period counts as after an alert when most of it is (an alert 10 s into a
    # 5-minute period no longer leaves that period's values in the baseline)
    ts = table[:, 0] + _period(table[:, 0]) / 2
    out = []
    for i in range(1, len(nodes)):
        if i >= table.shape[1]:
            break
        metric, stat = metrics[i].strip(), stats[i].strip()
        labels = {"statistic": stat} if stat else {}
        if metric in PETSHOP_UNITS:
            labels["unit"] = PETSHOP_UNITS[metric]
        out.append(MetricSeries(nodes[i].strip(), f"{metric}_{stat.lower()}" if stat else metric, ts, table[:, i], labels))
    return out


def _period(stamps: np.ndarray) -> float:
    """The aggregation period of a regular grid (its most common step; 0 when unknown)."""
    steps = np.diff(np.unique(stamps))
    if not len(steps):
        return 0.0
    values, counts = np.unique(steps, return_counts=True)
    return float(values[np.argmax(counts)])


def read_adjacency(path: Path) -> list[tuple[str, str]]:
    """Square adjacency CSV (first row and column name the nodes): row calls column."""
    with open_text(path) as fh:
        rows = [r for r in csv.reader(fh) if r]
    names = rows[0][1:]
    edges = []
    for n, row in enumerate(rows[1:], start=2):
        for j, cell in enumerate(row[1:]):
            value = _float(cell)
            if value != value:
                raise DataError(f"{path}: row {n}, column {j + 2}: {cell!r} is not a number")
            if value != 0 and j < len(names):
                edges.append((row[0], names[j]))
    return edges


def _bind(fn: Callable[..., Telemetry], *args) -> Callable[..., Telemetry]:
    def load(**options) -> Telemetry:
        return fn(*args, **options)

    return load


