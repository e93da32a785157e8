"""`copilot bench nab PATH`: NAB-style scoring of `copilot detect` on a folder in the NAB
layout (`data/**/*.csv` with timestamp,value, and `labels/combined_windows.json`).

The scoring follows the published NAB rules (Lavin & Ahmad, 2015), implemented here:
each labelled window rewards its earliest detection by a scaled sigmoid of the position
in the window (0.987 at the left edge, 0 at the right edge); every detection outside a
window costs A_FP times a sigmoid of its distance past the previous window (the full
A_FP far from any window); a window with no detection costs A_FN; the first 15% of each
file (at most 750 points) is probationary and not scored. Standard profile: A_TP 1,
A_FP 0.11, A_FN 1. The raw total is normalised so the null detector (never fires) scores
0 and the perfect one 100, and one threshold is swept over the whole set for the best
score (as NAB's optimiser does). Per folder figures use that same threshold.

Run it on `bench/synthetic_series.py` output (NOT the NAB corpus) or on a NAB checkout.
`--detector gaussian` scores a plain windowed Gaussian for reference.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from copilot.errors import DataError

PROFILES = {"standard": (1.0, 0.11, 1.0), "reward_low_fp": (1.0, 0.22, 1.0), "reward_low_fn": (1.0, 0.11, 2.0)}
PROBATION = 0.15


def scaled_sigmoid(position: np.ndarray) -> np.ndarray:
    out = 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0
    return np.where(position >= 3.0, -1.0, out)


@dataclass
class Scored:
    name: str
    scores: np.ndarray  # detector output, 0..1
    sweep: np.ndarray  # NAB weight of a detection at each point
    window: np.ndarray  # window number at each point, -1 outside, -2 probationary
    windows: int


def sweep_weights(n: int, limits: list[tuple[int, int]], profile: str = "standard") -> tuple[np.ndarray, np.ndarray]:
    """Per point: the score a detection there earns, and its window id (-1 none, -2 probation)."""
    a_tp, a_fp, _ = PROFILES[profile]
    max_tp = float(scaled_sigmoid(np.array(-1.0)))
    sweep = np.empty(n)
    window = np.full(n, -1)
    prev: tuple[int, float] | None = None  # the last window's right edge and width
    i = 0
    bounds = sorted(limits)
    for w, (lo, hi) in enumerate(bounds + [(n, n)]):
        if i < lo:  # outside any window: a false positive, cheaper right after a window
            idx = np.arange(i, lo)
            pos = np.full(idx.size, 3.0) if prev is None else np.abs(prev[0] - idx) / max(prev[1] - 1, 1.0)
            sweep[i:lo] = scaled_sigmoid(pos) * a_fp
        if w == len(bounds):
            break
        width = float(hi - lo + 1)
        idx = np.arange(lo, hi + 1)
        sweep[lo:hi + 1] = scaled_sigmoid(-(hi - idx + 1) / width) * a_tp / max_tp
        window[lo:hi + 1] = w
        prev, i = (hi, width), hi + 1
    probation = int(min(math.floor(PROBATION * n), PROBATION * 5000))
    window[:probation] = -2
    return sweep, window


def total_score(files: list[Scored], threshold: float, profile: str = "standard") -> tuple[float, dict[str, int]]:
    _, _, a_fn = PROFILES[profile]
    raw, counts = 0.0, {"tp": 0, "fp": 0, "fn": 0}
    for f in files:
        hit = f.scores >= threshold
        fp = hit & (f.window == -1)
        raw += float(f.sweep[fp].sum())
        counts["fp"] += int(fp.sum())
        for w in range(f.windows):
            inside = hit & (f.window == w)
            if inside.any():
                raw += float(f.sweep[inside].max())
                counts["tp"] += 1
            elif (f.window == w).any():
                raw -= a_fn
                counts["fn"] += 1
    return raw, counts


def normalized(files: list[Scored], raw: float, profile: str = "standard") -> float:
    a_tp, _, a_fn = PROFILES[profile]
    scored_windows = sum(len(set(f.window[f.window >= 0].tolist())) for f in files)
    null, perfect = -a_fn * scored_windows, a_tp * scored_windows
    return 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0


def best_threshold(files: list[Scored], profile: str = "standard") -> tuple[float, float, dict[str, int]]:
    every = np.concatenate([f.scores for f in files])
    every = every[every > 0]
    # Every score among the highest (where the best threshold usually is), a grid below.
    top = np.sort(every)[-2000:]
    values = np.unique(np.concatenate([top, np.quantile(every, np.linspace(0, 1, 501))])) if every.size else every
    best: tuple[float, float, dict[str, int]] = (-math.inf, 1.1, {})
    for th in values:
        raw, counts = total_score(files, float(th), profile)
        score = normalized(files, raw, profile)
        if score > best[0]:
            best = (score, float(th), counts)
    return best[1], best[0], best[2]


def _index(ts: np.ndarray, stamp: str) -> int:
    t = datetime.fromisoformat(stamp.strip().replace(" ", "T", 1)).replace(tzinfo=timezone.utc).timestamp()
    return int(np.clip(np.searchsorted(ts, t - 1e-6), 0, len(ts) - 1))


def gaussian_scores(values: np.ndarray, window: int = 6400) -> np.ndarray:
    """A plain windowed Gaussian: two-sided tail of the value against the mean and standard
    deviation of the previous `window` points (the reference floor)."""
    from math import erfc, sqrt

    x = np.nan_to_num(np.asarray(values, dtype=float))
    out = np.zeros(x.size)
    c1, c2 = np.concatenate([[0.0], np.cumsum(x)]), np.concatenate([[0.0], np.cumsum(x * x)])
    for i in range(2, x.size):
        lo = max(0, i - window)
        k = i - lo
        mean = (c1[i] - c1[lo]) / k
        var = max((c2[i] - c2[lo]) / k - mean * mean, 1e-12)
        out[i] = 1.0 - 0.5 * erfc(abs(x[i] - mean) / sqrt(2 * var))
    return out


def load(path: str, detector: str = "copilot", mode: str = "onset") -> list[Scored]:
    from copilot.commands.detect import read_series
    from copilot.plugins.detectors.series_repair import score_rows

    root = Path(path)
    labels_file = root / "labels" / "combined_windows.json"
    if not labels_file.is_file():
        raise DataError(f"{path}: no labels/combined_windows.json (the NAB layout: data/**/*.csv and labels/)")
    labels = json.loads(labels_file.read_text(encoding="utf-8"))
    files = []
    for name in sorted(labels):
        csv = root / "data" / name
        if not csv.is_file():
            raise DataError(f"{labels_file}: {name} has windows but {csv} does not exist")
        series = read_series(csv)
        if detector == "gaussian":
            scores = gaussian_scores(np.asarray(series.values))
        else:
            scores, _, _, _ = score_rows(series.timestamps, series.values, mode=mode)
        order = np.argsort(np.asarray(series.timestamps), kind="stable")
        ts = np.asarray(series.timestamps)[order]
        limits = [(_index(ts, a), _index(ts, b)) for a, b in labels[name]]
        sweep, window = sweep_weights(len(ts), limits)
        files.append(Scored(name, np.asarray(scores)[order], sweep, window, len(limits)))
    return files


def run_benchmark(path: str, detector: str = "copilot", profile: str = "standard", mode: str = "onset") -> dict:
    started = time.perf_counter()
    files = load(path, detector, mode)
    threshold, score, counts = best_threshold(files, profile)
    groups: dict[str, list[Scored]] = {}
    for f in files:
        groups.setdefault(f.name.split("/")[0] if "/" in f.name else ".", []).append(f)
    by_group = {}
    for g, members in sorted(groups.items()):
        raw, c = total_score(members, threshold, profile)
        by_group[g] = {"files": len(members), "score": round(normalized(members, raw, profile), 1), **c}
    return {"path": path, "detector": detector if detector != "copilot" else f"copilot ({mode})", "profile": profile, "files": len(files),
            "threshold": threshold, "score": round(score, 1), **counts, "by_group": by_group,
            "seconds": round(time.perf_counter() - started, 1)}


def run(args: argparse.Namespace) -> int:
    report = run_benchmark(args.path, getattr(args, "detector", None) or "copilot",
                           mode=getattr(args, "mode", None) or "onset")
    if args.json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
        return 0
    print(f"{report['files']} files, detector {report['detector']}, profile {report['profile']}: "
          f"NAB-style score {report['score']} at threshold {report['threshold']} "
          f"(windows found {report['tp']}, missed {report['fn']}, false-positive points {report['fp']})")
    for g, r in report["by_group"].items():
        print(f"  {g:24} {r['files']:3d} files  score {r['score']:6.1f}  found {r['tp']}  missed {r['fn']}  fp {r['fp']}")
    print(f"({report['seconds']} s)")
    return 0
