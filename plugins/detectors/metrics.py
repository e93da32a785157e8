"""Metric anomalies: which series of which component deviate, by how much, since when.

For every series: a robust baseline (median and MAD of the baseline period), robust z
scores of the window, the onset as the most likely mean-shift change point (a CUSUM-style
two-segment split over baseline + window), and a score in robust sigmas:
max(|median z after the onset|, 0.6 x peak |z|). Series sharing a time grid are scored
together as one matrix, so thousands of series take milliseconds.

`reference`: fault-free history of the same series recorded at another time (matched by
key). Where given, it is the baseline distribution (median/MAD), which matters when the
data before the window is short or itself disturbed. With fewer than
MIN_BASELINE_POINTS baseline points and no reference, a series is still judged, but its
scale floor is FEW_REL_FLOOR of its level, so two or three points cannot make noise look
like many sigmas.

Seasonality: a series that reaches back a day before its baseline and follows a daily
cycle is judged against the same time a day earlier (`_seasonal`). Alerts: given the
alerted series (`alerted_series`), each finding records how closely it moved with them.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

import numpy as np

from copilot.diagnosis import Finding
from copilot.evidence import MetricEvidence
from copilot.timefmt import hhmm

from ..telemetry.model import MetricSeries
from .robust import MAD_TO_SIGMA, center_scale_rows
from .signals import BAD_DIRECTION, family, is_utilisation, normalise, unit

REL_FLOOR = 0.02  # the scale is at least 2% of the baseline level...
ABS_FLOOR = 1e-3  # ...and never below this
MAX_SCORE = 99.0
MIN_BASELINE_POINTS = 5
FEW_REL_FLOOR = 0.1  # relative scale floor when the baseline has fewer points than that
MIN_REFERENCE_POINTS = 3
SUCCESS_FLOOR_PP = 0.5  # scale floor of a success percentage, in percentage points
MIN_TAIL = 3  # a level shift needs this many points after its onset (fewer: judged as a spike)


def robust_baseline(values: np.ndarray, rel_floor: float = REL_FLOOR) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise median and robust scale (sigma units) of a matrix, NaN ignored."""
    return center_scale_rows(values, rel_floor, ABS_FLOOR)


def change_points(z: np.ndarray, first: int, min_tail: int = 1) -> np.ndarray:
    """Per row, the split index k >= first maximising the two-segment mean-shift statistic
    (the segment after the split has at least `min_tail` points when the data allows)."""
    rows, n = z.shape
    if n - first < 1:
        return np.full(rows, max(first, 0))
    csum = np.concatenate([np.zeros((rows, 1)), np.cumsum(z, axis=1)], axis=1)
    total = csum[:, -1:]
    ks = np.arange(max(first, 1), max(n - min_tail + 1, max(first, 1) + 1))
    ks = ks[ks < n]
    left = csum[:, ks]
    n1, n2 = ks.astype(float), (n - ks).astype(float)
    stat = np.abs((total - left) / n2 - left / n1) * np.sqrt(n1 * n2 / n)
    return ks[np.argmax(stat, axis=1)] if len(ks) else np.full(rows, first)


@dataclass
class Scored:
    series: MetricSeries
    score: float
    direction: int
    onset: float
    baseline: float
    after: float
    peak: float
    kind: str
    slope_per_min: float = 0.0
    seasonal: bool = False  # judged against the same time one season (a day) earlier
    counted: tuple | None = None  # (baseline failing share, window failing share, window requests): scored by failure_z


def score_series(
    series: list[MetricSeries], window: tuple[float, float], baseline: tuple[float, float], min_score: float = 0.0,
    reference: list[MetricSeries] | None = None,
) -> list[Scored]:
    """Score every series; returns those scoring at least `min_score` (all by default)."""
    groups: dict[bytes, list[MetricSeries]] = defaultdict(list)
    for s in series:
        if len(s.timestamps):
            groups[s.timestamps.tobytes()].append(s)
    refs: dict[str, np.ndarray] = {}
    for r in reference or ():
        v = np.asarray(r.values, dtype=float)
        v = v[np.isfinite(v)]
        if v.size >= MIN_REFERENCE_POINTS:
            refs[r.key] = v
    out: list[Scored] = []
    for members in groups.values():
        out.extend(_score_group(members, window, baseline, min_score, refs))
    return out


