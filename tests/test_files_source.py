"""The files source: every documented shape loads, timestamps are detected, bad files say what is wrong."""

from __future__ import annotations

import csv
import gzip
import json
import time
from pathlib import Path

import numpy as np
import pytest

from copilot.demo import ensure_demo
from copilot.errors import DataError
from copilot.plugins.telemetry.files import derive_call_graph, load_directory
from copilot.plugins.telemetry.tables import parse_time, service_of

T0 = 1715688000.0  # 2024-05-14T12:00:00Z


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def long_rows():
    return [[T0 + 60 * i, comp, "cpu_usage", 10 + i + (5 if comp == "b" else 0)] for i in range(5) for comp in ("a", "b")]


@pytest.mark.parametrize("name", ["metrics.csv", "metrics.csv.gz"])
def test_long_metrics_csv_and_gzip(tmp_path, name):
    write_csv(tmp_path / name, ["timestamp", "component", "metric", "value"], long_rows())
    tel = load_directory(tmp_path)
    series = {m.key: m for m in tel.metrics}
    assert set(series) == {"a/cpu_usage", "b/cpu_usage"}
    assert series["b/cpu_usage"].values.tolist() == [15, 16, 17, 18, 19]
    assert series["a/cpu_usage"].timestamps[0] == T0


def test_a_unit_column_is_how_findings_print_the_values(tmp_path):
    from copilot.plugins.detectors.metrics import detect_metric_anomalies

    rows = [[T0 + 60 * i, "search", "latency_p99", 0.03 if i < 20 else 0.5, "s"] for i in range(30)]
    write_csv(tmp_path / "metrics.csv", ["timestamp", "component", "metric", "value", "unit"], rows)
    tel = load_directory(tmp_path)
    (f,) = detect_metric_anomalies(tel.metrics, (T0 + 1200, T0 + 1800), (T0, T0 + 1200), lambda p: p + "1")
    assert "(0.03 -> 0.5 s)" in f.summary and f.details.unit == "s"  # not the 'ms' its name would suggest


