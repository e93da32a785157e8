"""Trace anomalies (origin of latency and errors, lost calls) and change ranking on synthetic data."""

from __future__ import annotations

import numpy as np

from copilot.plugins.detectors.changes import closeness, detect_changes
from copilot.plugins.detectors.traces import detect_trace_anomalies
from copilot.plugins.telemetry.model import ChangeEvent, Span

T0 = 1715688000.0
WINDOW = (T0 + 3600, T0 + 5400)
BASELINE = (T0, T0 + 3600)


def ids():
    counter = iter(range(1, 100000))
    return lambda prefix: f"{prefix}{next(counter)}"


def make_spans(fault: str | None = None, onset: float = T0 + 4200, seed: int = 0) -> list[Span]:
    """web -> api -> store; one trace every 20 s for 90 minutes."""
    rng = np.random.default_rng(seed)
    spans: list[Span] = []
    for i, start in enumerate(np.arange(T0, T0 + 5400, 20.0)):
        on = fault is not None and start >= onset
        tid = f"t{i}"
        store_ms = 2.0 * rng.lognormal(0, 0.2)
        store_fail = on and fault == "store_errors" and rng.random() < 0.3
        lost = on and fault == "lost" and rng.random() < 0.3
        api_own = 5.0 * rng.lognormal(0, 0.2) * (4 if on and fault == "api_slow" else 1)
        api_ms = api_own + (0 if lost else store_ms) + (200 if lost else 0)
        api_fail = store_fail or lost
        web_ms = 3.0 * rng.lognormal(0, 0.2) + api_ms
        spans.append(Span(tid, f"{tid}w", "", "web", "GET /", start, web_ms, "error" if api_fail else "ok"))
        spans.append(Span(tid, f"{tid}a", f"{tid}w", "api", "list", start + 0.001, api_ms, "error" if api_fail else "ok"))
        if not lost:
            spans.append(Span(tid, f"{tid}s", f"{tid}a", "store", "SELECT", start + 0.002, store_ms, "error" if store_fail else "ok"))
    return spans


def by_kind(findings):
    out = {}
    for f in findings:
        out.setdefault(f.kind, []).append(f)
    return out


def test_healthy_traces_give_nothing():
    assert detect_trace_anomalies(make_spans(), WINDOW, BASELINE, ids()) == []


def test_latency_origin_is_the_component_whose_own_time_rose_not_its_callers():
    found = by_kind(detect_trace_anomalies(make_spans("api_slow"), WINDOW, BASELINE, ids()))
    (origin,) = found["latency_origin"]
    assert origin.component == "api" and origin.source == "traces"
    assert abs(origin.onset - (T0 + 4200)) <= 60
    assert "latency originates in api" in origin.summary and "not inherited" in origin.summary
    assert {f.signal for f in found["latency"]} == {"web->api"}  # the edge into api shows it; web's own time is fine


def test_errors_originate_in_the_callee_that_fails_first():
    found = by_kind(detect_trace_anomalies(make_spans("store_errors"), WINDOW, BASELINE, ids()))
    (origin,) = found["error_origin"]
    assert origin.component == "store" and abs(origin.onset - (T0 + 4200)) <= 60
    assert {f.signal for f in found["errors"]} == {"api->store", "web->api"}
    assert "errors originate in store" in origin.summary


def test_missing_calls_are_lost_spans_on_the_callee_not_errors_of_the_caller():
    found = by_kind(detect_trace_anomalies(make_spans("lost"), WINDOW, BASELINE, ids()))
    (lost,) = found["lost_spans"]
    assert lost.component == "store" and lost.signal == "api->store"
    assert 0.15 < lost.details.ratio_after < 0.35 and lost.details.ratio_before == 0
    assert "error_origin" not in found  # api failed because its call was lost, not by itself


def test_orphan_spans_are_reported():
    spans = make_spans()
    for s in spans:
        if s.component == "api" and s.start >= T0 + 4200 and int(s.trace_id[1:]) % 3 == 0:
            s.span_id = "gone-" + s.span_id  # its children now point at a parent that never arrived
    found = by_kind(detect_trace_anomalies(spans, WINDOW, BASELINE, ids()))
    assert [f.component for f in found["orphan_spans"]] == ["store"]


def test_finding_ids_follow_strength():
    findings = detect_trace_anomalies(make_spans("store_errors"), WINDOW, BASELINE, ids())
    assert [f.id for f in findings] == [f"T{i}" for i in range(1, len(findings) + 1)]
    assert [f.score for f in findings] == sorted((f.score for f in findings), reverse=True)


def test_changes_ranked_by_closeness_before_the_onset_first():
    onset = T0 + 4200
    changes = [
        ChangeEvent(onset - 3000, "web", "deploy", "old deploy", id="c1"),
        ChangeEvent(onset - 120, "api", "deploy", "api v2", author="jo", id="c2"),
        ChangeEvent(onset + 120, "store", "config", "raise pool", id="c3"),
        ChangeEvent(onset - 30 * 86400, "web", "deploy", "ancient", id="c0"),
    ]
    found = detect_changes(changes, WINDOW, onset, ids())
    assert [f.signal for f in found] == ["c2", "c3", "c1"]
    assert found[0].id == "C1" and found[0].component == "api" and found[0].score > 8
    assert found[0].summary.startswith("deploy on api at 13:08 by jo, 2 min before the onset (13:10)")
    assert "after the onset" in found[1].summary
    assert closeness(onset - 60, onset) > closeness(onset + 60, onset) > 0