def _baseline_stats(values: np.ndarray, base: np.ndarray, members: list[MetricSeries],
                    refs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-row median and scale: from the reference where a series has one, else from the
    baseline points (with a wider relative floor when they are few)."""
    if base.any():
        with warnings.catch_warnings():  # rows without baseline values have a reference
            warnings.simplefilter("ignore", RuntimeWarning)
            med, scale = robust_baseline(values[:, base], FEW_REL_FLOOR if base.sum() < MIN_BASELINE_POINTS else REL_FLOOR)
    else:  # every row has a reference (see _score_group)
        med, scale = np.zeros(len(members)), np.ones(len(members))
    for i, m in enumerate(members):
        ref = refs.get(m.key)
        if ref is not None:
            rm, rs = robust_baseline(ref[None, :])
            med[i], scale[i] = rm[0], rs[0]
            if family(m.metric) == "success_rate" and 1.0 < med[i] <= 100.0:
                # a success percentage: its noise is relative to the failing share, not the level
                mad = MAD_TO_SIGMA * float(np.median(np.abs(ref - med[i])))
                scale[i] = max(mad, REL_FLOOR * (100.0 - med[i]), SUCCESS_FLOOR_PP)
    if not refs:
        for i, m in enumerate(members):
            if family(m.metric) == "success_rate" and 1.0 < med[i] <= 100.0:
                mad = MAD_TO_SIGMA * float(np.nan_to_num(np.nanmedian(np.abs(values[i, base] - med[i])))) if base.any() else 0.0
                scale[i] = max(mad, REL_FLOOR * (100.0 - med[i]), SUCCESS_FLOOR_PP)
    return med, scale


def _score_group(members: list[MetricSeries], window, baseline, min_score: float,
                 refs: dict[str, np.ndarray] | None = None) -> list[Scored]:
    refs = refs or {}
    ts = members[0].timestamps
    base = (ts >= baseline[0]) & (ts < baseline[1])
    win = (ts >= window[0]) & (ts <= window[1])
    if win.sum() < 1:
        return []
    values = np.vstack([m.values for m in members]).astype(float)
    # a series with no value before the window has no baseline: only a reference can judge it
    judged = np.isfinite(values[:, base]).any(axis=1) | np.array([m.key in refs for m in members])
    if not judged.all():
        members = [m for m, ok in zip(members, judged) if ok]
        values = values[judged]
        if not members:
            return []
    med, scale = _baseline_stats(values, base, members, refs)
    span = base | win
    z = (values[:, span] - med[:, None]) / scale[:, None]
    rows = np.zeros(len(members), dtype=bool)
    seasonal = _seasonal(ts, values, span, base, win, med, scale, np.array([m.key in refs for m in members]))
    if seasonal is not None:  # a daily cycle: judged against the same time a day earlier
        rows, sz, expected, sscale = seasonal
        z[rows], med[rows], scale[rows] = sz, expected, sscale
    z = np.nan_to_num(z, nan=0.0, posinf=MAX_SCORE, neginf=-MAX_SCORE)
    z = np.clip(z, -10 * MAX_SCORE, 10 * MAX_SCORE)
    span_ts = ts[span]
    first_win = int(np.argmax(win[span]))
    ks = change_points(z, first_win, MIN_TAIL)
    zw = z[:, first_win:]
    peak_idx = np.argmax(np.abs(zw), axis=1)
    peak = zw[np.arange(len(members)), peak_idx]
    after_split = np.where(np.arange(z.shape[1])[None, :] >= ks[:, None], z, np.nan)
    with np.errstate(all="ignore"):
        post_med = np.nan_to_num(np.nanmedian(after_split, axis=1))
    score = np.minimum(np.maximum(np.abs(post_med), 0.6 * np.abs(peak)), MAX_SCORE)
    score = _chronic_cap(score, z[:, :first_win], values[:, base], values[:, win], members, refs)
    keep = (score >= min_score) | (_at_limit(values[:, base], values[:, win], members) & (score >= AT_LIMIT_MIN_SCORE))
    out = []
    for i in np.nonzero(keep)[0]:
        m = members[i]
        level_dir = np.sign(post_med[i]) if abs(post_med[i]) >= 0.6 * abs(peak[i]) else np.sign(peak[i])
        k = int(ks[i]) if abs(post_med[i]) >= 0.6 * abs(peak[i]) else first_win + int(peak_idx[i])
        direction = int(level_dir) or 1
        k = _refine_onset(z[i], k, direction, first_win)
        post = values[i, span][k:]
        after = float(np.nanmedian(post)) if len(post) and not np.all(np.isnan(post)) else float("nan")
        kind, slope = _shape(span_ts[k:], values[i, span][k:], z[i, k:], scale[i], direction)
        out.append(Scored(m, float(score[i]), direction, float(span_ts[k]), float(med[i]), after,
                          float(values[i, span][first_win + int(peak_idx[i])]), kind, slope, bool(rows[i])))
    return out


SEASON_S = 86400.0  # the season most service metrics follow: the day
SEASON_GAIN = 0.7  # a daily cycle: differences from a day earlier spread at most this much of the plain spread...
SEASON_MOVED = 3.0  # ...or a day earlier the series moved this many sigmas off its baseline at this hour too


def _seasonal(ts: np.ndarray, values: np.ndarray, span: np.ndarray, base: np.ndarray, win: np.ndarray,
              med: np.ndarray, scale: np.ndarray, has_ref: np.ndarray):
    """Seasonality. Where a series reaches back a day before its baseline and follows a
    daily cycle, each point is judged by its difference from the same time a day earlier
    (scaled by the spread of those differences over the baseline), so a rise that happens
    every day at this hour (the morning ramp, the evening peak) is no anomaly, while a fault
    on top of it, or one that cancels it, still is. A series follows a daily cycle when the
    day-earlier differences are much tighter than its plain spread over the baseline
    (SEASON_GAIN), or when a day earlier it moved off its own baseline at this hour too.
    Without a cycle the plain baseline stays: the difference of two noisy points is noisier
    than either. Returns (those rows, their z over the span, their expected level in the
    window, their scale), or None when no row qualifies."""
    if len(ts) < 2:
        return None
    step = float(np.median(np.diff(ts)))
    target = ts[span] - SEASON_S
    j = np.clip(np.searchsorted(ts, target), 0, len(ts) - 1)
    j_prev = np.clip(j - 1, 0, len(ts) - 1)
    j = np.where(np.abs(ts[j_prev] - target) < np.abs(ts[j] - target), j_prev, j)
    found = np.abs(ts[j] - target) <= step / 2
    if found.sum() < MIN_BASELINE_POINTS:
        return None
    lagged = np.where(found[None, :], values[:, j], np.nan)
    resid = values[:, span] - lagged
    bspan, wspan = base[span], win[span]
    rows = (np.isfinite(resid[:, bspan]).sum(axis=1) >= MIN_BASELINE_POINTS) & np.isfinite(resid[:, wspan]).any(axis=1)
    rows &= ~has_ref
    if not rows.any():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rmed = np.nan_to_num(np.nanmedian(resid[:, bspan], axis=1))
        rmad = np.nan_to_num(np.nanmedian(np.abs(resid[:, bspan] - rmed[:, None]), axis=1))
        lag_base = np.nanmedian(lagged[:, bspan], axis=1)
        lag_moved = np.nanmedian(np.abs(lagged[:, wspan] - lag_base[:, None]), axis=1) / scale >= SEASON_MOVED
        expected = np.nanmedian(lagged[:, wspan], axis=1) + rmed
    rscale = np.maximum.reduce([rmad * MAD_TO_SIGMA, REL_FLOOR * np.abs(med), np.full_like(med, ABS_FLOOR)])
    rows &= ((rscale < SEASON_GAIN * scale) | np.nan_to_num(lag_moved).astype(bool)) & np.isfinite(expected)
    if not rows.any():
        return None
    return rows, (resid[rows] - rmed[rows, None]) / rscale[rows, None], expected[rows], rscale[rows]


AT_LIMIT_PCT = 80.0  # a utilisation percentage at or above which a resource is at its limit...
AT_LIMIT_RISE = 1.3  # ...when it rose by 30% or more to get there
AT_LIMIT_MIN_SCORE = 2.0  # such a series is reported from this many sigmas (its baseline may be noisy)


def _at_limit(before: np.ndarray, window: np.ndarray, members: list[MetricSeries]) -> np.ndarray:
    """Rows that are utilisation percentages (CPU, memory, disk in % of the limit) which moved
    from below AT_LIMIT_PCT to at or above it: reported even when a noisy baseline keeps their
    sigma low, since a resource at its limit is what an engineer looks for first."""
    out = np.zeros(len(members), dtype=bool)
    if before.shape[1] == 0 or window.shape[1] == 0:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        b, w = np.nanmedian(before, axis=1), np.nanmedian(window, axis=1)
    for i, m in enumerate(members):
        if is_utilisation(m.metric):
            out[i] = bool(np.isfinite(b[i]) and np.isfinite(w[i]) and b[i] < AT_LIMIT_PCT <= w[i] <= 1000.0
                          and w[i] >= AT_LIMIT_RISE * b[i])
    return out


def _chronic_cap(score: np.ndarray, z_before: np.ndarray, before: np.ndarray, window: np.ndarray,
                 members: list[MetricSeries], refs: dict[str, np.ndarray]) -> np.ndarray:
    """A series that deviates from its reference at every point before the window too was
    already off before the incident (a chronic condition, or a reference from a different
    regime): it scores only by how much it moved against those points."""
    if z_before.shape[1] == 0 or not refs:
        return score
    rows = np.array([m.key in refs for m in members]) & (np.abs(z_before) >= 3).all(axis=1)
    rows &= (np.sign(z_before) == np.sign(z_before[:, :1])).all(axis=1)
    if not rows.any():
        return score
    lmed, lscale = robust_baseline(before[rows], FEW_REL_FLOOR if before.shape[1] < MIN_BASELINE_POINTS else REL_FLOOR)
    lz = np.nan_to_num((window[rows] - lmed[:, None]) / lscale[:, None])
    local = np.maximum(np.abs(np.median(lz, axis=1)), 0.6 * np.max(np.abs(lz), axis=1))
    out = score.copy()
    out[rows] = np.minimum(score[rows], local)
    return out


def _refine_onset(z: np.ndarray, k: int, direction: int, first: int) -> int:
    """Walk back from the change point while the points before it already deviate."""
    while k > first and direction * z[k - 1] > 2.0:
        k -= 1
    return k


def _shape(ts: np.ndarray, values: np.ndarray, z: np.ndarray, scale: float, direction: int = 1) -> tuple[str, float]:
    """level_shift, trend (steady movement away from the baseline, in `direction`) or spike;
    and the slope per minute of a trend. A series that jumped and is now drifting back is
    not a trend."""
    ok = ~np.isnan(values)
    if ok.sum() >= 5:
        t, v = (ts[ok] - ts[ok][0]) / 60.0, values[ok]
        slope, icpt = np.polyfit(t, v, 1)
        resid = v - (slope * t + icpt)
        ss = float(np.sum((v - v.mean()) ** 2))
        r2 = 1 - float(np.sum(resid**2)) / ss if ss > 0 else 0.0
        if r2 >= 0.8 and abs(slope) * t[-1] >= 4 * scale and np.sign(slope) == np.sign(direction):
            return "trend", float(slope)
    strong = np.abs(z) >= 3
    if len(z) and strong.mean() >= 0.5 and len(z) >= 3:
        return "level_shift", 0.0
    return "spike", 0.0


def series_unit(m: MetricSeries) -> str:
    """The unit a source declared (a `unit` label, as CloudWatch reports it), else the one the name suggests."""
    return m.labels.get("unit") or unit(m.metric)


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return "n/a"
    a = abs(v)
    return f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 1 else f"{v:.3g}"


def sentence(s: Scored) -> str:
    m = s.series
    u = series_unit(m)
    us = f" {u}" if u else ""
    who = f"{m.component} {m.metric}" + (f" ({m.labels['instance']})" if m.labels.get("instance") else "")
    if s.counted:
        pb, pw, n = s.counted
        return (f"{who} failed {pw:.2%} of {n} requests (baseline {pb:.2%}) since {hhmm(s.onset)}, "
                f"{round(s.score, 2):.1f} sigma in a beta-binomial test of failures per request")
    if s.kind == "trend":
        return (f"{who} {'climbed' if s.direction > 0 else 'fell'} steadily from {_fmt(s.baseline)} to {_fmt(s.peak)}{us} since {hhmm(s.onset)} "
                f"({s.slope_per_min:+.2g}{us}/min), {round(s.score, 2):.1f} sigma {'above' if s.direction > 0 else 'below'} its baseline")
    verb = "rose" if s.direction > 0 else "fell"
    ref = s.after if s.kind == "level_shift" else s.peak
    ratio = ""
    if abs(s.baseline) > 1e-9 and np.isfinite(ref) and ref / s.baseline > 0:
        r = ref / s.baseline
        ratio = f" {r:.1f}x" if r >= 1.5 else f" {abs(r - 1) * 100:.0f}%" if r > 0.67 else f" to {r * 100:.0f}% of normal"
    where = "above" if s.direction > 0 else "below"
    spike = " in a spike" if s.kind == "spike" else ""
    against = "the same time a day earlier" if s.seasonal else "its baseline"
    return (f"{who} {verb}{ratio}{spike} ({_fmt(s.baseline)} -> {_fmt(ref)}{us}) at {hhmm(s.onset)}, "
            f"{round(s.score, 2):.1f} sigma {where} {against}")


def detect_metric_anomalies(
    series: list[MetricSeries],
    window: tuple[float, float],
    baseline: tuple[float, float],
    next_id: Callable[[str], str],
    min_score: float = 3.0,
    min_relative_change: float = 0.05,
    limit: int = 200,
    reference: list[MetricSeries] | None = None,
    alerted: list[MetricSeries] | None = None,
) -> list[Finding]:
    """Findings for series at least `min_score` robust sigmas off and `min_relative_change` off their level.

    `reference`: fault-free history of the same series (same keys) recorded at another
    time, used as their baseline where present. `alerted`: the series an alert fired on
    (see `alerted_series`); each finding then records how closely its series moved with
    them over the baseline and the window (`moves_with_alert`, the largest |Pearson r|)."""
    scored = score_series(series, window, baseline, min_score, reference)
    ratios = _counted_ratios(series)
    if ratios:  # judged by their counts, whatever their sigma says
        ids = {id(m) for m in ratios}
        scored = [s for s in scored if id(s.series) not in ids]
        counted = count_ratio_scores(score_series(ratios, window, baseline, 0.0, reference), series, window, baseline, reference)
        scored += [s for s in counted if s.score >= min_score]
    scored = [s for s in scored if _relevant(s, min_relative_change)]
    scored.sort(key=lambda s: (-s.score, s.onset, s.series.key))
    shared = _common_mode(scored, series)
    span = (min(window[0], baseline[0]), max(window[1], baseline[1]))
    out = []
    for s in scored[:limit]:
        fam = family(s.series.metric)
        bad = BAD_DIRECTION.get(fam, 0)
        moves = comovement(s.series, alerted or (), span)
        out.append(Finding(
            id=next_id("M"), source="metrics", component=s.series.component, signal=s.series.metric, kind=s.kind,
            summary=sentence(s), score=round(s.score, 2), onset=s.onset,
            details=MetricEvidence(
                family=fam, direction="up" if s.direction > 0 else "down",
                harmful=bad == 0 or bad == s.direction,
                baseline=round(s.baseline, 4), after=round(s.after, 4) if np.isfinite(s.after) else None,
                peak=round(s.peak, 4), unit=series_unit(s.series), labels=dict(s.series.labels),
                slope_per_min=round(s.slope_per_min, 4), series=s.series.key,
                common_mode=shared.get(id(s)), moves_with_alert=moves, seasonal="1d" if s.seasonal else None,
                failing_before=s.counted[0] if s.counted else None, failing_after=s.counted[1] if s.counted else None,
                requests=s.counted[2] if s.counted else None, test="beta-binomial" if s.counted else None,
            ),
        ))
    return out


MIN_COMOVE_POINTS = 5  # points both series have in the span before a correlation means anything


def alerted_series(metrics: list[MetricSeries], alerts) -> list[MetricSeries]:
    """The series each alert fired on, on the alerted component: the one named like the alert
    (`latency Average` is `latency_average`) or like its `metric` label; else those of the
    family the alert's name says (`HighLatency`: its latency series). An alert whose name
    says no family names none."""
    out: dict[int, MetricSeries] = {}  # by identity: series hold arrays, so == cannot compare them
    for a in alerts:
        names = {normalise(a.name), normalise(a.labels.get("metric", "") if a.labels else "")} - {""}
        mine = [m for m in metrics if m.component == a.component]
        picked = [m for m in mine if normalise(m.metric) in names]
        if not picked and family(a.name) != "other":
            picked = [m for m in mine if family(m.metric) == family(a.name)]
        out.update((id(m), m) for m in picked)
    return list(out.values())


def comovement(s: MetricSeries, alerted, span: tuple[float, float]) -> float | None:
    """How closely `s` moved with any alerted series over `span`: the largest |Pearson r| on
    their shared timestamps (a cause's symptom rises and falls with the alert; a component
    that was already off, or moves on its own, does not). None when nothing can be said."""
    best = None
    for a in alerted:
        common, i, j = np.intersect1d(s.timestamps, a.timestamps, assume_unique=False, return_indices=True)
        keep = (common >= span[0]) & (common <= span[1])
        x, y = s.values[i[keep]].astype(float), a.values[j[keep]].astype(float)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < MIN_COMOVE_POINTS or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
            continue
        r = abs(float(np.corrcoef(x[ok], y[ok])[0, 1]))
        best = r if best is None else max(best, r)
    return None if best is None else round(best, 3)


COMMON_MODE_FAMILIES = ("cpu", "memory", "disk", "network", "packet_loss", "net_latency")
COMMON_MODE_MIN = 3  # components moving together...
COMMON_MODE_SHARE = 0.5  # ...that are at least half of those reporting the metric...
COMMON_MODE_ONSET_S = 120.0  # ...within two minutes of each other
COMMON_MODE_STANDOUT = 3.0  # a member whose log change is 3x the group's median stands out of it


def _log_move(s: Scored) -> float:
    """|log(after / before)|: how far a series moved, comparable across levels."""
    ref = s.after if np.isfinite(s.after) else s.peak
    if s.baseline > 0 and np.isfinite(ref) and ref > 0:
        return abs(float(np.log(ref / s.baseline)))
    return float("inf")


def _common_mode(scored: list[Scored], series: list[MetricSeries]) -> dict[int, float]:
    """Resource metrics that shift the same way at the same time on at least half of the
    components reporting them (and on three or more) describe a shared cause (the host,
    the cluster, the monitoring itself), not one component's fault; a member that moved
    far more than the others stands out and is not part of it. Returns, per scored
    series (by id), the share of reporting components that moved with it."""
    reporting: dict[str, set[str]] = defaultdict(set)
    for m in series:
        reporting[m.metric].add(m.component)
    groups: dict[tuple[str, int], list[Scored]] = defaultdict(list)
    for s in scored:
        if family(s.series.metric) in COMMON_MODE_FAMILIES:
            groups[(s.series.metric, s.direction)].append(s)
    out: dict[int, float] = {}
    for (metric, _), members in groups.items():
        mid = float(np.median([s.onset for s in members]))
        together = [s for s in members if abs(s.onset - mid) <= COMMON_MODE_ONSET_S]
        comps = {s.series.component for s in together}
        population = len(reporting[metric])
        if len(comps) >= COMMON_MODE_MIN and len(comps) >= COMMON_MODE_SHARE * population:
            moves = [_log_move(s) for s in together]
            typical = float(np.median(moves))
            for s, move in zip(together, moves):
                if move < COMMON_MODE_STANDOUT * typical:  # one that moved far more than the rest is its own
                    out[id(s)] = round(len(comps) / population, 3)
    return out


def _request_counts(m: MetricSeries) -> np.ndarray | None:
    """Requests per point of a request series: a count per period as is (`requests_sum`,
    a `req` unit, `_count`, `_total`), a rate per second times the step."""
    if len(m.timestamps) < 2:
        return None
    name, u = normalise(m.metric), m.labels.get("unit", "")
    values = np.asarray(m.values, dtype=float)
    if u == "req" or any(w in name.split("_") for w in ("sum", "count", "total", "calls", "hits")):
        return values
    return values * float(np.median(np.diff(m.timestamps)))


def _failure_share(m: MetricSeries, values: np.ndarray) -> np.ndarray | None:
    """The failing share (0..1) per point of a success or error ratio series (percent or fraction)."""
    fam = family(m.metric)
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    if fam not in ("success_rate", "error_rate") or not finite.size or finite.min() < 0 or finite.max() > 100:
        return None
    percent = finite.max() > 1.0 or m.labels.get("unit") == "%" or "%" in m.metric or "percent" in m.metric.lower()
    share = v / 100.0 if percent else v
    return 1.0 - share if fam == "success_rate" else share


def _counted_ratios(series: list[MetricSeries]) -> list[MetricSeries]:
    """Success and error ratio series with a request series of their component on their time grid."""
    grids = {(m.component, m.timestamps.tobytes()) for m in series if family(m.metric) == "request_rate" and len(m.timestamps)}
    return [m for m in series if family(m.metric) in ("success_rate", "error_rate")
            and (m.component, m.timestamps.tobytes()) in grids and _failure_share(m, m.values) is not None]


def failure_z(fail_base: np.ndarray, req_base: np.ndarray, fail_win: np.ndarray, req_win: np.ndarray) -> tuple[float, float, float, float]:
    """(z, baseline failing share, window failing share, window requests): how far the
    failures per request rose, as a beta-binomial test. Failures are counted from the ratio
    and the requests of each point; the baseline share is the pooled one; its spread is the
    binomial spread for the window's requests plus the extra period-to-period variance the
    baseline shows beyond binomial (overdispersion, the beta part), divided among the
    window's points. A component that served 5 calls and failed one is not as sure a
    signal as one that failed 2% of 5 000."""
    ok_b = np.isfinite(fail_base) & np.isfinite(req_base) & (req_base > 0)
    ok_w = np.isfinite(fail_win) & np.isfinite(req_win) & (req_win > 0)
    nb, nw = float(req_base[ok_b].sum()), float(req_win[ok_w].sum())
    if nb <= 0 or nw <= 0:
        return 0.0, 0.0, 0.0, nw
    kb, kw = float((fail_base * req_base)[ok_b].sum()), float((fail_win * req_win)[ok_w].sum())
    pb, pw = kb / nb, kw / nw
    p0 = min(max(pb, 1.0 / nb), 0.99)
    per = fail_base[ok_b]
    binomial = float(np.mean(p0 * (1 - p0) / req_base[ok_b]))
    extra = max(float(np.average((per - pb) ** 2, weights=req_base[ok_b])) - binomial, 0.0) if per.size >= 2 else 0.0
    sd = math.sqrt(p0 * (1 - p0) / nw + extra / max(int(ok_w.sum()), 1))
    return min((pw - pb) / sd, MAX_SCORE), pb, pw, nw


def count_ratio_scores(scored: list[Scored], series: list[MetricSeries], window, baseline,
                       reference: list[MetricSeries] | None = None) -> list[Scored]:
    """Success and error ratios that have the request counts behind them (a request series
    of the same component on the same time grid) are scored by `failure_z` over those
    counts instead of robust sigmas of the percentage. The baseline is the reference
    (fault-free history) where both series have one, else the points before the window."""
    counts: dict[tuple[str, bytes], MetricSeries] = {}
    for m in series:
        if family(m.metric) == "request_rate" and len(m.timestamps):
            key = (m.component, m.timestamps.tobytes())
            if key not in counts or normalise(m.metric).endswith("sum"):
                counts[key] = m
    refs = {r.key: r for r in reference or ()}
    for s in scored:
        m = s.series
        req = counts.get((m.component, m.timestamps.tobytes()))
        if req is None:
            continue
        fail = _failure_share(m, m.values)
        n = _request_counts(req)
        if fail is None or n is None:
            continue
        ts = m.timestamps
        win = (ts >= window[0]) & (ts <= window[1])
        rr, rq = refs.get(m.key), refs.get(req.key)
        rfail = _failure_share(m, rr.values) if rr is not None and rq is not None else None
        if rr is not None and rq is not None and rfail is not None and len(rr.values) == len(rq.values):
            fb, nb = rfail, _request_counts(rq)
        else:
            base = (ts >= baseline[0]) & (ts < baseline[1])
            fb, nb = fail[base], n[base]
        if nb is None or not win.any():
            continue
        z, pb, pw, nw = failure_z(fb, nb, fail[win], n[win])
        bad = 1 if family(m.metric) == "error_rate" else -1
        s.score = max(z, 0.0)
        s.direction = bad if z > 0 else -bad
        s.counted = (round(pb, 5), round(pw, 5), int(round(nw)))
    return scored


def _relevant(s: Scored, min_rel: float) -> bool:
    ref = s.after if s.kind != "spike" and np.isfinite(s.after) else s.peak
    if family(s.series.metric) == "success_rate" and 0 < s.baseline <= 100 and np.isfinite(ref):
        # a success percentage near 100: what matters is the failing share, 0.5% -> 3% is large
        top = 100.0 if s.baseline > 1 else 1.0
        failing = top - s.baseline
        return bool(abs(ref - s.baseline) >= max(min_rel * failing, 0.005 * top))
    if abs(s.baseline) < 1e-9:
        return bool(np.isfinite(ref) and abs(ref) > 1e-9)
    return bool(np.isfinite(ref) and abs(ref - s.baseline) >= min_rel * abs(s.baseline))