def test_long_metrics_parquet_with_labels(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = long_rows()
    table = pa.table({"ts": [int(r[0] * 1000) for r in rows], "service": [r[1] for r in rows],
                      "name": [r[2] for r in rows], "value": [float(r[3]) for r in rows], "region": ["eu"] * len(rows)})
    pq.write_table(table, tmp_path / "metrics.parquet")
    tel = load_directory(tmp_path)
    assert sorted(m.key for m in tel.metrics) == ["a/cpu_usage{region=eu}", "b/cpu_usage{region=eu}"]
    assert tel.metrics[0].timestamps[0] == T0  # unix milliseconds detected


def test_long_metrics_jsonl_iso_times_and_pod_names(tmp_path):
    lines = [{"timestamp": "2024-05-14T12:0%d:00Z" % i, "pod": "cartservice-7d8b9c6f4-xk2lp", "metric": "mem", "value": i}
             for i in range(4)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    tel = load_directory(tmp_path)
    (m,) = tel.metrics
    assert m.component == "cartservice" and m.labels == {"instance": "cartservice-7d8b9c6f4-xk2lp"}
    assert m.timestamps.tolist() == [T0 + 60 * i for i in range(4)]


def test_wide_metrics_rcd_style(tmp_path):
    rows = [[int(T0) + i, 1.0 + i, 50.0, 20.0 + i] for i in range(6)]
    write_csv(tmp_path / "metrics.csv", ["time", "carts_cpu", "front-end_mem", "carts_lat_90"], rows)
    tel = load_directory(tmp_path)
    got = {(m.component, m.metric): m.values.tolist() for m in tel.metrics}
    assert got[("carts", "lat_90")] == [20.0, 21.0, 22.0, 23.0, 24.0, 25.0]
    assert ("front-end", "mem") in got and ("carts", "cpu") in got


def test_wide_metrics_with_a_component_column_and_per_component_files(tmp_path):
    write_csv(tmp_path / "metric" / "frontend-5c7b8d9f6b-abcde_metric.csv", ["Time", "PodName", "CpuUsageRate(%)", "PodWorkload(Ops)"],
              [[f"2024-05-14 12:0{i}:00.123456789 +0000 UTC m=+0.1", "frontend-5c7b8d9f6b-abcde", i, 10] for i in range(3)])
    write_csv(tmp_path / "metrics" / "db.csv", ["timestamp", "disk_usage"], [[T0 + 60 * i, 40 + i] for i in range(3)])
    tel = load_directory(tmp_path)
    got = {(m.component, m.metric): m for m in tel.metrics}
    assert got[("frontend", "CpuUsageRate(%)")].values.tolist() == [0, 1, 2]
    assert got[("frontend", "CpuUsageRate(%)")].timestamps[1] == pytest.approx(T0 + 60.123456, abs=1e-3)
    assert got[("db", "disk_usage")].values.tolist() == [40, 41, 42]


def test_raw_text_logs_detect_time_level_and_continuations(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "checkout.log").write_text(
        "2024-05-14 12:00:01,250 INFO order 1 created\n"
        "2024-05-14T12:00:02Z ERROR Unhandled exception in POST /orders\n"
        "    at OrderService.price(OrderService.java:142)\n"
        "1715688003 warning slow query\n"
    )
    tel = load_directory(tmp_path)
    assert [(r.component, r.level) for r in tel.logs] == [("checkout", "INFO"), ("checkout", "ERROR"), ("checkout", "WARN")]
    assert tel.logs[0].timestamp == pytest.approx(T0 + 1.25)
    assert "OrderService.java:142" in tel.logs[1].message


def test_logs_as_csv_and_jsonl(tmp_path):
    write_csv(tmp_path / "logs.csv", ["time", "service", "severity", "msg"], [[T0, "cart", "warning", "cache slow"]])
    (tmp_path / "logs_more.jsonl").write_text(json.dumps({"ts": T0 * 1e9, "component": "db", "message": "ERROR disk full"}) + "\n")
    tel = load_directory(tmp_path)
    assert [(r.component, r.level, r.timestamp) for r in tel.logs] == [("cart", "WARN", T0), ("db", "ERROR", T0)]


def test_span_table_with_start_end_nanoseconds_and_root_parent(tmp_path):
    ns = int(T0 * 1e9)
    write_csv(tmp_path / "trace" / "12_00_trace.csv.gz",
              ["TraceID", "SpanID", "ParentID", "PodName", "OperationName", "StartTimeUnixNano", "EndTimeUnixNano", "Duration"],
              [["t1", "s1", "root", "frontend-579b9bff58-t2dbm", "GET /", ns, ns + 12_000_000, 12000],
               ["t1", "s2", "s1", "cartservice-579f59597d-wc2lz", "GetCart", ns + 1_000_000, ns + 6_000_000, 5000]])
    tel = load_directory(tmp_path)
    root, child = sorted(tel.spans, key=lambda s: s.span_id)
    assert root.parent_id == "" and root.component == "frontend" and root.duration_ms == pytest.approx(12.0)
    assert child.component == "cartservice" and child.instance == "cartservice-579f59597d-wc2lz"
    assert tel.call_graph == [("frontend", "cartservice")] and tel.meta["call_graph_from"] == "spans"


def test_otlp_json_traces(tmp_path):
    ns = int(T0 * 1e9)
    doc = {"resourceSpans": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "gateway"}}]},
         "scopeSpans": [{"spans": [{"traceId": "aa", "spanId": "01", "name": "GET /", "startTimeUnixNano": str(ns),
                                    "endTimeUnixNano": str(ns + 30_000_000), "status": {}}]}]},
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "payment"}}]},
         "scopeSpans": [{"spans": [{"traceId": "aa", "spanId": "02", "parentSpanId": "01", "name": "charge",
                                    "startTimeUnixNano": str(ns + 1_000_000), "endTimeUnixNano": str(ns + 21_000_000),
                                    "status": {"code": 2}}]}]},
    ]}
    (tmp_path / "traces.json").write_text(json.dumps(doc))
    tel = load_directory(tmp_path)
    by = {s.component: s for s in tel.spans}
    assert by["payment"].status == "error" and by["gateway"].status == "ok"
    assert by["payment"].duration_ms == pytest.approx(20.0) and by["payment"].parent_id == "01"
    assert tel.call_graph == [("gateway", "payment")]


