"""The array computation of the trace detector's samples equals the plain per-span loop."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from copilot.plugins.detectors.span_groups import span_groups
from copilot.plugins.detectors.spanstats import is_client_span, op_key
from copilot.plugins.detectors.traces import EXPECTED_CALL, MIN_SPANS
from copilot.plugins.telemetry.model import Span

from .test_trace_paths import BASELINE, T0, WINDOW, shop


def reference(spans, window, baseline):
    """The per-span loop the detector used before `span_groups`, kept as the reference."""
    by_id = {s.span_id: s for s in spans}
    children = defaultdict(list)
    for s in spans:
        if s.parent_id:
            children[s.parent_id].append(s)

    def period(s):
        if baseline[0] <= s.start < baseline[1]:
            return 0
        return 1 if window[0] <= s.start <= window[1] else -1

    op_calls = defaultdict(lambda: defaultdict(int))
    op_count = defaultdict(int)
    for s in spans:
        if period(s) == 0:
            key = (s.component, s.operation)
            op_count[key] += 1
            for svc in {c.component for c in children.get(s.span_id, ())}:
                op_calls[key][svc] += 1
    expected = {key: {svc for svc, k in calls.items() if op_count[key] >= MIN_SPANS and k / op_count[key] >= EXPECTED_CALL}
                for key, calls in op_calls.items()}
    lat = {name: defaultdict(lambda: ([], [], [])) for name in ("self_ms", "wire_ms", "edge_ms")}
    rat = {name: defaultdict(lambda: ([0, 0], [0, 0], [], [])) for name in ("edge_err", "origin_err", "lost", "orphans")}

    def add_lat(name, key, p, value, t):
        lat[name][key][p].append(value)
        if p == 1:
            lat[name][key][2].append(t)

    def add_rat(name, key, p, flag, t):
        entry = rat[name][key]
        entry[p][0] += flag
        entry[p][1] += 1
        if p == 1:
            entry[2].append(t)
            entry[3].append(flag)

    for s in spans:
        p = period(s)
        if p < 0:
            continue
        kids = children.get(s.span_id, ())
        own = max(s.duration_ms - sum(c.duration_ms for c in kids), 0.0)
        if is_client_span(s, kids):
            add_lat("wire_ms", kids[0].component, p, own, s.start)
        else:
            add_lat("self_ms", s.component, p, own, s.start)
        missing = expected.get((s.component, s.operation), set()) - {c.component for c in kids}
        for svc in expected.get((s.component, s.operation), ()):
            add_rat("lost", (s.component, svc), p, svc in missing, s.start)
        failed = s.status == "error"
        add_rat("origin_err", s.component, p, failed and not missing and not any(c.status == "error" for c in kids), s.start)
        parent = by_id.get(s.parent_id) if s.parent_id else None
        if s.parent_id and parent is not None and parent.component != s.component:
            add_lat("edge_ms", (parent.component, s.component), p, s.duration_ms, s.start)
            add_rat("edge_err", (parent.component, s.component), p, failed, s.start)
        add_rat("orphans", s.component, p, bool(s.parent_id) and parent is None, s.start)
    return lat, rat


def reference_patterns(spans, window, baseline):
    """Per span in either period, the steps its children made, as `trace_paths` names them."""
    children = defaultdict(list)
    for s in spans:
        if s.parent_id:
            children[s.parent_id].append(s)

    def step(c):
        kids = children.get(c.span_id, ())
        target = kids[0] if is_client_span(c, kids) else c
        return (target.component, op_key(target.operation))

    def judged(s):
        return baseline[0] <= s.start < baseline[1] or window[0] <= s.start <= window[1]

    return [frozenset(step(c) for c in children.get(s.span_id, ())) if judged(s) else None for s in spans]


def messy(seed: int) -> list[Span]:
    """A shop with failures, lost parents, repeated span ids, client spans, spans on the period
    edges and spans outside both periods."""
    rng = np.random.default_rng(seed)
    spans = shop("checkout_return", seed) + shop("catalog_exception", seed + 1)
    out = []
    for i, s in enumerate(spans):
        r = rng.random()
        status = "error" if r < 0.05 or (s.component == "payment" and s.start > WINDOW[0] and r < 0.3) else "ok"
        parent = "gone" if 0.05 <= r < 0.07 and s.parent_id else s.parent_id
        sid = spans[i - 1].span_id if 0.07 <= r < 0.08 and i else s.span_id
        start = s.start + (7200 if 0.08 <= r < 0.09 else 0)
        start = BASELINE[1] if 0.09 <= r < 0.095 else WINDOW[1] if 0.095 <= r < 0.1 else start  # period edges
        out.append(Span(s.trace_id, sid, parent, s.component, s.operation, start,
                        float(rng.lognormal(1.0, 0.5)) * (3 if s.component == "cart" and start > WINDOW[0] else 1), status))
    return out


@pytest.mark.parametrize("spans", [shop(), shop("frontend_exception"), messy(0), messy(1), []],
                         ids=["healthy", "frontend_exception", "messy0", "messy1", "empty"])
def test_span_groups_equal_the_per_span_loop(spans):
    got = span_groups(spans, WINDOW, BASELINE, MIN_SPANS, EXPECTED_CALL)
    lat, rat = reference(spans, WINDOW, BASELINE)
    for name, ref in lat.items():
        mine = getattr(got, name)
        assert set(mine) == set(ref), name
        for key, (b, w, t) in ref.items():
            assert mine[key][0].tolist() == b and mine[key][1].tolist() == w and mine[key][2].tolist() == t, (name, key)
    for name, ref in rat.items():
        mine = getattr(got, name)
        assert set(mine) == set(ref), name
        for key, (b, w, t, f) in ref.items():
            assert (list(mine[key][0]), list(mine[key][1])) == (b, w), (name, key)
            assert mine[key][2].tolist() == t and mine[key][3].tolist() == f, (name, key)
    assert got.patterns == reference_patterns(spans, WINDOW, BASELINE)
    children = defaultdict(list)
    for s in spans:
        if s.parent_id:
            children[s.parent_id].append(s)
    for s in spans:
        assert got.children.get(s.span_id, ()) == children.get(s.span_id, ()), s.span_id
    assert got.children.get("no such span") is None
    assert any(p for p in got.patterns) == bool(spans)
    if spans:
        assert got.self_ms and got.wire_ms and got.edge_ms and got.origin_err


def test_messy_shop_exercises_every_group():
    got = span_groups(messy(0), WINDOW, BASELINE, MIN_SPANS, EXPECTED_CALL)
    assert any(w[0] for _, w, _, _ in got.orphans.values())  # lost parents counted in the window
    assert any(w[0] for _, w, _, _ in got.lost.values())  # expected calls missing in the window
    assert any(w[0] for _, w, _, _ in got.edge_err.values())
    assert T0 + 7200 > WINDOW[1]  # the shifted spans fall outside both periods
