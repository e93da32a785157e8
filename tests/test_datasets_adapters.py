"""Dataset adapters read tiny synthetic copies of the published layouts.

The builders here write the layouts (RCD wide CSV, Nezha per-pod CSV + gzipped trace
minutes + fault list, PetShop 3-header metrics + adjacency + target.json); the benchmark
tests reuse them.
"""

from __future__ import annotations

import csv
import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from copilot.errors import DataError
from copilot.plugins.telemetry import datasets

RCD_CONTAINERS = ("carts", "carts-db", "orders", "front-end", "user")


def write_rcd(root: Path, faults: list[tuple[str, str]], gz: bool = False, seed: int = 0) -> Path:
    """sock-shop-data/<svc>-<fault>/<rep>/{normal,anomalous}.csv with a real-looking fault."""
    rng = np.random.default_rng(seed)
    cols = [f"{c}_cpu" for c in RCD_CONTAINERS] + [f"{c}_mem" for c in RCD_CONTAINERS]
    cols += ["carts_lat_50", "carts_lat_90", "front-end_lod"]
    for rep, (service, fault) in enumerate(faults, start=1):
        case = root / "sock-shop-data" / f"{service}-{fault}" / str(rep)
        case.mkdir(parents=True)
        for name, start, broken in (("normal", 1_000_000, False), ("anomalous", 2_000_000, True)):
            rows = []
            for i in range(120):
                row = [start + i]
                for col in cols:
                    base = 3e8 if col.endswith("_mem") else 2.0
                    value = base * (1 + 0.01 * rng.normal())
                    if broken and col == f"{service}_{fault}":
                        value = base * (40 if fault == "cpu" else 1.5 + i / 100)
                    row.append(value)
                rows.append(row)
            text = "time," + ",".join(cols) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n"
            path = case / f"{name}.csv"
            if gz:
                with gzip.open(str(path) + ".gz", "wt") as fh:
                    fh.write(text)
            else:
                path.write_text(text)
    return root


NEZHA_PODS = {
    "frontend": "frontend-579b9bff58-t2dbm",
    "cartservice": "cartservice-579f59597d-wc2lz",
    "paymentservice": "paymentservice-9cdb6588f-554sm",
}
NEZHA_COLS = ["CpuUsageRate(%)", "MemoryUsage(Mi)", "PodServerLatencyP90(s)", "PodSuccessRate(%)"]