def test_changes_alerts_and_topology_shapes(tmp_path):
    write_csv(tmp_path / "metrics.csv", ["timestamp", "component", "metric", "value"], long_rows())
    (tmp_path / "changes.jsonl").write_text(json.dumps({"time": "2024-05-14T12:03:00Z", "service": "a", "type": "deploy",
                                                        "description": "v2"}) + "\n")
    (tmp_path / "alerts.jsonl").write_text(json.dumps({"startsAt": "2024-05-14T12:04:00Z",
                                                       "labels": {"alertname": "HighLatency", "service": "b", "severity": "critical"}}) + "\n")
    (tmp_path / "topology.json").write_text(json.dumps({"a": ["b"], "b": []}))
    (tmp_path / "incident.json").write_text("this is not JSON and must never be read")
    tel = load_directory(tmp_path)
    assert [(c.component, c.kind, c.timestamp) for c in tel.changes] == [("a", "deploy", T0 + 180)]
    assert [(a.component, a.name, a.severity) for a in tel.alerts] == [("b", "HighLatency", "critical")]
    assert tel.call_graph == [("a", "b")]
    assert "incident.json" not in json.dumps(tel.meta["files"])


@pytest.mark.parametrize("topology", [{"edges": [["a", "b"]]}, {"edges": [{"caller": "a", "callee": "b"}]}, [["a", "b"]]])
def test_topology_edge_list_shapes(tmp_path, topology):
    write_csv(tmp_path / "metrics.csv", ["timestamp", "component", "metric", "value"], long_rows())
    (tmp_path / "topology.json").write_text(json.dumps(topology))
    assert load_directory(tmp_path).call_graph == [("a", "b")]


def test_timestamp_units_are_detected():
    assert parse_time("1715688000") == T0
    assert parse_time(1715688000123) == pytest.approx(T0 + 0.123)
    assert parse_time("1715688000000000") == T0
    assert parse_time(1715688000 * 10**9) == T0
    assert parse_time("2024-05-14T14:00:00+02:00") == T0
    assert parse_time("2024-05-14 12:00:00") == T0
    assert service_of("checkoutservice-578fcf4766-9csqn") == "checkoutservice"
    assert service_of("front-end") == "front-end" and service_of("orders-mongo") == "orders-mongo"


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("metrics.csv", "timestamp,component,metric,value\n1715688000,a,cpu,1\nyesterday,a,cpu,2\n",
         r"metrics.csv: row 3 column 'timestamp': 'yesterday' is not a time; expected ISO-8601"),
        ("metrics.csv", "timestamp,component,metric,value\n1715688000,a,cpu,high\n",
         r"metrics.csv: row 2 column 'value': 'high' is not a number"),
        ("metrics.csv", "timestamp,component,metric,value\n1715688000,a,cpu\n",
         r"metrics.csv: row 2 has 3 columns, expected 4"),
        ("metrics.csv", "component,metric,value\na,cpu,1\n", r"metrics.csv: no time column"),
        ("metrics.csv", "time,cpu\n1715688000,1\n", r"column 'cpu' is not <component>_<metric>"),
        ("logs.jsonl", '{"timestamp": 1715688000, "message": "ok"}\n{"timestamp": \n', r"logs.jsonl: line 2 is not valid JSON"),
        ("traces.csv", "trace_id,span_id,service,start\nt,s,a,1715688000\n", r"traces.csv: no duration"),
        ("traces.csv", "trace_id,service,start,duration_ms\nt,a,1715688000,3\n", r"missing span column\(s\) span_id"),
        ("changes.jsonl", '{"component": "a"}\n', r"changes.jsonl: record 1 has no time"),
        ("topology.json", '{"edges": [["a"]]}', r"topology.json: edge 1 is \['a'\]; expected \[caller, callee\]"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path, name, text, expected):
    (tmp_path / name).write_text(text)
    with pytest.raises(DataError, match=expected) as info:
        load_directory(tmp_path)
    assert "\n" not in str(info.value)


def test_missing_or_empty_directory(tmp_path):
    with pytest.raises(DataError, match="no such telemetry directory"):
        load_directory(tmp_path / "nope")
    (tmp_path / "notes.md").write_text("hi")
    with pytest.raises(DataError, match="no telemetry files found"):
        load_directory(tmp_path)


