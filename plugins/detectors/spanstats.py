"""Statistics the trace detectors share: operation names compared loosely, the binomial z
of a ratio that rose, and when flagged spans became more frequent."""

from __future__ import annotations

import math
import zlib
from functools import lru_cache

import numpy as np

from .metrics import MAX_SCORE, change_points


def ratio_score(k_base: int, n_base: int, k_win: int, n_win: int) -> tuple[float, float, float]:
    """(binomial z of a ratio rise, baseline ratio, window ratio)."""
    pb = k_base / n_base if n_base else 0.0
    pw = k_win / n_win if n_win else 0.0
    p0 = max(pb, 0.005)
    z = (pw - pb) / math.sqrt(p0 * (1 - min(p0, 0.99)) / max(n_win, 1))
    return min(z, MAX_SCORE), pb, pw


def flag_onset(times: np.ndarray, flags: np.ndarray) -> float | None:
    """When flagged spans (slow, failed, missing a call) became more frequent: the mean-shift
    change point of the 0/1 sequence in time order (sparse minutes do not matter)."""
    if len(times) < 2 or not flags.any():
        return None
    order = np.argsort(times, kind="stable")
    x = flags[order].astype(float)
    k = int(change_points(x[None, :], 1)[0])
    if x[k:].mean() <= x[:k].mean():
        return None
    first_hit = k + int(np.argmax(x[k:] > 0))
    return float(times[order][first_hit])


@lru_cache(maxsize=65536)
def op_key(operation: str) -> str:
    """An operation name compared across client and server spans: `/grpc.a.B/Get` -> `a.b/get`."""
    op = operation.strip().lstrip("/").lower()
    return op[5:] if op.startswith("grpc.") else op


def is_client_span(span, kids) -> bool:
    """A caller-side span wrapping exactly one server span of the same operation in another
    component (`GET` around `GET /api/orders/{id}` counts: one name starts the other)."""
    if len(kids) != 1 or kids[0].component == span.component:
        return False
    a, b = op_key(span.operation), op_key(kids[0].operation)
    return bool(a and b) and (a.startswith(b) or b.startswith(a))


TRACE_BUDGET = 150_000  # spans judged at most per call (about 2 s on one core); beyond it, see `thin_traces`


def thin_traces(spans: list, budget: int | None = None) -> list:
    """At most about `budget` spans, as whole traces: the same random share of traces in
    the baseline and in the window (chosen by a hash of the trace id, so the same input
    thins the same way), as head sampling does. Whole traces keep every parent with its
    children, so latency distributions, error and missing-call ratios and call patterns
    stay unbiased; the tests only lose power, which at this volume they can spare."""
    budget = TRACE_BUDGET if budget is None else budget
    if len(spans) <= budget:
        return spans
    cut = int(budget / len(spans) * 2**32)
    keep: dict[str, bool] = {}
    out = []
    for s in spans:
        k = keep.get(s.trace_id)
        if k is None:
            k = keep[s.trace_id] = zlib.crc32(s.trace_id.encode("utf-8", "replace")) < cut
        if k:
            out.append(s)
    return out
