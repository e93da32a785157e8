"""Requests that stop part-way (early return, exception) found in span tables, and where they start."""

from __future__ import annotations

import itertools

import numpy as np

from copilot.plugins.detectors.trace_paths import detect_path_changes
from copilot.plugins.detectors.traces import detect_trace_anomalies
from copilot.plugins.telemetry.model import Span

T0 = 1715688000.0
WINDOW = (T0 + 3600, T0 + 5400)
BASELINE = (T0, T0 + 3600)
ONSET = T0 + 4200


def ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}{next(counter)}"


class Trace:
    """Builds one trace: a span helper that records parent links and start times."""

    def __init__(self, tid: str, start: float, spans: list[Span]) -> None:
        self.tid, self.t, self.spans, self.n = tid, start, spans, 0

    def span(self, parent: str, component: str, operation: str, ms: float = 2.0) -> str:
        self.n += 1
        sid = f"{self.tid}-{self.n}"
        self.spans.append(Span(self.tid, sid, parent, component, operation, self.t + self.n * 0.001, ms))
        return sid


def shop(fault: str | None = None, seed: int = 0) -> list[Span]:
    """frontend -> checkout (cart, payment, email) and frontend -> catalog; both callers also
    render with catalog data. One order every 10 s; every page calls the catalog.
    fault: frontend_exception (frontend stops after the order), checkout_return (checkout
    returns before emailing), catalog_exception (catalog's answers make both callers stop)."""
    rng = np.random.default_rng(seed)
    spans: list[Span] = []
    for i, start in enumerate(np.arange(T0, T0 + 5400, 10.0)):
        on = fault is not None and start >= ONSET and rng.random() < 0.6
        tr = Trace(f"t{i}", float(start), spans)
        root = tr.span("", "frontend", "Recv.")
        if on and fault == "catalog_exception":
            c = tr.span(root, "frontend", "catalog/Get")
            tr.span(c, "catalog", "catalog/Get")  # its answer is unusable: the frontend gives up
            continue
        order = tr.span(root, "frontend", "checkout/PlaceOrder")
        srv = tr.span(order, "checkout", "checkout/PlaceOrder")
        for op, callee in (("cart/GetCart", "cart"), ("catalog/Get", "catalog"), ("payment/Charge", "payment")):
            cl = tr.span(srv, "checkout", op)
            tr.span(cl, callee, op)
        if not (on and fault == "checkout_return"):
            cl = tr.span(srv, "checkout", "email/Send")
            tr.span(cl, "email", "email/Send")
        if on and fault == "frontend_exception":
            continue
        for op, callee in (("catalog/Get", "catalog"), ("recommend/List", "recommend")):
            cl = tr.span(root, "frontend", op)
            tr.span(cl, callee, op)
    return spans


def detect(spans: list[Span]):
    children: dict[str, list[Span]] = {}
    for s in spans:
        if s.parent_id:
            children.setdefault(s.parent_id, []).append(s)

    def period(s: Span) -> int:
        return 0 if BASELINE[0] <= s.start < BASELINE[1] else 1 if WINDOW[0] <= s.start <= WINDOW[1] else -1

    return detect_path_changes(spans, children, period, ids())


def test_healthy_traces_show_no_path_change():
    assert detect(shop(None)) == []


def test_frontend_that_stops_after_the_order_is_the_origin():
    found = detect(shop("frontend_exception"))
    assert [f.component for f in found] == ["frontend"]
    f = found[0]
    assert f.kind == "call_path_change" and f.score >= 4
    assert set(f.details.missing) >= {"recommend:recommend/list"} and f.details.ratio_before == 0
    assert ONSET - 60 <= f.onset <= ONSET + 120


def test_checkout_early_return_blames_checkout_not_its_caller():
    found = detect(shop("checkout_return"))
    assert [f.component for f in found] == ["checkout"]
    assert "email:email/send" in found[0].details.missing  # the call it skipped, named by its callee


