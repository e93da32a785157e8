"""PetShop-shaped inputs: period aggregates on a time grid, and the alert-guided scope of
the ranking (a weak but real symptom in a callee, the symptom traced down the call graph)."""

from __future__ import annotations

import pytest

from copilot.diagnosis import Finding
from copilot.plugins.detectors.rank import _symptom_flow, rank_root_causes
from copilot.plugins.telemetry import datasets

T = 1_681_000_000.0


def _metric(fid, comp, name, score, direction="up", baseline=10.0, after=30.0):
    from copilot.plugins.detectors.signals import family

    return Finding(fid, "metrics", comp, name, "level_shift", f"{comp} {name} moved", score, T + 300,
                   {"family": family(name), "direction": direction, "baseline": baseline, "after": after})


def _alert(comp, name):
    return Finding("A1", "alerts", comp, name, "alert", f"alert {name} fired on {comp}", 0.0, T, {})


def test_period_aggregates_are_stamped_at_the_middle_of_their_period(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("microservice,svc,svc\nmetric,latency,requests\nstatistic,Average,Sum\nunix_timestamp,,\n"
                    "1000,0.1,5\n1300,0.2,6\n1600,0.3,7\n")
    series = datasets.read_petshop_metrics(path)
    assert [s.metric for s in series] == ["latency_average", "requests_sum"]
    # CloudWatch stamps a period at its start: the value at 1300 summarises 1300..1600
    assert list(series[0].timestamps) == [1150.0, 1450.0, 1750.0]
    assert list(series[1].values) == [5.0, 6.0, 7.0]


def test_an_alert_inside_a_period_counts_that_period_as_after_it(tmp_path):
    from tests.test_datasets_adapters import write_petshop

    write_petshop(tmp_path, ["PetSearchDB"])
    case = datasets.petshop_cases(tmp_path)[0]
    ts = case.load().metrics[0].timestamps
    start = 1.5e9  # the first period starts here; the alert is 250 s into it
    assert case.alert_time == start + 250
    assert ts[0] == start + 150 and ts[0] < case.alert_time < ts[1]


def test_a_callee_with_a_weak_symptom_is_still_within_the_alerts_reach():
    # the alerted service calls a backend whose success rate fell only 3.6 sigma; an unrelated
    # component elsewhere shows a far larger latency rise
    findings = [
        _alert("site", "availability Average"),
        _metric("M1", "site", "availability_average", 4.5, direction="down", baseline=100, after=97),
        _metric("M2", "search", "availability_average", 3.6, direction="down", baseline=100, after=98),
        _metric("M3", "reports", "latency_p99", 12.0),
    ]
    graph = [("site", "search"), ("site", "cart"), ("batch", "reports")]
    ranked = rank_root_causes(findings, graph)
    assert ranked[0].component == "search"
    reports = next(r for r in ranked if r.component == "reports")
    assert any("cannot explain the alert" in why for why in reports.evidence and reports.reasons)


def test_the_symptom_splits_among_siblings_and_runs_down_a_chain_without_growing():
    showing = {"site", "lb", "svc", "chain1", "chain2", "chain3", "client"}
    callees = {"site": {"lb", "svc", "chain1", "quiet"}, "chain1": {"chain2"}, "chain2": {"chain3"},
               "svc": {"db"}, "client": {"svc"}}
    callers: dict[str, set[str]] = {}
    for a, bs in callees.items():
        for b in bs:
            callers.setdefault(b, set()).add(a)
    held = _symptom_flow(lambda n: n in showing, lambda n: False, callees, callers, showing | {"quiet", "db"})
    # two independent observations (site, and client which only svc can explain)
    assert sum(held.values()) == pytest.approx(2.0)
    assert held["lb"] == pytest.approx(1 / 3) and held["chain3"] == pytest.approx(1 / 3)  # a chain holds no more
    assert held["svc"] == pytest.approx(1 / 3 + 1)  # its second caller adds a whole share
    assert "chain1" not in held and "quiet" not in held and "db" not in held


def test_the_symptom_stops_at_a_component_whose_own_signals_show_it():
    callees = {"web": {"cart"}, "cart": {"cache"}}
    callers = {"cart": {"web"}, "cache": {"cart"}}
    held = _symptom_flow(lambda n: True, lambda n: n == "cart", callees, callers, {"web", "cart", "cache"})
    assert held == {"cart": 1.0}
