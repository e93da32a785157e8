"""Robust location and scale: the median and the MAD in sigma units, with floors.

Every detector that measures a shift "in robust sigmas of the baseline" uses these, so a
z-score means the same thing in metrics, traces and PromQL drill-downs. (The rolling,
seasonal version for one long series is plugins/detectors/univariate.py.)
"""

from __future__ import annotations

import numpy as np

# The MAD of a normal sample times this is its standard deviation.
MAD_TO_SIGMA = 1.4826


def center_scale(base: np.ndarray, rel_floor: float, abs_floor: float) -> tuple[float, float]:
    """(median, scale) of a 1-D baseline without NaN: the scale is the MAD in sigma units, at
    least `rel_floor` of the median's size and never below `abs_floor` (a flat baseline
    would otherwise make any wobble infinitely significant)."""
    med = float(np.median(base))
    mad = float(np.median(np.abs(base - med)))
    return med, max(MAD_TO_SIGMA * mad, rel_floor * abs(med), abs_floor)


def center_scale_rows(values: np.ndarray, rel_floor: float, abs_floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise `center_scale` of a matrix, NaN ignored (an all-NaN row: median 0)."""
    with np.errstate(all="ignore"):
        med = np.nanmedian(values, axis=1)
        mad = np.nanmedian(np.abs(values - med[:, None]), axis=1)
    med = np.nan_to_num(med)
    scale = np.maximum.reduce([np.nan_to_num(mad) * MAD_TO_SIGMA, rel_floor * np.abs(med), np.full_like(med, abs_floor)])
    return med, scale
