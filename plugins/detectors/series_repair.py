"""Put a real series in time order before scoring it, and say what was repaired.

Exported series are often imperfect: rows out of time order (merged files, retries),
duplicate timestamps (two scrapes of one instant), gaps (a collector that was down).
`regularize` turns them into one point per distinct timestamp, in time order, with the
missing steps of a regular series added as missing values (so a daily period still lines
up), and keeps for every input row the index of the point that represents it, so scores
computed on the repaired series map back onto the input rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# A step longer than this many regular steps is a gap; gaps are filled with missing points
# only while the filled series stays at most this many times longer than the input (a
# series with rare, huge gaps is scored on its points as they are).
GAP_STEPS = 1.5
MAX_FILL_RATIO = 2.0


@dataclass
class Regular:
    timestamps: np.ndarray  # strictly increasing
    values: np.ndarray  # NaN where missing (an added gap point, or all duplicates empty)
    row_index: np.ndarray  # for every input row, its point in `timestamps`
    repairs: list[str] = field(default_factory=list)  # plain phrases, one per kind of repair

    def warning(self) -> str:
        """One line saying what was repaired ("" when nothing was)."""
        return "; ".join(self.repairs)


def regularize(timestamps, values) -> Regular:
    ts = np.asarray(timestamps, dtype=float)
    vals = np.asarray(values, dtype=float)
    repairs: list[str] = []
    if ts.size == 0:
        return Regular(ts, vals, np.zeros(0, dtype=int), repairs)
    late = int(np.sum(ts[1:] < np.maximum.accumulate(ts)[:-1]))
    if late:
        repairs.append(f"{late} row{'s' if late != 1 else ''} out of time order "
                       f"{'were' if late != 1 else 'was'} scored in time order")
    uniq, inverse, counts = np.unique(ts, return_inverse=True, return_counts=True)
    dup_rows = int(np.sum(counts - 1))
    if dup_rows:
        sums = np.zeros(uniq.size)
        seen = np.zeros(uniq.size)
        ok = np.isfinite(vals)
        np.add.at(sums, inverse[ok], vals[ok])
        np.add.at(seen, inverse[ok], 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            merged = np.where(seen > 0, sums / np.maximum(seen, 1.0), np.nan)
        repeated = int(np.sum(counts > 1))
        repairs.append(f"{dup_rows} duplicate timestamp row{'s' if dup_rows != 1 else ''} averaged "
                       f"into {repeated} point{'s' if repeated != 1 else ''}")
    else:
        merged = np.empty(uniq.size)
        merged[inverse] = vals
    out_ts, out_vals, index = uniq, merged, inverse
    if uniq.size >= 3:
        steps = np.diff(uniq)
        step = float(np.median(steps))
        gaps = steps > GAP_STEPS * step
        if step > 0 and gaps.any():
            slots = np.rint((uniq - uniq[0]) / step).astype(np.int64)
            on_grid = np.all(np.abs((uniq - uniq[0]) - slots * step) <= 0.01 * step) and np.all(np.diff(slots) > 0)
            length = int(slots[-1]) + 1
            missing = length - uniq.size
            if on_grid and length <= MAX_FILL_RATIO * uniq.size:
                out_ts = uniq[0] + step * np.arange(length)
                out_vals = np.full(length, np.nan)
                out_vals[slots] = merged
                index = slots[inverse]
                repairs.append(f"{int(gaps.sum())} gap{'s' if gaps.sum() != 1 else ''} "
                               f"({missing} missing point{'s' if missing != 1 else ''}) scored as missing")
            else:
                repairs.append(f"{int(gaps.sum())} gap{'s' if gaps.sum() != 1 else ''} in an irregular series "
                               "scored without filling")
    return Regular(out_ts, out_vals, np.asarray(index, dtype=int), repairs)


def score_rows(timestamps, values, **options):
    """Score a series as its rows came (any order, duplicates, gaps): the scores and flags
    of `univariate.score_series` on the repaired series, one per input row, and the repair."""
    from .univariate import score_series

    regular = regularize(timestamps, values)
    result = score_series(regular.values, regular.timestamps, **options)
    return result.scores[regular.row_index], result.flags[regular.row_index], result, regular
