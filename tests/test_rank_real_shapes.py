"""Detector and ranking behaviour that the published RCA datasets exercise, on small synthetic data:
fault-free reference baselines, success percentages, series without a baseline, client/server
span pairs (wire time, changed call paths), alert-guided traversal and per-family fault kinds."""

from __future__ import annotations

import numpy as np

from copilot.diagnosis import Finding
from copilot.plugins.detectors.metrics import detect_metric_anomalies
from copilot.plugins.detectors.rank import rank_root_causes
from copilot.plugins.detectors.spanstats import is_client_span
from copilot.plugins.detectors.traces import detect_trace_anomalies
from copilot.plugins.telemetry.model import MetricSeries, Span

T0 = 1_700_000_000.0
STEP = 300.0
TS = T0 + STEP * np.arange(5)  # five 5-minute points, as PetShop publishes
ALERT = TS[2] - 10


def ids():
    counter = iter(range(1, 100000))
    return lambda prefix: f"{prefix}{next(counter)}"


def ms(comp: str, metric: str, values, ts=TS) -> MetricSeries:
    return MetricSeries(comp, metric, np.asarray(ts, dtype=float), np.asarray(values, dtype=float))


def ref(comp: str, metric: str, values) -> MetricSeries:
    return ms(comp, metric, values, T0 - 86400 + STEP * np.arange(len(values)))


def detect(series, reference=None):
    return detect_metric_anomalies(series, (ALERT, TS[-1]), (TS[0], ALERT), ids(), reference=reference)


# ------------------------------------------------------------------ metrics


def test_a_reference_recorded_elsewhere_judges_a_short_case():
    rng = np.random.default_rng(0)
    history = 0.03 + 0.002 * rng.normal(size=200)
    slow = ms("search", "latency_p99", [0.031, 0.030, 1.01, 1.02, 0.032])
    calm = ms("site", "latency_p99", [0.030, 0.031, 0.029, 0.030, 0.031])
    found = detect([slow, calm], reference=[ref("search", "latency_p99", history), ref("site", "latency_p99", history)])
    assert [f.component for f in found] == ["search"]
    assert found[0].score > 20


def test_two_baseline_points_still_judge_but_with_a_wide_floor():
    big = ms("a", "latency_p90", [1.0, 1.02, 5.0, 5.1, 5.0])  # 5x: found
    wobble = ms("b", "latency_p90", [1.0, 1.02, 1.15, 1.12, 1.1])  # 10%: within the floor of few points
    assert [f.component for f in detect([big, wobble])] == ["a"]


def test_a_series_with_no_value_before_the_window_is_not_an_anomaly():
    new = ms("lambda", "latency_average", [np.nan, np.nan, np.nan, 2.4, 2.5])
    assert detect([new]) == []


def test_a_small_drop_of_a_success_percentage_is_large():
    history = np.full(300, 100.0)
    history[::50] = 99.5
    avail = ms("search", "availability_average", [100.0, 100.0, 96.7, 95.0, 100.0])
    (f,) = detect([avail], reference=[ref("search", "availability_average", history)])
    assert f.details.family == "success_rate" and f.details.direction == "down" and f.score >= 4


def test_a_series_already_off_its_reference_before_the_alert_is_chronic():
    history = 0.45 + 0.02 * np.random.default_rng(1).normal(size=200)
    chronic = ms("lambda", "latency_p50", [3.5, 3.55, 3.54, 3.6, 3.5])  # off the reference all along
    fresh = ms("search", "latency_p50", [0.45, 0.46, 3.0, 3.1, 0.46])
    found = detect([chronic, fresh], reference=[ref("lambda", "latency_p50", history), ref("search", "latency_p50", history)])
    assert [f.component for f in found] == ["search"]


# ------------------------------------------------------------------ traces

TT0 = 1_715_688_000.0
WINDOW = (TT0 + 3600, TT0 + 5400)
BASELINE = (TT0, TT0 + 3600)


def client_server_spans(fault: str | None, seed: int = 0) -> list[Span]:
    """web (server) -> web client span 'Store/Get' -> store server span 'Store/Get' -> store 'sql'."""
    rng = np.random.default_rng(seed)
    out: list[Span] = []
    for i, start in enumerate(np.arange(TT0, TT0 + 5400, 20.0)):
        on = fault is not None and start >= TT0 + 4200
        t = f"t{i}"
        sql = 1.0 * rng.lognormal(0, 0.2)
        server = sql + 1.0 * rng.lognormal(0, 0.2)
        wire = 0.5 * rng.lognormal(0, 0.2) + (50.0 if on and fault == "delay" else 0.0)
        client = server + wire
        skip = on and fault == "early_return" and rng.random() < 0.5
        web = 2.0 * rng.lognormal(0, 0.2) + (0 if skip else client)
        out.append(Span(t, f"{t}w", "", "web", "Web/Recv", start, web))
        if skip:
            continue
        out.append(Span(t, f"{t}c", f"{t}w", "web", "hipster.Store/Get", start + 0.001, client))
        out.append(Span(t, f"{t}s", f"{t}c", "store", "grpc.hipster.Store/Get", start + 0.002, server))
        out.append(Span(t, f"{t}q", f"{t}s", "store", "sql", start + 0.003, sql))
    return out


