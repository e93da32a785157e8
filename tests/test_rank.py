"""Root-cause ranking on hand-built findings: call-graph direction, onset order, fault kinds."""

from __future__ import annotations

import random

from copilot.diagnosis import FAULT_KINDS, Finding
from copilot.plugins.detectors.rank import categorise, rank_root_causes

T = 1715688000.0
GRAPH = [("web", "api"), ("api", "store"), ("web", "auth")]


def metric(fid, comp, name, score, onset=T, kind="level_shift", direction="up", baseline=10.0, after=30.0, fam=None):
    from copilot.plugins.detectors.signals import family

    return Finding(fid, "metrics", comp, name, kind, f"{comp} {name} moved", score, onset,
                   {"family": fam or family(name), "direction": direction, "baseline": baseline, "after": after})


def trace(fid, comp, kind, score, onset=T, signal=""):
    return Finding(fid, "traces", comp, signal or f"{comp} {kind}", kind, f"{comp} {kind}", score, onset, {})


def log(fid, comp, template, score=10.0, kind="error_surge", onset=T):
    return Finding(fid, "logs", comp, template, kind, f"{comp} logged '{template}'", score, onset, {"template": template, "count": 40})


def change(fid, comp, score, onset=T - 120):
    return Finding(fid, "changes", comp, fid, "deploy", f"deploy on {comp}", score, onset, {})


def top(findings, graph=GRAPH):
    ranked = rank_root_causes(findings, graph)
    return (ranked[0].component, ranked[0].fault_type), ranked


def test_a_caller_suffers_from_its_callee_not_the_reverse():
    findings = [
        metric("M1", "web", "latency_p90", 40, onset=T + 60),  # the caller shows it most, and later
        metric("M2", "api", "latency_p90", 15, onset=T),
        metric("M3", "api", "cpu_usage", 12, onset=T),
    ]
    (best, ranked) = top(findings)
    assert best == ("api", "cpu_saturation")
    web = next(rc for rc in ranked if rc.component == "web")
    assert web.confidence < ranked[0].confidence
    assert any("callee api is anomalous too" in r for r in web.reasons)
    assert any("look healthy, so the problem starts here" in r for r in ranked[0].reasons)


def test_without_anomalous_callees_the_caller_is_the_origin():
    (best, ranked) = top([metric("M1", "api", "latency_p90", 25), trace("T1", "api", "latency_origin", 12)])
    assert best == ("api", "network_delay")  # latency starting here with normal CPU
    assert ranked[0].evidence[:2] == ["M1", "T1"]


def test_onset_order_breaks_near_ties():
    findings = [metric("M1", "auth", "cpu_usage", 20, onset=T + 600), metric("M2", "store", "cpu_usage", 20, onset=T)]
    assert top(findings)[0][0] == "store"


def test_traffic_surge_at_the_entry_explains_load_below_it():
    findings = [
        metric("M1", "web", "request_rate", 30, baseline=100, after=300),
        metric("M2", "api", "request_rate", 30, baseline=50, after=150),
        metric("M3", "store", "request_rate", 28, baseline=50, after=150),
        metric("M4", "api", "cpu_usage", 40),
        metric("M5", "store", "latency_p99", 35),
        trace("T1", "store", "latency_origin", 8),
        metric("M6", "web", "latency_p99", 12),
    ]
    (best, ranked) = top(findings)
    assert best == ("web", "traffic_surge")
    api = next(rc for rc in ranked if rc.component == "api")
    assert api.fault_type != "cpu_saturation"  # its CPU follows its load
    assert any("load explains it" in r for r in api.reasons)


def test_errors_a_component_raises_itself_are_code_unless_its_network_shows_loss():
    errors = [metric("M1", "api", "error_rate", 30), trace("T1", "api", "error_origin", 20), metric("M2", "web", "error_rate", 10)]
    assert top(errors + [log("L1", "api", "NullPointerException at Pricing.total(Pricing.java:42)")])[0] == ("api", "code_exception")
    assert top(errors + [change("C1", "api", 9.0)])[0] == ("api", "code_exception")
    assert top(errors)[0] == ("api", "code_exception")  # it fails requests itself; nothing points at the network
    assert top(errors + [metric("M3", "api", "tcp_retransmits", 40)])[0] == ("api", "network_loss")
    assert top(errors + [trace("T2", "api", "lost_spans", 30, signal="web->api")])[0] == ("api", "network_loss")
    # only callers see failing calls into it (no error it raises itself): the calls are lost on the way
    assert top([trace("T3", "api", "errors", 30, signal="web->api"), metric("M4", "web", "error_rate", 10)])[0] == ("api", "network_loss")


def test_lost_calls_and_retransmits_are_network_loss_on_the_callee():
    findings = [trace("T1", "store", "lost_spans", 30, signal="api->store"), metric("M1", "store", "tcp_retransmits", 50),
                metric("M2", "api", "error_rate", 40), trace("T2", "api", "errors", 20, signal="web->api")]
    assert top(findings)[0] == ("store", "network_loss")