def _utc(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


def write_nezha(root: Path, faults: list[tuple[str, str, str]], seed: int = 0) -> Path:
    """rca_data/2022-08-22 with per-pod metrics (broken TimeStamp column, as published),
    one gzipped trace minute per fault, a log minute, dependency.csv and the fault list.
    faults: (inject_time, service, inject_type)."""
    rng = np.random.default_rng(seed)
    day = root / "rca_data" / "2022-08-22"
    (day / "metric").mkdir(parents=True)
    (day / "trace").mkdir()
    (day / "log").mkdir()
    start = _utc("2022-08-22 03:00:00")
    injected = [(_utc(t), svc, kind) for t, svc, kind in faults]
    for svc, pod in NEZHA_PODS.items():
        with open(day / "metric" / f"{pod}_metric.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["Time", "TimeStamp", "PodName", *NEZHA_COLS])
            for m in range(180):
                t = start + 60 * m + 19
                stamp = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
                values = [20 + rng.normal(), 100 + rng.normal(), 0.1 + 0.005 * rng.normal(), 100.0]
                for at, fsvc, kind in injected:
                    if fsvc == svc and at <= t < at + 240:
                        values[0] += 60 if kind.startswith("cpu") else 0
                        values[2] += 2 if kind == "network_delay" else 0
                w.writerow([f"{stamp}.5 +0000 UTC m=+{60 * m}.3", int(t) + 200_000_000, pod, *values])
    (day / "metric" / "dependency.csv").write_text(
        "Source,Target,Weight\nfrontend,cartservice,1\nfrontend,paymentservice,1\nfrontend,33.33.33.1,1\n")
    fault_list: dict[str, list] = {}
    for text, svc, kind in faults:
        fault_list.setdefault(text[11:13], []).append(
            {"inject_time": text, "inject_timestamp": "0", "inject_pod": NEZHA_PODS[svc], "inject_type": kind})
        minute = text[11:16].replace(":", "_")
        t0 = int(_utc(text[:16] + ":00") * 1e9)
        rows = ["TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration",
                f"t1,s1,root,{NEZHA_PODS['frontend']},hipstershop.Frontend/Recv.,{t0 + 5},{t0 + 2_000_005},2000",
                f"t1,s2,s1,{NEZHA_PODS[svc]},hipstershop.X/Get,{t0 + 10},{t0 + 1_000_010},1000"]
        with gzip.open(day / "trace" / f"{minute}_trace.csv.gz", "wt") as fh:
            fh.write("\n".join(rows) + "\n")
        inner = json.dumps({"severity": "error", "message": "charge failed"})
        with open(day / "log" / f"{minute}_log.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["Timestamp", "TimeUnixNano", "Node", "PodName", "Container", "TraceID", "SpanID", "Log"])
            w.writerow(["x", t0 + 20, "n", NEZHA_PODS[svc], "server", "t1", "s2",
                        json.dumps({"log": inner + "\n", "stream": "stdout"})])
    (day / "2022-08-22-fault_list.json").write_text(json.dumps(fault_list))
    return root


PET_NODES = ("PetSite", "PetSearch", "PetSearchDB", "PayForAdoption")
PET_EDGES = {("PetSite", "PetSearch"), ("PetSearch", "PetSearchDB"), ("PetSite", "PayForAdoption")}


def _pet_metrics(path: Path, times: list[float], broken: str | None, rng) -> None:
    header = [["microservice"], ["metric"], ["statistic"], ["unix_timestamp"]]
    cols = [(n, m, s) for n in PET_NODES for m, s in (("latency", "Average"), ("latency", "p90"),
                                                      ("requests", "Sum"), ("availability", "Average"))]
    for n, m, s in cols:
        header[0].append(n)
        header[1].append(m)
        header[2].append(s)
        header[3].append("")
    rows = []
    for i, t in enumerate(times):
        row = [t]
        for n, m, s in cols:
            v = {"latency": 0.05, "requests": 1000.0, "availability": 100.0}[m] * (1 + 0.02 * rng.normal())
            if broken and i >= 1 and m == "latency" and n in (broken, "PetSite"):
                v *= 20
            row.append(v)
        rows.append(row)
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(header + rows)


def write_petshop(root: Path, issues: list[str], seed: int = 0) -> Path:
    """dataset/low_traffic/{graph.csv,noissue/metrics.csv,train/issue_N/...}; issues name the root cause."""
    rng = np.random.default_rng(seed)
    scen = root / "dataset" / "low_traffic"
    (scen / "noissue").mkdir(parents=True)
    lines = ["," + ",".join(PET_NODES)]
    for a in PET_NODES:
        lines.append(a + "," + ",".join("1.0" if (a, b) in PET_EDGES else "0.0" for b in PET_NODES))
    (scen / "graph.csv").write_text("\n".join(lines) + "\n")
    _pet_metrics(scen / "noissue" / "metrics.csv", [1.6e9 + 300 * i for i in range(50)], None, rng)
    for i, cause in enumerate(issues):
        issue = scen / "train" / f"issue_{i}"
        issue.mkdir(parents=True)
        t0 = 1.5e9 + 86400 * i
        _pet_metrics(issue / "metrics.csv", [t0 + 300 * k for k in range(5)], cause, rng)
        (issue / "target.json").write_text(json.dumps({
            "target": {"node": "PetSite", "metric": "latency", "agg": "Average", "timestamp": t0 + 250},
            "root_cause": {"node": cause, "metric": None},
            "metadata": {"reproducibility": {"command": "aws ssm put-parameter --name '/petstore/searchdelay'"}},
        }))
    return root


def test_rcd_cases_and_load(tmp_path):
    write_rcd(tmp_path, [("carts", "cpu"), ("orders", "mem")], gz=True)
    cases = datasets.rcd_cases(tmp_path)
    assert [c.case_id for c in cases] == ["carts-cpu/1", "orders-mem/2"]
    assert cases[0].truth == datasets.GroundTruth("carts", "cpu_saturation", "cpu")
    assert cases[1].truth.fault_kind == "memory_leak"
    assert cases[0].alert_time == 2_000_000
    tel = cases[0].load()
    keys = {m.key for m in tel.metrics}
    assert {"carts-db/cpu", "carts/lat_90", "front-end/lod"} <= keys
    series = next(m for m in tel.metrics if m.key == "carts/cpu")
    assert len(series.values) == 240 and np.all(np.diff(series.timestamps) > 0)
    assert "cpu" not in tel.meta and "truth" not in tel.meta  # ground truth stays outside


def test_rcd_normal_recorded_after_anomalous_is_moved_before(tmp_path):
    write_rcd(tmp_path, [("user", "cpu")])
    case_dir = tmp_path / "sock-shop-data" / "user-cpu" / "1"
    normal = (case_dir / "normal.csv").read_text().replace("\n1", "\n3")  # 1000xxx -> 3000xxx
    (case_dir / "normal.csv").write_text(normal)
    tel = datasets.rcd_cases(tmp_path)[0].load()
    ts = tel.metrics[0].timestamps
    assert np.all(np.diff(ts) > 0) and ts[119] == 2_000_000 - 1
    assert tel.meta["reference_shift_s"] < 0


def test_rcd_missing_layout_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="anomalous.csv"):
        datasets.rcd_cases(tmp_path)


def test_nezha_cases_and_load(tmp_path):
    write_nezha(tmp_path, [("2022-08-22 03:40:10", "cartservice", "cpu_contention"),
                           ("2022-08-22 04:10:30", "paymentservice", "return")])
    cases = datasets.nezha_cases(tmp_path)
    assert [c.case_id for c in cases] == ["ob-2022-08-22-00", "ob-2022-08-22-01"]
    assert cases[0].truth == datasets.GroundTruth("cartservice", "cpu_saturation", "cpu_contention")
    assert cases[1].truth.fault_kind == "code_exception"
    assert cases[0].alert_time == _utc("2022-08-22 03:40:10")
    tel = cases[0].load()
    assert tel.call_graph == [("frontend", "cartservice"), ("frontend", "paymentservice")]
    assert tel.meta["hosts"] == {"frontend": "33.33.33.1"}
    cpu = next(m for m in tel.metrics if m.key.startswith("cartservice/CpuUsageRate"))
    assert cpu.labels["pod"] == NEZHA_PODS["cartservice"]
    # timestamps come from the Time text, not the broken TimeStamp column
    assert cases[0].alert_time - 1800 <= cpu.timestamps[0] and cpu.timestamps[-1] <= cases[0].alert_time + 300
    assert {s.component for s in tel.spans} == {"frontend", "cartservice"}
    root = next(s for s in tel.spans if s.span_id == "s1")
    assert root.parent_id == "" and root.duration_ms == 2.0
    assert tel.logs and tel.logs[0].level == "ERROR" and tel.logs[0].message == "charge failed"
    lean = cases[0].load(traces=False, logs=False)
    assert not lean.spans and not lean.logs and lean.metrics


def test_service_of_pod():
    assert datasets.service_of_pod("productcatalogservice-668d5f85fb-jhwx9") == "productcatalogservice"
    assert datasets.service_of_pod("currencyservice-cf787dd48-vpjrd") == "currencyservice"
    assert datasets.service_of_pod("redis-cart") == "redis-cart"


def test_petshop_cases_and_load(tmp_path):
    write_petshop(tmp_path, ["PetSearchDB"])
    case = datasets.petshop_cases(tmp_path)[0]
    assert case.case_id == "low_traffic/train/issue_0"
    assert case.truth == datasets.GroundTruth("PetSearchDB", "network_delay", case.truth.raw_kind)
    tel = case.load()
    assert set(tel.call_graph) == PET_EDGES
    assert tel.alerts[0].component == "PetSite" and tel.alerts[0].timestamp == case.alert_time
    assert {m.metric for m in tel.metrics} == {"latency_average", "latency_p90", "requests_sum",
                                               "availability_average"}
    assert len(tel.metrics[0].values) == 5
    lat = next(m for m in tel.metrics if m.metric == "latency_average")
    assert lat.labels == {"statistic": "Average", "unit": "s"}  # X-Ray response time is in seconds
    from copilot.plugins.detectors.metrics import series_unit
    assert series_unit(lat) == "s" and series_unit(next(m for m in tel.metrics if m.metric == "requests_sum")) == "req"
    ref = tel.meta["reference"]
    assert len(ref.metrics[0].values) == 50
    assert "PetSearchDB" not in json.dumps(tel.meta.get("note", ""))


def test_adapters_accept_gzip_wide_and_adjacency(tmp_path):
    p = tmp_path / "g.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(",a,b\na,0,1\nb,0,0\n")
    assert datasets.read_adjacency(tmp_path / "g.csv") == [("a", "b")]
    bad = tmp_path / "bad.csv"
    bad.write_text(",a,b\na,0,x\nb,0,0\n")
    with pytest.raises(DataError, match="row 2, column 3"):
        datasets.read_adjacency(bad)
