"""A stress variant of nezha-ob: other service names, other pod names, other metric
column names and a random subset of metric columns dropped.

    .venv/bin/python bench/nezha_stress.py $D/nezha-ob /tmp/nezha-stress [--drop 0.3] [--seed 1]
    copilot bench nezha /tmp/nezha-stress

Writes a transformed copy (outside the repository; the data is not ours to ship) that a
method memorising Online Boutique would fail on, while the faults and the telemetry are
unchanged:
- every service gets a neutral name in another system's style (`ts-<word>-service`) and
  every pod a new `<service>-<10 chars>-<5 chars>` name, in the metric file names and
  rows, the call graph, the per-edge latency columns, the span and log rows, the fault
  list and the operation names (`hipstershop.CartService/GetCart` ->
  `org.example.TsWordService/GetCart`);
- the pod metric columns are renamed to other common spellings (`CpuUsageRate(%)` ->
  `cpu_usage_percent`, `PodWorkload(Ops)` -> `requests_per_second`, ...), as another
  collector would name them;
- a random share (`--drop`) of those columns is dropped on every pod, the same columns
  everywhere, as a collector that does not export them. The two time columns and the pod
  name are kept (the adapter needs them).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import re
import shutil
import string
from pathlib import Path

WORDS = ("station", "route", "seat", "price", "ticketinfo", "basic", "config", "contacts",
         "order-other", "preserve", "consign", "food", "assurance", "security", "rebook", "notification")
COLUMNS = {  # another collector's spelling of each pod metric column
    "CpuUsage(m)": "container_cpu_usage_millicores", "CpuUsageRate(%)": "cpu_usage_percent",
    "MemoryUsage(Mi)": "memory_working_set_mib", "MemoryUsageRate(%)": "memory_usage_percent",
    "SyscallRead": "syscall_reads", "SyscallWrite": "syscall_writes",
    "NetworkReceiveBytes": "net_rx_bytes", "NetworkTransmitBytes": "net_tx_bytes",
    "PodClientLatencyP90(s)": "client_latency_p90_seconds", "PodServerLatencyP90(s)": "server_latency_p90_seconds",
    "PodClientLatencyP95(s)": "client_latency_p95_seconds", "PodServerLatencyP95(s)": "server_latency_p95_seconds",
    "PodClientLatencyP99(s)": "client_latency_p99_seconds", "PodServerLatencyP99(s)": "server_latency_p99_seconds",
    "PodWorkload(Ops)": "requests_per_second", "PodSuccessRate(%)": "success_ratio_percent",
}
KEEP = {"Time", "TimeStamp", "PodName"}
_POD = re.compile(r"^(.*)-[a-z0-9]{6,10}-[a-z0-9]{5}$")


def _hash(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[-_]", name))


class Renamer:
    def __init__(self, services: list[str], seed: int):
        rng = random.Random(seed)
        words = list(WORDS)
        rng.shuffle(words)
        self.service = {s: f"ts-{words[i % len(words)]}{'' if i < len(words) else i}-service" for i, s in enumerate(sorted(services))}
        self.rng = rng
        self.pods: dict[str, str] = {}
        # operation names spell services in CamelCase (`CartService`, `AdServiceImpl`, `Frontend`)
        self._op = re.compile("|".join(sorted((re.escape(s) for s in services), key=len, reverse=True)), re.I)

    def pod(self, pod: str) -> str:
        m = _POD.match(pod)
        if not m or m.group(1) not in self.service:
            return self.service.get(pod, pod)
        if pod not in self.pods:
            self.pods[pod] = f"{self.service[m.group(1)]}-{_hash(self.rng, 10)}-{_hash(self.rng, 5)}"
        return self.pods[pod]

    def name(self, text: str) -> str:
        return self.service.get(text, text)

    def operation(self, op: str) -> str:
        op = op.replace("hipstershop", "org.example")
        return self._op.sub(lambda m: _camel(self.service[m.group(0).lower()]), op)


def _open(path: Path, mode: str):
    return gzip.open(path, mode + "t", newline="") if path.suffix == ".gz" else path.open(mode, newline="")


def _rewrite(src: Path, dst: Path, fix_row, fix_header=None) -> None:
    with _open(src, "r") as fin, _open(dst, "w") as fout:
        reader, writer = csv.reader(fin), csv.writer(fout)
        header = next(reader, None)
        if header is None:
            return
        keep, header2 = fix_header(header) if fix_header else (list(range(len(header))), header)
        writer.writerow(header2)
        for row in reader:
            writer.writerow(fix_row(header, [row[i] for i in keep] if fix_header else row))


def transform(src: Path, dst: Path, drop: float, seed: int) -> dict:
    rca = src / "rca_data"
    services = sorted({_POD.match(p.name.split("_metric")[0]).group(1)
                       for p in rca.glob("*/metric/*_metric.csv*") if _POD.match(p.name.split("_metric")[0])})
    ren = Renamer(services, seed)
    rng = random.Random(seed + 1)
    dropped = sorted(c for c in COLUMNS if rng.random() < drop)
    if dst.exists():
        shutil.rmtree(dst)
    for day in sorted(p for p in rca.iterdir() if p.is_dir()):
        out = dst / "rca_data" / day.name
        (out / "metric").mkdir(parents=True)
        for path in sorted((day / "metric").iterdir()):
            _copy_metric_file(path, out / "metric", ren, dropped)
        _copy_pod_files(day / "trace", out / "trace", ren, operations=True)
        _copy_pod_files(day / "log", out / "log", ren, operations=False)
        for fl in day.glob("*fault_list.json"):
            _copy_faults(fl, out / fl.name, ren)
    return {"services": ren.service, "dropped_columns": dropped}


def _copy_metric_file(path: Path, out: Path, ren: Renamer, dropped: list[str]) -> None:
    """A pod's metrics (renamed, columns dropped), the call dependencies and the edge tables
    (renamed); front_service.csv names the entry service by hand ("Frontend"): not copied."""
    if "_metric.csv" in path.name:
        pod = path.name.split("_metric")[0]

        def header(h, _d=dropped):
            keep = [i for i, c in enumerate(h) if c in KEEP or c not in _d]
            return keep, [COLUMNS.get(h[i], h[i]) for i in keep]

        def row(h, r):
            return [ren.pod(v) if v == pod else v for v in r]

        _rewrite(path, out / path.name.replace(pod, ren.pod(pod)), row, header)
    elif path.name.startswith("dependency"):
        _rewrite(path, out / path.name, lambda h, r: [ren.name(r[0]), ren.name(r[1]), *r[2:]])
    elif path.name.startswith(("source_50", "destination_50")):
        def edge_header(h):
            names = []
            for c in h:
                if "_" in c and c not in ("time", "timestamp"):
                    a, b = c.split("_", 1)
                    c = f"{ren.name(a)}_{ren.name(b)}"
                names.append(c)
            return list(range(len(h))), names
        _rewrite(path, out / path.name, lambda h, r: r, edge_header)


def _copy_pod_files(folder: Path, out: Path, ren: Renamer, operations: bool) -> None:
    """Trace or log files with their PodName (and OperationName for traces) renamed."""
    if not folder.is_dir():
        return
    out.mkdir()
    for path in sorted(folder.iterdir()):
        def prow(h, r):
            r = list(r)
            r[h.index("PodName")] = ren.pod(r[h.index("PodName")])
            if operations:
                r[h.index("OperationName")] = ren.operation(r[h.index("OperationName")])
            return r
        _rewrite(path, out / path.name, prow)


def _copy_faults(src: Path, dst: Path, ren: Renamer) -> None:
    faults = json.loads(src.read_text())
    for entries in faults.values():
        for f in entries:
            f["inject_pod"] = ren.pod(f["inject_pod"])
    dst.write_text(json.dumps(faults, indent=1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", type=Path, help="the nezha-ob folder")
    ap.add_argument("dst", type=Path, help="where to write the variant (outside the repository)")
    ap.add_argument("--drop", type=float, default=0.3, help="share of pod metric columns to drop (default 0.3)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    info = transform(args.src, args.dst, args.drop, args.seed)
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