def test_resource_signatures():
    assert top([metric("M1", "store", "memory_usage", 20, kind="trend"), metric("M2", "store", "latency_p50", 30, onset=T + 900)])[0] == \
        ("store", "memory_leak")
    assert top([metric("M1", "api", "gc_pause_ms", 60), metric("M2", "api", "cpu_usage", 9), metric("M3", "api", "latency_p99", 20)])[0] == \
        ("api", "jvm_gc")
    disk = [metric("M1", "store", "disk_usage", 25), log("L1", "store", "write failed: No space left on device (errno <*>)"),
            trace("T1", "store", "error_origin", 40), metric("M2", "api", "error_rate", 30)]
    assert top(disk)[0] == ("store", "disk_full")
    assert top([metric("M1", "store", "net_rtt_ms", 30), metric("M2", "store", "latency_p90", 20)])[0] == ("store", "network_delay")


def test_a_one_point_spike_does_not_decide_the_kind():
    findings = [metric("M1", "api", "tcp_retransmits", 80), metric("M2", "api", "gc_pause_ms", 4.5, kind="spike")]
    assert top(findings)[0] == ("api", "network_loss")


def test_ranking_is_pure_and_order_independent():
    findings = [metric("M1", "web", "latency_p90", 20), metric("M2", "api", "cpu_usage", 30), log("L1", "auth", "login ok", 5, "template_burst"),
                change("C1", "web", 2.0), trace("T1", "store", "errors", 6, signal="api->store")]
    first = [rc.to_dict() for rc in rank_root_causes(findings, GRAPH)]
    for seed in range(5):
        shuffled = findings[:]
        random.Random(seed).shuffle(shuffled)
        assert [rc.to_dict() for rc in rank_root_causes(shuffled, list(reversed(GRAPH)))] == first
    assert all(0 < rc["confidence"] <= 1 and rc["fault_type"] in FAULT_KINDS for rc in first)
    assert sum(rc["confidence"] for rc in first) <= 1.0001
    assert rank_root_causes([], GRAPH) == []


def test_duplicates_count_once_and_top_k_is_respected():
    findings = [metric("M1", "api", "cpu_usage", 30), metric("M9", "api", "cpu_usage", 30)] + \
               [metric(f"M{i + 2}", f"svc{i}", "latency_p90", 5 + i) for i in range(6)]
    ranked = rank_root_causes(findings, [], top_k=3)
    assert len(ranked) == 3 and ranked[0].component == "api" and ranked[0].evidence == ["M1"]


def test_categories():
    assert categorise(metric("M1", "a", "latency_p90", 9, direction="down")) is None  # faster is not a problem
    assert categorise(metric("M1", "a", "PodSuccessRate(%)", 9, direction="down")) == "errors"
    assert categorise(metric("M1", "a", "request_rate", 9, direction="down")) == "load_drop"
    assert categorise(metric("M1", "a", "request_rate", 9, baseline=100, after=110)) is None  # +10% is not a surge
    assert categorise(log("L1", "a", "GC pause (G1 Evacuation Pause) <*>ms")) == "gc"
    assert categorise(change("C1", "a", 5)) == "change"


def test_memory_versus_cpu_when_both_saturate():
    cpu = metric("M1", "api", "cpu", 99, baseline=0.1, after=99.0)
    small = metric("M2", "api", "mem", 99, baseline=8e6, after=17.5e6)  # a busy process adds a few MB
    big = metric("M2", "api", "mem", 99, baseline=8e6, after=226e6)  # memory pressure
    assert top([cpu, small], [])[0] == ("api", "cpu_saturation")
    assert top([cpu, big], [])[0] == ("api", "memory_leak")
    percent = metric("M2", "api", "memory_usage", 40, baseline=66, after=95)  # +44%, CPU calm
    assert top([percent, metric("M3", "api", "latency_p90", 10)], [])[0] == ("api", "memory_leak")


def test_cpu_rising_much_faster_than_load_is_saturation_not_load():
    findings = [metric("M1", "api", "request_rate", 20, baseline=4, after=10), metric("M2", "api", "cpu", 99, baseline=1, after=99)]
    assert top(findings, [])[0] == ("api", "cpu_saturation")
    load_only = [metric("M1", "api", "request_rate", 20, baseline=4, after=10), metric("M2", "api", "cpu", 30, baseline=20, after=45)]
    assert top(load_only, [])[0] == ("api", "traffic_surge")


def test_a_cpu_driven_to_its_limit_is_saturation_even_with_a_noisy_baseline_and_a_memory_step():
    pinned = metric("M1", "api", "CpuUsageRate(%)", 3.2, baseline=27.0, after=88.0)  # weak sigma, but at its limit
    memory = metric("M2", "api", "MemoryUsage(Mi)", 40, baseline=15.8, after=82.3)  # the stressor's own allocation
    cut = trace("T1", "api", "call_path_change", 9.0)  # a few starved requests end early
    latency = metric("M3", "api", "latency_p99", 30)
    assert top([pinned, memory, cut, latency])[0] == ("api", "cpu_saturation")
    # the same memory climbing steadily is a leak whatever the CPU does
    assert top([pinned, metric("M2", "api", "MemoryUsage(Mi)", 40, kind="trend", baseline=15.8, after=82.3), latency])[0] == \
        ("api", "memory_leak")
    # a CPU that stays well below its limit does not decide over requests cut short
    busy = metric("M1", "api", "CpuUsageRate(%)", 6.0, baseline=20.0, after=35.0)
    assert top([busy, trace("T1", "api", "call_path_change", 30.0), latency])[0] == ("api", "code_exception")