def test_demo_loads_fast_completely_and_is_cached():
    root = ensure_demo("cpu_saturation")
    from copilot.plugins.telemetry import files

    files._CACHE.clear()
    started = time.perf_counter()
    tel = load_directory(root)
    elapsed = time.perf_counter() - started
    assert load_directory(root) is tel  # unchanged files: served from the cache
    assert len(tel.components()) == 8 and len(tel.metrics) >= 80 and tel.spans and tel.logs and tel.alerts
    assert tel.meta["call_graph_from"] == "topology"
    assert set(tel.call_graph) >= set(derive_call_graph(tel.spans))
    assert all(np.all(np.diff(m.timestamps) > 0) for m in tel.metrics)
    assert elapsed < 2.0  # about 0.1 s on the reference machine; generous for slow CI


def test_an_edge_table_among_metrics_is_the_call_graph_and_host_edges_are_not_calls(tmp_path):
    # Nezha publishes metric/dependency.csv: Source,Target,Weight, with edges to node IPs for placement
    write_csv(tmp_path / "metric" / "cartservice-579f59597d-wc2lz_metric.csv", ["Time", "PodName", "CpuUsageRate(%)"],
              [[T0 + 60 * i, "cartservice-579f59597d-wc2lz", 5.0 + i] for i in range(5)])
    write_csv(tmp_path / "metric" / "dependency.csv", ["Source", "Target", "Weight"],
              [["frontend", "cartservice", 1], ["checkoutservice", "cartservice", 1], ["cartservice", "10.0.3.82", 1]])
    tel = load_directory(tmp_path)
    assert tel.call_graph == [("checkoutservice", "cartservice"), ("frontend", "cartservice")]
    assert tel.meta["call_graph_from"] == "topology"
    assert {m.component for m in tel.metrics} == {"cartservice"}


def test_a_time_column_in_the_future_gives_way_to_another_time_column(tmp_path):
    # some published files carry a numeric TimeStamp off by years next to a correct text Time
    wrong = time.time() + 2 * 365 * 86400
    rows = [[time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(T0 + 60 * i)), int(wrong + 60 * i), "a-5f6585d649-fnmft", 1.0 + i]
            for i in range(5)]
    write_csv(tmp_path / "metric" / "a_metric.csv", ["Time", "TimeStamp", "PodName", "CpuUsageRate(%)"], rows)
    (series,) = load_directory(tmp_path).metrics
    assert series.timestamps[0] == pytest.approx(T0) and series.timestamps[-1] == pytest.approx(T0 + 240)
    # with only the future column, it is still read (nothing better is known)
    write_csv(tmp_path / "metric" / "a_metric.csv", ["TimeStamp", "PodName", "CpuUsageRate(%)"], [r[1:] for r in rows])
    (series,) = load_directory(tmp_path).metrics
    assert series.timestamps[0] > time.time()


def test_container_json_logs_are_unwrapped_to_the_application_message_and_level(tmp_path):
    inner = json.dumps({"severity": "error", "pid": 1, "message": "TraceID: 12 conversion request failed"})
    rows = [[T0, "currencyservice-cf787dd48-vpjrd", json.dumps({"log": inner + "\n", "stream": "stdout"})],
            [T0 + 1, "frontend-579b9bff58-t2dbm", json.dumps({"log": "plain line from frontend\n"})],
            [T0 + 2, "cartservice-579f59597d-wc2lz", json.dumps({"level": "warn", "msg": "cache miss storm"})]]
    write_csv(tmp_path / "log" / "05_19_log.csv", ["TimeUnixNano", "PodName", "Log"], [[int(t * 1e9), p, m] for t, p, m in rows])
    logs = load_directory(tmp_path).logs
    assert [(r.component, r.message) for r in logs] == [
        ("currencyservice", "TraceID: 12 conversion request failed"), ("frontend", "plain line from frontend"),
        ("cartservice", "cache miss storm")]
    assert logs[0].level == "ERROR" and logs[2].level == "WARN" and logs[1].level not in ("ERROR", "WARN")
