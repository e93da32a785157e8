"""`copilot bench detect PATH`: `copilot detect`'s scoring on labelled series
(ms-cloud-monitoring layout: `data/<domain>/*.csv` with TimeStamp,Value,Label).

Point-wise: every point is a prediction (flagged or not) against its label; counts are
pooled over all series (micro average). Event-wise: a labelled segment (a run of
consecutive anomalous points) is detected if any point in it is flagged; a predicted
event (a run of consecutive flagged points) is correct if it overlaps a labelled segment.
Event precision = correct predicted events / predicted events, event recall = detected
segments / segments. Point-adjusted F1 (Xu et al., WWW'18: every point of a detected
segment counts as found) is reported too, since many papers use it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from copilot.commands.detect import read_series
from copilot.plugins.detectors.series_repair import score_rows
from copilot.errors import DataError
from copilot.plugins.detectors import univariate


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def counts(labels: np.ndarray, flags: np.ndarray) -> dict[str, int]:
    labels = np.asarray(labels, dtype=bool)
    flags = np.asarray(flags, dtype=bool)
    segments = runs(labels)
    predicted = runs(flags)
    adjusted = flags.copy()
    detected = 0
    for a, b in segments:
        if flags[a:b].any():
            detected += 1
            adjusted[a:b] = True
    correct = sum(1 for a, b in predicted if labels[a:b].any())
    return {
        "tp": int((labels & flags).sum()), "fp": int((~labels & flags).sum()), "fn": int((labels & ~flags).sum()),
        "segments": len(segments), "segments_detected": detected,
        "events_predicted": len(predicted), "events_correct": correct,
        "adj_tp": int((labels & adjusted).sum()), "adj_fp": int((~labels & adjusted).sum()),
        "adj_fn": int((labels & ~adjusted).sum()),
    }


def prf(tp: float, fp: float, fn: float) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def metrics(c: dict[str, int]) -> dict[str, dict[str, float]]:
    ev_p = c["events_correct"] / c["events_predicted"] if c["events_predicted"] else 0.0
    ev_r = c["segments_detected"] / c["segments"] if c["segments"] else 0.0
    ev_f = 2 * ev_p * ev_r / (ev_p + ev_r) if ev_p + ev_r else 0.0
    return {
        "point": prf(c["tp"], c["fp"], c["fn"]),
        "event": {"precision": round(ev_p, 4), "recall": round(ev_r, 4), "f1": round(ev_f, 4)},
        "point_adjusted": prf(c["adj_tp"], c["adj_fp"], c["adj_fn"]),
    }


def run_benchmark(path: str, threshold: float = univariate.DEFAULT_THRESHOLD,
                  window: int = univariate.DEFAULT_WINDOW, mode: str = "onset") -> dict:
    root = Path(path)
    files = sorted(p for p in root.rglob("*.csv") if p.is_file()) + sorted(root.rglob("*.csv.gz"))
    if not files:
        raise DataError(f"{path}: no labelled CSV files (timestamp,value,label) found")
    total: dict[str, int] = {}
    per_series = []
    started = time.perf_counter()
    points = 0
    for f in files:
        series = read_series(f)
        label_col = next((k for k in series.extra if k in ("label", "is_anomaly", "anomaly")), None)
        if label_col is None:
            raise DataError(f"{f}: no Label column; the detect benchmark needs labelled points")
        labels = np.array([_label(v) for v in series.extra[label_col]], dtype=bool)
        _, flags, result, _ = score_rows(series.timestamps, series.values, threshold=threshold, window=window,
                                         mode=mode)
        c = counts(labels, flags)
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
        points += len(labels)
        per_series.append({"series": str(f.relative_to(root)), "points": len(labels), "period": result.period,
                           **c, **{f"{k}_f1": v["f1"] for k, v in metrics(c).items()}})
    return {"series": len(files), "points": points, "threshold_sigma": threshold, "window": window, "mode": mode,
            **metrics(total), "counts": total, "per_series": per_series,
            "seconds": round(time.perf_counter() - started, 2)}


def _label(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return text.strip().lower() in ("true", "yes", "anomaly")


def format_text(report: dict) -> str:
    lines = [f"{'series':52} {'points':>7} {'segs':>5} {'found':>5} {'pt F1':>6} {'ev F1':>6}"]
    for s in report["per_series"]:
        lines.append(f"{s['series'][:52]:52} {s['points']:7d} {s['segments']:5d} {s['segments_detected']:5d} "
                     f"{s['point_f1']:6.3f} {s['event_f1']:6.3f}")
    lines.append("")
    lines.append(f"{report['series']} series, {report['points']} points, threshold {report['threshold_sigma']} sigma, "
                 f"mode {report['mode']}")
    for key, label in (("point", "point-wise"), ("event", "event-wise"), ("point_adjusted", "point-adjusted")):
        m = report[key]
        lines.append(f"{label:16} precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}")
    lines.append(f"({report['seconds']} s)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    report = run_benchmark(args.path, mode=getattr(args, "mode", None) or "onset")
    if args.json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(format_text(report))
    return 0