def test_a_small_memory_step_is_not_a_leak_but_memory_reaching_its_limit_is():
    step = metric("M1", "api", "MemoryUsageRate(%)", 8.2, baseline=42.8, after=49.8)
    slow = metric("M2", "api", "latency_p99", 20)
    assert top([step, slow])[0] != ("api", "memory_leak")
    assert top([metric("M1", "api", "MemoryUsageRate(%)", 8.2, baseline=62.0, after=95.0), slow])[0] == ("api", "memory_leak")


def test_common_mode_resource_shifts_count_little():
    shared = [Finding(f"M{i}", "metrics", f"node-{i}", "NodeCpuUsageRate(%)", "level_shift", "moved", 60.0, T,
                      {"family": "cpu", "direction": "up", "baseline": 5.0, "after": 20.0, "common_mode": 0.6})
              for i in range(4)]
    own = metric("M9", "api", "cpu_usage", 20, baseline=10, after=60)
    assert top(shared + [own])[0] == ("api", "cpu_saturation")


def test_an_alerted_symptom_that_did_not_move_with_the_alert_counts_less():
    from copilot.phrases.reasons import cause_reasons

    alert = Finding("A1", "alerts", "web", "latency Average", "alert", "alert latency Average fired on web", 0.0, T, {})
    graph = [("web", "search"), ("web", "jobs")]

    def findings(jobs_moves):
        search = metric("M1", "search", "latency_p99", 40)
        jobs = metric("M2", "jobs", "latency_p50", 70)  # stronger, but noisy and already off before the alert
        search.details.moves_with_alert, jobs.details.moves_with_alert = 0.99, jobs_moves
        return [alert, search, jobs]

    assert top(findings(0.95), graph)[0][0] == "jobs"  # both moved with the alert: the stronger one leads
    (best, ranked) = top(findings(0.3), graph)
    assert best[0] == "search"
    jobs = next(rc for rc in ranked if rc.component == "jobs")
    assert any("did not rise and fall with the alerted one (correlation 0.30)" in r for r in jobs.reasons)
    assert any("相关系数 0.30" in r for r in cause_reasons(jobs, findings(0.3), "zh"))


def test_a_request_rate_rise_below_the_entry_is_load_carried_by_calls_not_a_surge():
    # store's callers have no request-rate series at all (nothing says they surged), and
    # store's own errors are the fault: its rate rose with retries. Only traffic entering
    # at the top of the call graph is a surge.
    findings = [
        metric("M1", "store", "request_rate", 30, baseline=50, after=150),
        metric("M2", "store", "error_rate", 12),
        metric("M3", "web", "latency_p99", 10),
    ]
    (best, ranked) = top(findings)
    assert all(rc.fault_type != "traffic_surge" for rc in ranked)
    assert best[0] == "store"
    entry = [metric("M1", "web", "request_rate", 30, baseline=50, after=150), metric("M3", "web", "latency_p99", 10)]
    assert top(entry)[0] == ("web", "traffic_surge")


def test_more_requests_at_the_entry_with_fewer_below_is_a_fault_below_not_a_surge():
    # a closed-loop client: requests that fail early come back sooner, so the entry's rate
    # rises while the calls the failing step no longer makes fall
    findings = [
        metric("M1", "web", "request_rate", 30, baseline=100, after=180),
        metric("M2", "store", "request_rate", 25, direction="down", baseline=50, after=10),
        trace("T1", "api", "call_path_change", 12),
    ]
    (best, ranked) = top(findings)
    assert best == ("api", "code_exception")
    assert all(rc.fault_type != "traffic_surge" for rc in ranked)


def test_a_surge_explains_load_driven_evidence_below_it_but_not_code_faults():
    base = [
        metric("M1", "web", "request_rate", 30, baseline=100, after=300),
        metric("M2", "api", "request_rate", 30, baseline=50, after=150),
        metric("M3", "api", "latency_p99", 12),
    ]
    (best, ranked) = top(base)
    assert best == ("web", "traffic_surge")
    # the same surge, and requests that stop part-way in api: more users do not cut requests short
    (best, ranked) = top(base + [trace("T1", "api", "call_path_change", 20)])
    assert best == ("api", "code_exception")


def test_a_component_the_call_graph_does_not_show_is_not_an_entry():
    findings = [metric("M1", "batch", "request_rate", 30, baseline=50, after=150), metric("M2", "api", "latency_p99", 10)]
    ranked = rank_root_causes(findings, GRAPH)
    assert all(rc.fault_type != "traffic_surge" for rc in ranked)
