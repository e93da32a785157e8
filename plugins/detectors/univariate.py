"""Causal per-point anomaly scoring of one series (or many of the same length at once).

A point's score uses only that point and the points before it, so the same code scores
a live stream and a replayed history identically. For each point:

- local baseline: median and robust spread (MAD, with a mean-absolute-deviation fallback
  for mostly-constant series) of the previous `window` points;
- seasonal baseline, when the series has a period: the median of the values one, two and
  three periods earlier, and the robust spread of the recent residuals against it;
- robust z = |x - baseline| / spread; with a period, the smaller of the two z (a point is
  unusual only if it is unusual both for the recent level and for this time of day);
- score = z^2 / (z^2 + threshold^2) in 0..1, exactly 0.5 at `threshold` sigmas.

Everything is vectorised over series and time (numpy sliding windows, chunked so memory
stays bounded); the first `min_history` points of a series score 0 (nothing to compare).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

DEFAULT_WINDOW = 60
DEFAULT_THRESHOLD = 5.0
MIN_HISTORY = 8
SEASONAL_LAGS = 3
_CHUNK_ELEMENTS = 1_000_000  # window elements per chunk: bounds temporary memory
_MAD_TO_SIGMA = 1.4826
_MEANAD_TO_SIGMA = 1.2533


@dataclass
class UnivariateResult:
    scores: np.ndarray  # float64 0..1, one per point
    flags: np.ndarray  # bool, score >= 0.5
    zscores: np.ndarray  # robust sigmas (0 where not scored)
    period: int | None  # seasonal period in points, when one was used


def infer_period(timestamps: np.ndarray, min_cycles: int = 3) -> int | None:
    """The daily period in points, from the timestamps alone (never the values).

    Returns None unless the step is regular, divides a day, and the series spans at
    least `min_cycles` days. Using calendar knowledge rather than the values keeps the
    scoring causal.
    """
    ts = np.asarray(timestamps, dtype=float)
    if ts.size < 3:
        return None
    steps = np.diff(ts)
    step = float(np.median(steps))
    if step <= 0 or np.mean(np.abs(steps - step) > 1e-6 * step + 1e-9) > 0.05:
        return None
    per_day = 86400.0 / step
    if abs(per_day - round(per_day)) > 1e-6 or round(per_day) < 4:
        return None
    period = int(round(per_day))
    if ts.size < min_cycles * period:
        return None
    return period


def score_series(
    values: np.ndarray,
    timestamps: np.ndarray | None = None,
    *,
    window: int = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
    period: int | None | str = "auto",
) -> UnivariateResult:
    """Score one series. `period`: "auto" (daily, from the timestamps), an int, or None."""
    x = np.asarray(values, dtype=float).reshape(1, -1)
    if period == "auto":
        period = infer_period(timestamps) if timestamps is not None else None
    z = robust_z_matrix(x, window=window, period=period)[0]
    scores = z_to_score(z, threshold)
    return UnivariateResult(scores=scores, flags=scores >= 0.5, zscores=z, period=period)


def score_matrix(
    values: np.ndarray,
    *,
    window: int = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
    period: int | None = None,
) -> np.ndarray:
    """Scores (0..1) for a (n_series, n_points) array of equally long series."""
    return z_to_score(robust_z_matrix(np.asarray(values, dtype=float), window=window, period=period), threshold)


def z_to_score(z: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    z2 = np.square(z)
    return z2 / (z2 + threshold * threshold)


def robust_z_matrix(x: np.ndarray, *, window: int = DEFAULT_WINDOW, period: int | None = None) -> np.ndarray:
    """Causal robust z of every point of every row of a 2-D array (0 where unscored)."""
    if x.ndim != 2:
        raise ValueError("expected a 2-D array (series x points)")
    if window < 2:
        raise ValueError("window must be at least 2 points")
    missing = ~np.isfinite(x)
    filled = _forward_fill(x)
    z = _local_z(filled, window)
    if period and period > 0 and x.shape[1] > 2 * period:
        z_season = _seasonal_z(filled, window, period)
        has = np.isfinite(z_season)
        z = np.where(has, np.minimum(z, np.where(has, z_season, np.inf)), z)
    z[missing] = 0.0
    z[:, : min(MIN_HISTORY, x.shape[1])] = 0.0
    return np.nan_to_num(z, nan=0.0, posinf=0.0)


def _forward_fill(x: np.ndarray) -> np.ndarray:
    """NaN/inf replaced by the last finite value (the first finite value before it)."""
    ok = np.isfinite(x)
    if ok.all():
        return x.copy()
    idx = np.where(ok, np.arange(x.shape[1])[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    out = np.take_along_axis(np.where(ok, x, np.nan), idx, axis=1)
    first = np.argmax(ok, axis=1)
    first_val = np.where(ok.any(axis=1), x[np.arange(x.shape[0]), first], 0.0)
    return np.where(np.isnan(out), first_val[:, None], out)


def _local_z(x: np.ndarray, window: int) -> np.ndarray:
    center, spread = rolling_median_spread(x, window)
    return np.abs(x - center) / spread


def _seasonal_z(x: np.ndarray, window: int, period: int) -> np.ndarray:
    n, t = x.shape
    lagged = np.full((n, t, SEASONAL_LAGS), np.nan)
    for k in range(1, SEASONAL_LAGS + 1):
        if k * period < t:
            lagged[:, k * period:, k - 1] = x[:, : t - k * period]
    have = np.isfinite(lagged).sum(axis=-1)
    seasonal = _middle(np.sort(lagged, axis=-1), have)
    resid = x - seasonal
    start = period  # residuals exist from one period on
    z = np.full((n, t), np.nan)
    if t - start > 2:
        center, spread = rolling_median_spread(resid[:, start:], window)
        z[:, start:] = np.abs(resid[:, start:] - center) / spread
        z[:, start: start + MIN_HISTORY] = np.nan
    z[have < 2] = np.nan
    return z


def rolling_median_spread(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust sigma of the `window` points before each point (causal).

    Point t uses x[t-window:t] (fewer at the start; point 0 has no history and gets an
    infinite spread so it never scores).
    """
    n, t = x.shape
    padded = np.concatenate([np.full((n, window), np.nan), x[:, :-1]], axis=1) if t else x
    center = np.empty((n, t))
    spread = np.empty((n, t))
    rows = max(1, _CHUNK_ELEMENTS // max(1, t * window))
    for lo in range(0, n, rows):
        win = sliding_window_view(padded[lo: lo + rows], window, axis=1)[:, :t, :]
        center[lo: lo + rows], spread[lo: lo + rows] = _median_spread(win)
    return center, spread


def _median_spread(win: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust sigma along the last axis, ignoring NaN; never collapses to 0.

    Sort-based: much faster than np.median on strided window views.
    """
    ordered = np.sort(win, axis=-1)  # NaN sort last
    count = np.isfinite(ordered).sum(axis=-1)
    med = _middle(ordered, count)
    dev = np.abs(win - med[..., None])
    mad = _middle(np.sort(dev, axis=-1), count) * _MAD_TO_SIGMA
    with np.errstate(invalid="ignore", divide="ignore"):
        meanad = np.nansum(dev, axis=-1) / count * _MEANAD_TO_SIGMA
    floor = 1e-6 * (np.abs(med) + 1.0)
    spread = np.maximum(np.maximum(mad, 0.5 * meanad), floor)
    empty = count == 0
    return np.where(empty, 0.0, med), np.where(empty, np.inf, spread)


def _middle(ordered: np.ndarray, count: np.ndarray) -> np.ndarray:
    lo = np.maximum(count - 1, 0) // 2
    hi = np.maximum(count, 1) // 2 - (count == 0)
    hi = np.maximum(hi, 0)
    a = np.take_along_axis(ordered, lo[..., None], axis=-1)[..., 0]
    b = np.take_along_axis(ordered, hi[..., None], axis=-1)[..., 0]
    return 0.5 * (a + b)
