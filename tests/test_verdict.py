"""The verdict (copilot/verdict.py): fault, recovered or healthy, and what is ruled out."""

from __future__ import annotations

import numpy as np

from copilot.diagnosis import Finding, RootCause
from copilot.verdict import decide, missing_series
from copilot.plugins.telemetry.model import MetricSeries, Telemetry

T = 1_717_400_000.0


def alert(i: int, name: str, component: str, at: float) -> Finding:
    return Finding(f"A{i}", "alerts", component, name, "alert", f"alert {name} fired on {component}", 0.0, at)


def test_active_evidence_is_a_fault_since_its_onset():
    f = Finding("M1", "metrics", "cart", "cpu", "level_shift", "cpu up", 9.0, T)
    v = decide([RootCause("cart", "cpu_saturation", 0.9, ["M1"])], [f])
    assert (v.state, v.since) == ("fault", T) and "M1" in v.reasons[0]


def test_evidence_that_ended_is_recovered_and_an_alert_storm_from_it_is_ruled_out():
    k = Finding("K1", "platform", "node-3", "node/node-3", "node_not_ready", "node-3 NotReady", 9.0, T,
                {"active": False, "ended": T + 120})
    storm = [alert(i, f"Alert{i}", "checkout", T + 10 * i) for i in range(1, 7)]
    v = decide([RootCause("node-3", "node_not_ready", 0.8, ["K1"])], [k] + storm)
    assert v.state == "recovered" and v.since == T + 120
    assert any("alert storm: 6 alerts" in r.text for r in v.ruled_out)


def test_no_cause_and_only_alerts_is_healthy_with_the_alerts_called_stale():
    v = decide([], [alert(1, "HighLatency", "cart", T)])
    assert v.state == "healthy" and "HighLatency" in v.reasons[-1] and "不" not in v.reasons[-1]
    assert v.reasons_zh and "告警" in v.reasons_zh[-1]


def test_anomalies_without_a_cause_are_not_called_healthy():
    f = Finding("M1", "metrics", "cart", "cpu", "spike", "cpu spike", 8.0, T)
    assert decide([], [f]).state == "fault"


def test_an_alert_about_a_missing_metric_is_ruled_out_as_missing_not_bad():
    ts = T + np.arange(60) * 60.0
    values = np.where(np.arange(60) < 40, 50.0, np.nan)  # stopped reporting 20 minutes before the end
    other = MetricSeries("cart", "latency", ts, np.full(60, 10.0))
    tel = Telemetry(metrics=[MetricSeries("payment", "requests_total", ts, values), other])
    missing = missing_series(tel)
    assert missing == {"payment": ["requests_total"]}
    v = decide([], [alert(1, "PaymentRequestsLow", "payment", T + 2400)], missing_metrics=missing)
    assert v.state == "healthy"
    assert any("metric is missing (requests_total stopped reporting), not bad" in r.text for r in v.ruled_out)
    named = decide([], [alert(1, "absent(up{job=\"payment\"})", "payment", T)])
    assert named.ruled_out and "missing" in named.ruled_out[0].text