def test_client_spans_are_recognised_by_one_child_of_the_same_operation_elsewhere():
    parent = Span("t", "c", "w", "web", "hipster.Store/Get", 0.0, 3.0)
    assert is_client_span(parent, [Span("t", "s", "c", "store", "grpc.hipster.Store/Get", 0.0, 2.0)])
    assert not is_client_span(parent, [Span("t", "s", "c", "store", "sql", 0.0, 2.0)])
    assert not is_client_span(parent, [Span("t", "s", "c", "web", "hipster.Store/Get", 0.0, 2.0)])


def test_wire_time_is_the_callees_network_not_the_callers_own_time():
    found = detect_trace_anomalies(client_server_spans("delay"), WINDOW, BASELINE, ids())
    kinds = {(f.component, f.kind) for f in found}
    assert ("store", "network_latency") in kinds
    assert ("web", "latency_origin") not in kinds
    assert all(f.signal != "web->web" for f in found)  # calls inside a component are not call edges
    ranked = rank_root_causes(found, [("web", "store")])
    assert (ranked[0].component, ranked[0].fault_type) == ("store", "network_delay")


def test_a_component_skipping_its_own_steps_changed_its_code_path():
    found = detect_trace_anomalies(client_server_spans("early_return"), WINDOW, BASELINE, ids())
    change = [f for f in found if f.kind == "call_path_change"]
    assert [f.component for f in change] == ["web"]
    ranked = rank_root_causes(found, [("web", "store")])
    assert (ranked[0].component, ranked[0].fault_type) == ("web", "code_exception")
    assert not detect_trace_anomalies(client_server_spans(None), WINDOW, BASELINE, ids())


# ------------------------------------------------------------------ ranking

T = 1_715_692_000.0
GRAPH = [("site", "search"), ("site", "lb"), ("client", "search"), ("search", "s3"), ("site", "steps"), ("steps", "fn")]


def metric(fid, comp, name, score, direction="up", baseline=10.0, after=30.0, kind="level_shift"):
    from copilot.plugins.detectors.signals import family

    return Finding(fid, "metrics", comp, name, kind, f"{comp} {name} moved", score, T,
                   {"family": family(name), "direction": direction, "baseline": baseline, "after": after})


def alert(comp: str, name: str) -> Finding:
    return Finding("A1", "alerts", comp, name, "alert", f"alert {name} fired on {comp}", 0.0, T, {})


def test_the_alert_scopes_the_search_to_what_it_calls_through_disturbed_components():
    findings = [alert("site", "latency Average"),
                metric("M1", "site", "latency_p99", 10), metric("M2", "search", "latency_p99", 40),
                metric("M3", "fn", "latency_p50", 90),  # strong, but 'steps' between it and the alert is calm
                metric("M4", "elsewhere", "cpu_usage", 90)]
    ranked = rank_root_causes(findings, GRAPH)
    assert ranked[0].component == "search"
    assert any("does not call it" in r for rc in ranked if rc.component == "elsewhere" for r in rc.reasons)
    # without the alert the strongest anomaly wins: the scope is what the alert adds
    assert rank_root_causes(findings[1:], GRAPH)[0].component in ("fn", "elsewhere")


def test_errors_are_not_explained_by_a_callee_that_is_only_slow():
    findings = [alert("site", "availability Average"),
                metric("M1", "search", "availability_average", 8, direction="down", baseline=100, after=96),
                metric("M2", "client", "availability_average", 12, direction="down", baseline=100, after=92),
                metric("M3", "s3", "latency_p90", 60)]
    ranked = rank_root_causes(findings, GRAPH)
    assert ranked[0].component == "search"
    assert not any("inherited" in r for r in ranked[0].reasons)


def test_a_few_mebibytes_more_beside_saturated_cpu_is_not_a_memory_leak():
    busy = [metric("M1", "cart", "cpu_usage_rate", 99, baseline=6.8, after=100.0),
            metric("M2", "cart", "memory_usage_mi", 99, baseline=33.0, after=57.0)]
    assert rank_root_causes(busy, [])[0].fault_type == "cpu_saturation"
    leak = [metric("M1", "cart", "cpu_usage_rate", 20, baseline=20.0, after=26.0),
            metric("M2", "cart", "memory_usage_mi", 99, baseline=33.0, after=150.0)]
    assert rank_root_causes(leak, [])[0].fault_type == "memory_leak"


# ------------------------------------------------------------------ nezha adapter


def test_node_metrics_belong_to_the_node_not_to_each_pod(tmp_path):
    from copilot.plugins.telemetry.datasets import load_nezha_window

    day = tmp_path / "2022-08-22"
    (day / "metric").mkdir(parents=True)
    header = "Time,TimeStamp,PodName,CpuUsageRate(%),NodeCpuUsageRate(%)\n"
    for pod in ("cart-5f6585d649-fnmft", "pay-9cdb6588f-554sm"):
        rows = [f"2022-08-22 03:{m:02d}:19.5 +0000 UTC m=+1.0,1,{pod},{20 + m},{5 + m}\n" for m in range(10)]
        (day / "metric" / f"{pod}_metric.csv").write_text(header + "".join(rows))
    (day / "metric" / "dependency.csv").write_text("Source,Target,Weight\ncart,pay,1\ncart,10.0.0.7,1\npay,10.0.0.7,1\n")
    tel = load_nezha_window(day, 0, 2e9, traces=False, logs=False)
    keys = sorted((m.component, m.metric) for m in tel.metrics)
    assert keys == [("cart", "CpuUsageRate(%)"), ("node-10.0.0.7", "NodeCpuUsageRate(%)"), ("pay", "CpuUsageRate(%)")]
    assert tel.call_graph == [("cart", "pay")]
