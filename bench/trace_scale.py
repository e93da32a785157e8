"""How trace detection time and memory grow with trace volume.

    .venv/bin/python bench/trace_scale.py [--spans 50000 100000 200000 400000]

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

from plugins.detectors.traces import detect_trace_anomalies  # noqa: E402
from plugins.telemetry.model import Span  # noqa: E402

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, nargs="+", default=[50_000, 100_000, 200_000, 400_000])
    args = ap.parse_args()
    print(f"{'spans':>9} {'seconds':>8} {'peak MB':>8} findings")
    for n in args.spans:
        spans, window, baseline = shop(n)
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