def test_callers_that_give_up_after_the_same_callee_blame_the_callee():
    spans = shop("catalog_exception")
    # checkout gives up after catalog too: rewrite part of its orders to stop there
    cut = {s.span_id for s in spans if s.start >= ONSET and s.component == "checkout"
           and s.operation in ("payment/Charge", "email/Send") and int(s.trace_id[1:]) % 2 == 0}
    kids = {s.span_id for s in spans if s.parent_id in cut}
    spans = [s for s in spans if s.span_id not in cut | kids]
    found = detect(spans)
    catalog = [f for f in found if f.component == "catalog"]
    assert catalog and catalog[0].details.callers == ["checkout", "frontend"]
    assert not [f for f in found if f.component == "frontend"]


def test_trace_detector_reports_path_changes_once_with_ids():
    found = [f for f in detect_trace_anomalies(shop("checkout_return"), WINDOW, BASELINE, ids())
             if f.kind == "call_path_change"]
    assert [f.component for f in found] == ["checkout"] and found[0].id.startswith("T")


def test_http_clients_that_name_every_call_alike_still_show_the_skipped_call():
    # Java/HTTP instrumentation names every outgoing call `GET`: the steps are named by the
    # server span each client span wraps, so a skipped call is still a missing step
    spans: list[Span] = []
    rng = np.random.default_rng(3)
    for i, start in enumerate(np.arange(T0, T0 + 5400, 10.0)):
        tr = Trace(f"t{i}", float(start), spans)
        root = tr.span("", "orders", "GET /api/orders")
        calls = ["users", "prices", "seats"]
        if start >= ONSET and rng.random() < 0.6:
            calls = calls[:-1]  # returns before asking for seats
        for callee in calls:
            cl = tr.span(root, "orders", "GET")
            tr.span(cl, callee, f"GET /api/{callee}/{{id}}")
    found = detect(spans)
    assert [f.component for f in found] == ["orders"]
    assert found[0].details.missing == ["seats:get /api/seats/{id}"]


def test_thinned_traces_are_whole_traces_and_still_show_the_fault():
    from copilot.plugins.detectors.spanstats import thin_traces

    spans = shop("checkout_return")
    kept = thin_traces(spans, budget=len(spans) // 3)
    traces = {s.trace_id for s in kept}
    assert len(kept) < len(spans) / 2
    assert kept == [s for s in spans if s.trace_id in traces]  # every span of a kept trace
    assert [f.component for f in detect(kept)] == ["checkout"]


def _orders(fault: str) -> list[Span]:
    spans: list[Span] = []
    rng = np.random.default_rng(5)
    for i, start in enumerate(np.arange(T0, T0 + 5400, 10.0)):
        tr = Trace(f"t{i}", float(start), spans)
        root = tr.span("", "orders", "GET /api/orders")
        on = start >= ONSET and rng.random() < 0.6
        for callee in ("users", "prices", "seats"):
            cl = tr.span(root, "orders", "GET")
            fast = on and fault == "prices_throws" and callee == "prices"
            tr.span(cl, callee, f"GET /api/{callee}", 0.2 if fast else 2.0 + rng.normal(0, 0.1))
            if on and callee == "prices":
                break  # orders gives up after prices: its own early return, or what prices returned
    return spans


def test_one_caller_that_stops_after_a_call_that_ended_early_blames_the_callee():
    found = detect(_orders("prices_throws"))
    assert [f.component for f in found] == ["prices"]
    assert "right after calling prices" in found[0].summary
    # the same truncation after a call that took its usual time: orders' own code stopped
    assert [f.component for f in detect(_orders("orders_returns"))] == ["orders"]


def test_the_missing_steps_are_named_the_same_in_every_process():
    """The steps come from frozensets, whose iteration order follows the process's string hash
    seed: ties in how often a step is missed are broken by name, so a report never changes
    between two runs on the same data."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import json, tests.test_trace_paths as t; "
            "f = t.detect(t.shop('frontend_exception'))[0]; print(json.dumps([f.summary, f.details.missing]))")
    root = Path(__file__).resolve().parent.parent
    outs = set()
    for seed in ("1", "2", "3", "4", "5"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(root))
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outs.add(proc.stdout.strip())
    assert len(outs) == 1, outs
    assert len(json.loads(outs.pop())[1]) >= 2  # several steps, equally often missed: a tie to break
