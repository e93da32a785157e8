"""How trace detection time and memory grow with trace volume.

    .venv/bin/python bench/trace_scale.py [--spans 50000 100000 200000 400000] [--system shop|deep]

Builds a synthetic shop (frontend -> checkout -> cart/catalog/payment/email, frontend ->
catalog/recommend, client and server spans as OpenTelemetry instruments them, ~12 spans a
request) with an early return in checkout during the second half, and times
`detect_trace_anomalies` (edges, self time, wire time, errors, lost calls, call-path
changes) on it. Prints spans, seconds (untraced run) and the traced peak memory of the detection
(a second run under tracemalloc).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from copilot.plugins.detectors.traces import detect_trace_anomalies  # noqa: E402
from copilot.plugins.telemetry.model import Span  # noqa: E402

T0 = 1_700_000_000.0


def shop(n_spans: int, seed: int = 0) -> tuple[list[Span], tuple[float, float], tuple[float, float]]:
    rng = np.random.default_rng(seed)
    requests = max(n_spans // 12, 10)
    step = 3600.0 / requests
    spans: list[Span] = []
    for i in range(requests):
        t = T0 + i * step
        late = t >= T0 + 1800
        tid, n = f"t{i}", itertools.count(1)

        def span(parent: str, comp: str, op: str, ms: float) -> str:
            sid = f"{tid}-{next(n)}"
            spans.append(Span(tid, sid, parent, comp, op, t + len(spans) % 7 * 1e-4, ms))
            return sid

        root = span("", "frontend", "Recv.", 40 * rng.lognormal(0, 0.2))
        order = span(root, "frontend", "checkout/PlaceOrder", 20)
        srv = span(order, "checkout", "checkout/PlaceOrder", 18)
        calls = [("cart/GetCart", "cart"), ("catalog/Get", "catalog"), ("payment/Charge", "payment")]
        if not (late and rng.random() < 0.3):
            calls.append(("email/Send", "email"))
        for op, callee in calls:
            cl = span(srv, "checkout", op, 3 * rng.lognormal(0, 0.2))
            span(cl, callee, op, 2 * rng.lognormal(0, 0.2))
        for op, callee in (("catalog/Get", "catalog"), ("recommend/List", "recommend")):
            cl = span(root, "frontend", op, 3 * rng.lognormal(0, 0.2))
            span(cl, callee, op, 2 * rng.lognormal(0, 0.2))
    return spans, (T0 + 1800, T0 + 3600), (T0, T0 + 1800)


def deep(n_spans: int, seed: int = 0, services: int = 45) -> tuple[list[Span], tuple[float, float], tuple[float, float]]:
    """A larger Java-style system: `services` services in a random call tree up to 7 calls
    deep, server spans `GET /api/v1/<svc>/<op>`, client spans named only `GET` (as HTTP
    clients name them), a database call in every leaf; three request types enter at the
    root. In the second half one mid-tree service returns early (skips its last call) on
    30% of its requests."""
    rng = np.random.default_rng(seed)
    names = [f"ts-s{i}-service" for i in range(services)]
    parent = {i: int(rng.integers(max(0, i - 6), i)) for i in range(1, services)}  # deep and wide
    kids: dict[int, list[int]] = {i: [] for i in range(services)}
    for i, p in parent.items():
        kids[p].append(i)
    faulty = next(i for i in range(services // 3, services) if kids[i]) if any(kids[i] for i in range(services // 3, services)) else 1
    per_request = services  # every request visits about every service once, plus clients and db calls
    requests = max(n_spans // (2 * per_request), 10)
    step = 3600.0 / requests
    spans: list[Span] = []
    for r in range(requests):
        t = T0 + r * step
        late = t >= T0 + 1800
        tid, n = f"t{r}", itertools.count(1)

        def span(parent_id: str, comp: str, op: str, ms: float) -> str:
            sid = f"{tid}-{next(n)}"
            spans.append(Span(tid, sid, parent_id, comp, op, t + len(spans) % 7 * 1e-4, ms))
            return sid

        def serve(i: int, parent_id: str) -> None:
            sid = span(parent_id, names[i], f"GET /api/v1/{names[i]}/op", 5 * rng.lognormal(0, 0.2))
            calls = list(kids[i])
            if i == faulty and late and rng.random() < 0.3:
                calls = calls[:-1]
            for k in calls:
                serve(k, span(sid, names[i], "GET", 1.0))
            if not kids[i]:
                span(sid, names[i], "mongo.find", 1.0)

        serve(0, "")
    return spans, (T0 + 1800, T0 + 3600), (T0, T0 + 1800)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, nargs="+", default=[50_000, 100_000, 200_000, 400_000])
    ap.add_argument("--system", choices=("shop", "deep"), default="shop",
                    help="shop: 6 services, 12 spans a request; deep: 45 services up to 7 calls deep, Java-style span names")
    args = ap.parse_args()
    print(f"{'spans':>9} {'seconds':>8} {'peak MB':>8} findings")
    for n in args.spans:
        spans, window, baseline = (shop if args.system == "shop" else deep)(n)
        counter = itertools.count(1)
        t0 = time.perf_counter()
        found = detect_trace_anomalies(spans, window, baseline, lambda p: f"{p}{next(counter)}")
        seconds = time.perf_counter() - t0
        tracemalloc.start()  # a second run: tracing slows it down, so it is not timed
        detect_trace_anomalies(spans, window, baseline, lambda p: f"{p}{next(counter)}")
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        kinds = sorted({f"{f.component}:{f.kind}" for f in found})
        print(f"{len(spans):>9} {seconds:>8.2f} {peak:>8.0f} {', '.join(kinds)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
