"""Causal per-point anomaly scoring of one series (or many of the same length at once).

A point's score uses only that point and the points before it, so the same code scores
a live stream and a replayed history identically. For each point:

- local baseline: median and robust spread (MAD, with a mean-absolute-deviation fallback
  for mostly-constant series) of the previous `window` points;
- seasonal baselines, when the series has a daily period: the median of the values one,
  two and three days earlier and, with more than two weeks of history, one and two weeks
  earlier; each with the robust spread of its recent residuals;
- robust z = |x - baseline| / spread. The baseline whose recent absolute errors are
  smallest judges the point (a seasonal one only when its error is below SELECT_MARGIN
  of the local one); where the local level is as good as any, the smallest z of all
  baselines is used (a point is unusual only if every baseline finds it unusual);
- score = a logistic in z, exactly 0.5 at `threshold` sigmas and near 0 for ordinary
  points (below 0.05 two sigmas under the threshold), so it reads like a probability.
- a drift test (drift_z_matrix), for slow ramps every short baseline follows: the level
  of the last DRIFT_SPAN points against the same time yesterday and a week ago, in units
  of how far that comparison usually strays; scored by the same logistic and reported
  where it first alarms.

Everything is vectorised over series and time (numpy sliding windows, chunked so memory
stays bounded); the first `min_history` points of a series score 0 (nothing to compare).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

DEFAULT_WINDOW = 60
MODES = ("onset", "level")
# Onset mode: an anomaly that keeps a point unusual for this many points is reported once
# (a new onset needs a quiet stretch of this length, or a higher score).
ONSET_HORIZON = 10
DEFAULT_THRESHOLD = 5.0
MIN_HISTORY = 8
SEASONAL_LAGS = 3
WEEKLY_LAGS = 2
SELECT_MARGIN = 0.7  # ... and its recent error must be below this fraction of the local one
SELECT_CAP = 10.0  # a point's |z| counts at most this much when comparing baselines
CALIBRATION_SLOPE = 1.5  # logistic slope per sigma: 0.05 at threshold - 2, 0.95 at threshold + 2
# Drift test (drift_z_matrix): the level of the last DRIFT_SPAN points against the same
# time yesterday and a week ago, in units of how far that comparison strayed over the
# previous DRIFT_HISTORY_DAYS days (judged once at least DRIFT_MIN_SEEN of them exist).
DRIFT_SPAN = 60
DRIFT_HISTORY_DAYS = 7
DRIFT_MIN_SEEN = 0.3
_DRIFT_SAMPLES = 256  # at most about this many past levels make the drift yardstick
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
    mode: str = "level",
    chunk: int | None = None,
) -> UnivariateResult:
    """Score one series. `period`: "auto" (daily, from the timestamps), an int, or None.

    `mode` "level": a point scores high for as long as it is unusual. "onset": a point
    scores high only where the level score rises above everything in the previous
    ONSET_HORIZON points (see onset_scores): an anomaly scores high where it starts, low while
    it merely persists. `chunk`: points scored per block (None: sized for bounded
    memory); the scores do not depend on it.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    x = np.asarray(values, dtype=float).reshape(1, -1)
    if period == "auto":
        used = infer_period(timestamps) if timestamps is not None else None
    elif isinstance(period, str):
        raise ValueError("period must be 'auto', a whole number of points or None")
    else:
        used = period
    z = robust_z_matrix(x, window=window, period=used, chunk=chunk)[0]
    dz = drift_z_matrix(x, period=used, chunk=chunk)[0]
    level, drift = z_to_score(z, threshold), z_to_score(dz, threshold)
    if mode == "onset":
        # A drift is reported where its test first alarms, unless either test alarmed
        # within DRIFT_SPAN points (a level shift trips both: it is reported once).
        recent = np.maximum(level, drift)
        drift_onset = np.minimum(drift, 1.0 - _previous_max(recent, DRIFT_SPAN))
        scores = np.maximum(onset_scores(level, ONSET_HORIZON), drift_onset)
    else:
        # a drift has no single unusual point: it is reported where its test first alarms
        scores = np.maximum(level, np.minimum(drift, 1.0 - _previous_max(drift, DRIFT_SPAN)))
    return UnivariateResult(scores=scores, flags=scores >= 0.5, zscores=np.maximum(z, dz), period=used)


