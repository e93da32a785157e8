"""Statistics the trace detectors share: operation names compared loosely, the binomial z
of a ratio that rose, and when flagged spans became more frequent."""

from __future__ import annotations

import math

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


def op_key(operation: str) -> str:
    """An operation name compared across client and server spans: `/grpc.a.B/Get` -> `a.b/get`."""
    op = operation.strip().lstrip("/").lower()
    return op[5:] if op.startswith("grpc.") else op
