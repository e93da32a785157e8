"""A labelled set of synthetic series with known injected anomalies, in the NAB layout.

    .venv/bin/python bench/synthetic_series.py OUT [--seed 1] [--per-type 8]

This is NOT the NAB corpus: it is generated here, from the documented recipe below, so
that a NAB-style evaluation (`copilot bench nab OUT`) can run without network. It writes
`OUT/data/<type>/<name>.csv` (timestamp,value; 5-minute steps, 3 weeks = 6048 points, or
2 weeks for the spikes) and `OUT/labels/combined_windows.json` (one window per injected
anomaly, in the NAB format: [start, end] timestamps as "YYYY-MM-DD HH:MM:SS.000000").

Every series: a level (10..1000), a daily profile (amplitude 0..40% of the level,
a random mix of two harmonics), a weekly profile (weekends lower by 0..30%), Gaussian
noise (1..8% of the level) and occasional harmless single-point jitter (a 3-sigma
point every ~500 points on average, unlabelled: real series have them too). The first
15% of a series is clean (NAB's probationary period). Then one or two anomalies of the
series' type are injected at random positions after it:

- spike: one to three consecutive points offset by 6..15 noise sigmas (up or down);
- level_shift: a permanent step of 4..8 noise sigmas from the onset on;
- drift: a linear ramp reaching 6..12 noise sigmas after 1..2 days, then held;
- seasonal_break: the daily profile disappears (flattened to the daily mean) or is
  inverted for 1..2 days, the level staying the same.

The NAB window of an anomaly is 10% of the series length divided by the number of
anomalies, centred on the onset as in NAB (so a detection up to half a window before the
onset still counts, and the earliest detection inside the window scores most).
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

STEP = 300  # seconds
DAY = 86400 // STEP
T0 = datetime(2024, 3, 4, tzinfo=timezone.utc).timestamp()  # a Monday
TYPES = ("spike", "level_shift", "drift", "seasonal_break")


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def make_series(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[int]]:
    days = 14 if kind == "spike" else 21
    n = days * DAY
    t = np.arange(n)
    ts = T0 + STEP * t
    level = float(np.exp(rng.uniform(np.log(10), np.log(1000))))
    amp = rng.uniform(0.0, 0.4) * level
    phase, mix = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.5)
    daily = amp * (np.sin(2 * np.pi * t / DAY + phase) + mix * np.sin(4 * np.pi * t / DAY + 2 * phase))
    weekday = ((ts - T0) // 86400 % 7).astype(int)
    weekly = np.where(weekday >= 5, -rng.uniform(0.0, 0.3) * level, 0.0)
    sigma = rng.uniform(0.01, 0.08) * level
    x = level + daily + weekly + rng.normal(0, sigma, n)
    jitter = rng.random(n) < 1 / 500
    x[jitter] += rng.choice([-3, 3], jitter.sum()) * sigma
    count = int(rng.integers(1, 3))
    start = int(0.15 * n) + DAY
    span = (n - DAY // 2 - start) // count
    onsets = sorted(int(start + i * span + rng.integers(0, max(1, span - 2 * DAY))) for i in range(count))
    for onset in onsets:
        if kind == "spike":
            width = int(rng.integers(1, 4))
            x[onset: onset + width] += rng.choice([-1, 1]) * rng.uniform(6, 15) * sigma
        elif kind == "level_shift":
            x[onset:] += rng.choice([-1, 1]) * rng.uniform(4, 8) * sigma
        elif kind == "drift":
            ramp = int(rng.uniform(1, 2) * DAY)
            size = rng.choice([-1, 1]) * rng.uniform(6, 12) * sigma
            x[onset:] += size * np.minimum(1.0, (t[onset:] - onset + 1) / ramp)
        else:
            length = int(rng.uniform(1, 2) * DAY)
            seg = slice(onset, min(n, onset + length))
            x[seg] -= daily[seg] * (2.0 if rng.random() < 0.5 else 1.0)
    return ts, x, onsets


def windows(ts: np.ndarray, onsets: list[int]) -> list[list[str]]:
    half = int(math.ceil(0.10 * len(ts) / max(1, len(onsets)))) // 2
    return [[_stamp(ts[max(0, o - half)]) + ".000000", _stamp(ts[min(len(ts) - 1, o + half)]) + ".000000"]
            for o in onsets]


def generate(out: Path, seed: int = 1, per_type: int = 8) -> dict[str, list[list[str]]]:
    out = Path(out)
    labels: dict[str, list[list[str]]] = {}
    for ti, kind in enumerate(TYPES):
        for i in range(per_type):
            rng = np.random.default_rng([seed, ti, i])
            ts, x, onsets = make_series(kind, rng)
            name = f"{kind}/{kind}_{seed}_{i}.csv"
            path = out / "data" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("timestamp,value\n" + "".join(f"{_stamp(a)},{b:.4f}\n" for a, b in zip(ts, x)))
            labels[name] = windows(ts, onsets)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    (out / "labels" / "combined_windows.json").write_text(json.dumps(labels, indent=1) + "\n")
    return labels


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="write a labelled synthetic series set (NOT the NAB corpus)")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=1, help="1 is the development set; 2 and 3 were each held out and scored once")
    p.add_argument("--per-type", type=int, default=8)
    args = p.parse_args(argv)
    labels = generate(Path(args.out), args.seed, args.per_type)
    print(f"{len(labels)} series, {sum(len(w) for w in labels.values())} anomaly windows in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