def drift_z_matrix(x: np.ndarray, *, period: int | None, span: int | None = None,
                   chunk: int | None = None) -> np.ndarray:
    """Causal long-horizon z of every point of every row of a 2-D array (0 where unscored).

    A slow ramp moves every short-horizon baseline along with it. This test compares the
    series with itself days back instead: the residual against the same time yesterday
    and, once there is a week of history, a week ago; its median over the last `span`
    points (the current level, robust to spikes) is divided by the usual size of that same
    statistic over the previous DRIFT_HISTORY_DAYS days (median |level| / 0.6745, sampled
    every span/6 points or sparser, at most about _DRIFT_SAMPLES of them, ending `span` points back so the change under test is not in its
    own yardstick). The reference with the smaller usual size judges. Series without a
    daily period score 0: "days back" has no meaning for them.

    Scored in blocks like robust_z_matrix, each with its look-back (two spans and the
    history), so the scores do not depend on the block size.
    """
    rows, t = x.shape
    z = np.zeros((rows, t))
    if not period or t <= 2 * period:
        return z
    lag_sets = _drift_lag_sets(period, t)
    span = span or DRIFT_SPAN
    history = max(DRIFT_HISTORY_DAYS * period, 8 * span)
    stride = max(1, span // 6, history // _DRIFT_SAMPLES)
    lookback = 2 * span + history
    width = max(span, history // stride)
    step = max(1, chunk) if chunk else max(lookback, _CHUNK_ELEMENTS // max(1, rows * width))
    filled = _forward_fill(x)
    missing = ~np.isfinite(x)
    for lo in range(0, t, step):
        hi = min(t, lo + step)
        base = max(0, lo - lookback)
        z[:, lo:hi] = _drift_block(filled, missing, base, hi, lag_sets, span, history, stride)[:, lo - base:]
    z[missing] = 0.0
    z[:, : min(MIN_HISTORY, t)] = 0.0
    return np.nan_to_num(z, nan=0.0, posinf=0.0)


def _drift_lag_sets(period: int, t: int) -> list[tuple[tuple[int, ...], int]]:
    """Yesterday, and a week ago once the series is longer than a week: single days, so a
    weekend moves a reference only on the day it starts and the day after it ends (a median
    of several days back would be off for four days of every week)."""
    sets: list[tuple[tuple[int, ...], int]] = [((period,), 1)]
    if t > 7 * period:
        sets.append(((7 * period,), 1))
    return sets


def _drift_block(filled: np.ndarray, missing: np.ndarray, base: int, hi: int,
                 lag_sets: list[tuple[tuple[int, ...], int]], span: int, history: int,
                 stride: int) -> np.ndarray:
    """Drift z of the points base..hi-1 (exact from base + two spans + history)."""
    rows, t = filled.shape[0], hi - base
    best = np.full((rows, t), np.inf)
    best_usual = np.full((rows, t), np.inf)
    for lags, min_lags in lag_sets:
        resid, have = _seasonal_residual(filled, base, hi, lags)
        resid[(have < min_lags) | missing[:, base:hi]] = np.nan
        # the current level: median of the residuals of the last `span` points, this one included
        padded = np.concatenate([np.full((rows, span - 1), np.nan), resid], axis=1)
        win = np.sort(sliding_window_view(padded, span, axis=1), axis=-1)
        count = np.isfinite(win).sum(axis=-1)
        level = np.where(count * 2 >= span, _middle(win, count), np.nan)
        # its usual size: |level| over the `history` points ending `span` points back
        lead = history + span
        past = np.concatenate([np.full((rows, lead), np.nan), np.abs(level)], axis=1)
        sampled = np.sort(sliding_window_view(past, history, axis=1)[:, :t, ::stride], axis=-1)
        seen = np.isfinite(sampled).sum(axis=-1)
        with np.errstate(invalid="ignore"):
            usual = _middle(sampled, seen) / 0.6745
        floor = 1e-6 * (np.abs(filled[:, base:hi]) + 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            zset = np.abs(level) / np.maximum(usual, floor)
        zset[seen < DRIFT_MIN_SEEN * sampled.shape[-1]] = np.nan
        # the reference that has strayed least lately judges the point
        steady = np.isfinite(zset) & (usual < best_usual)
        best = np.where(steady, zset, best)
        best_usual = np.where(steady, usual, best_usual)
    return np.where(np.isfinite(best), best, 0.0)


def onset_scores(scores: np.ndarray, horizon: int) -> np.ndarray:
    """min(score, 1 - the highest of the `horizon` scores before it): unchanged after a
    quiet stretch, near 0 while an anomaly persists; at least 0.5 exactly where the level
    score first crosses 0.5 within the horizon (or climbs from below 0.5 to above it)."""
    s = np.asarray(scores, dtype=float)
    return np.minimum(s, 1.0 - _previous_max(s, horizon))


def _previous_max(s: np.ndarray, horizon: int) -> np.ndarray:
    """The highest of the `horizon` values before each point (0 before the first)."""
    if s.size == 0:
        return s.copy()
    return sliding_window_view(np.concatenate([np.zeros(horizon), s[:-1]]), horizon).max(axis=1)


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
    """A probability-like score: a logistic in z, 0.5 at `threshold` sigmas, below 0.05
    two sigmas under it (so ordinary points score near 0), 0 where a point was not scored."""
    with np.errstate(over="ignore"):
        score = 1.0 / (1.0 + np.exp(-CALIBRATION_SLOPE * (np.asarray(z, dtype=float) - threshold)))
    return np.where(np.asarray(z) > 0, score, 0.0)


def robust_z_matrix(x: np.ndarray, *, window: int = DEFAULT_WINDOW, period: int | None = None,
                    chunk: int | None = None) -> np.ndarray:
    """Causal robust z of every point of every row of a 2-D array (0 where unscored).

    Each point is judged by the baseline that has predicted its series best lately: the
    local level, the same time of day (one to three periods back) or, with two weeks of
    history, the same time of week. "Best" is the smallest mean |z| (capped at
    SELECT_CAP) over the previous `window` points, so a daily job that the local level
    calls an outlier every day makes the daily baseline win.

    Scored in blocks of `chunk` points (default: sized so a block's window temporaries stay
    near _CHUNK_ELEMENTS), each with the look-back the baselines need (two windows, and the
    seasonal lags read from the whole series), so memory follows the window, not the series,
    and the scores are the same whatever the block size.
    """
    if x.ndim != 2:
        raise ValueError("expected a 2-D array (series x points)")
    if window < 2:
        raise ValueError("window must be at least 2 points")
    rows, t = x.shape
    filled = _forward_fill(x)
    lag_sets = _lag_sets(period, t)
    step = max(1, chunk) if chunk else max(4 * window, _CHUNK_ELEMENTS // max(1, rows * window))
    lookback = 2 * window + 1  # a point's z needs a window; its baseline choice, the window before
    z = np.empty((rows, t))
    for lo in range(0, t, step):
        hi = min(t, lo + step)
        base = max(0, lo - lookback)
        z[:, lo:hi] = _z_block(filled, base, hi, window, lag_sets)[:, lo - base:]
    z[~np.isfinite(x)] = 0.0
    z[:, : min(MIN_HISTORY, t)] = 0.0
    return np.nan_to_num(z, nan=0.0, posinf=0.0)


def _lag_sets(period: int | None, t: int) -> list[tuple[tuple[int, ...], int]]:
    """The seasonal references of a series of `t` points: (lags in points, lags needed)."""
    lag_sets: list[tuple[tuple[int, ...], int]] = []
    if period and period > 0 and t > 2 * period:
        lag_sets.append((tuple(k * period for k in range(1, SEASONAL_LAGS + 1)), 2))
        if t > WEEKLY_LAGS * 7 * period:
            lag_sets.append((tuple(7 * k * period for k in range(1, WEEKLY_LAGS + 1)), 1))
    return lag_sets


def _z_block(filled: np.ndarray, base: int, hi: int, window: int,
             lag_sets: list[tuple[tuple[int, ...], int]]) -> np.ndarray:
    """z of the points base..hi-1 of the forward-filled series (exact from base + 2 windows)."""
    block = filled[:, base:hi]
    local_z, local_err, local_spread = _local_fit(block, window)
    candidates = [(local_z, local_err)]
    for lags, min_lags in lag_sets:
        candidates.append(_seasonal_z(filled, base, hi, window, lags, min_lags))
    return _best_of(candidates, window, SELECT_CAP * local_spread)


def _best_of(candidates: list[tuple[np.ndarray, np.ndarray]], window: int, cap: np.ndarray) -> np.ndarray:
    """Per point, the z of the candidate baseline with the smallest recent mean absolute
    error (each error capped at `cap`, in the series' units, the same for every baseline)."""
    if len(candidates) == 1:
        return candidates[0][0]
    stack = np.stack([z for z, _ in candidates])  # (models, series, points)
    errors = np.stack([e for _, e in candidates])
    capped = np.where(np.isfinite(errors), np.minimum(errors, cap[None]), np.nan)
    have = np.isfinite(capped)
    # Sums over each point's previous `window` points, window by window (not a running sum,
    # whose rounding would depend on where a block starts).
    pad = np.zeros(stack.shape[:2] + (window,))
    total = sliding_window_view(np.concatenate([pad, np.where(have, capped, 0.0)], axis=-1), window, axis=-1)
    count = sliding_window_view(np.concatenate([pad, have], axis=-1), window, axis=-1)
    t = stack.shape[-1]
    count = count[..., :t, :].sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recent = total[..., :t, :].sum(axis=-1) / count
    # A baseline is eligible once it has a full window of its own record and scores this point.
    recent = np.where((count >= min(window, MIN_HISTORY * 2)) & np.isfinite(stack), recent, np.inf)
    recent[0] = np.where(np.isinf(recent[0]), 1e300, recent[0])  # the local level is the fallback
    recent[1:] /= SELECT_MARGIN  # a seasonal baseline must beat the local level clearly
    choice = np.argmin(recent, axis=0)
    chosen = np.take_along_axis(stack, choice[None], axis=0)[0]
    # Where the local level predicts as well as any, a point must be unusual for every baseline.
    every = np.nanmin(np.where(np.isfinite(stack), stack, np.inf), axis=0)
    return np.where(choice == 0, every, chosen)


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


def _local_fit(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z against the recent level, the absolute error of that baseline, and its spread."""
    center, spread = rolling_median_spread(x, window)
    err = np.abs(x - center)
    return err / spread, err, np.where(np.isfinite(spread), spread, np.nan)


def _seasonal_residual(filled: np.ndarray, base: int, hi: int,
                       lags: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """x minus the median of its values `lags` points back, for the points base..hi-1 (NaN
    where none exists), and how many of them exist (read from the whole series)."""
    n = filled.shape[0]
    t = hi - base
    lagged = np.full((n, t, len(lags)), np.nan)
    for k, lag in enumerate(lags):
        first = max(base, lag)
        if first < hi:
            lagged[:, first - base:, k] = filled[:, first - lag: hi - lag]
    have = np.isfinite(lagged).sum(axis=-1)
    return filled[:, base:hi] - _middle(np.sort(lagged, axis=-1), have), have


def _seasonal_z(filled: np.ndarray, base: int, hi: int, window: int, lags: tuple[int, ...],
                min_lags: int) -> tuple[np.ndarray, np.ndarray]:
    """z against the same phase `lags` points back (median of them), and its absolute error,
    for the points base..hi-1 (the lagged values are read from the whole series)."""
    n = filled.shape[0]
    t = hi - base
    resid, have = _seasonal_residual(filled, base, hi, lags)
    start = max(lags[0], base) - base  # residuals exist from one lag on
    z = np.full((n, t), np.nan)
    err = np.full((n, t), np.nan)
    if filled.shape[1] - lags[0] > 2 and start < t:
        center, spread = rolling_median_spread(resid[:, start:], window)
        err[:, start:] = np.abs(resid[:, start:] - center)
        z[:, start:] = err[:, start:] / spread
        z[:, max(lags[0] - base, 0): max(lags[0] + MIN_HISTORY - base, 0)] = np.nan
    z[have < min_lags] = np.nan
    err[~np.isfinite(z)] = np.nan
    return z, err


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
