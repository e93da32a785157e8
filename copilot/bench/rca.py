"""`copilot bench rcd|nezha|petshop PATH`: run the ranking on every case of a published
RCA dataset and score it beside the N-sigma floor.

The ranking sees each case's telemetry and alert time only (`rank.rank_case`); the ground
truth is read by the adapters for scoring and nothing else. `--time-shift` moves the alert
time the ranking is given (RCAEval shows some methods collapse at +60 s). `--signals`
restricts the telemetry the ranking reads (e.g. `metrics` alone against `metrics,traces`),
to measure what each signal adds; `by_raw_kind` gives fault-kind accuracy per injected type.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Callable

from copilot.errors import DataError
from copilot.plugins.telemetry import datasets

from . import rank
from .scoring import score_ranking, summarize

PUBLISHED: dict[str, dict[str, float]] = {"petshop": datasets.PETSHOP_PUBLISHED}  # per-cell top-1 baselines
ADAPTERS: dict[str, Callable[[str], list[datasets.BenchCase]]] = {
    "rcd": datasets.rcd_cases,
    "nezha": datasets.nezha_cases,
    "petshop": datasets.petshop_cases,
}


def run_benchmark(name: str, path: str, time_shift: float = 0.0, limit: int | None = None,
                  signals: frozenset[str] = rank.SIGNALS) -> dict:
    unknown = set(signals) - rank.SIGNALS
    if unknown or "metrics" not in signals:
        raise DataError(f"--signals takes metrics plus any of traces, logs (got {','.join(sorted(signals))})")
    cases = ADAPTERS[name](path)
    if limit:
        cases = cases[:limit]
    options = {"traces": "traces" in signals, "logs": "logs" in signals}
    per_case: list[dict[str, Any]] = []  # one JSON record per case
    scores, floor_scores = [], []
    started = time.perf_counter()
    for case in cases:
        telemetry = case.load(**options)
        alert = case.alert_time + time_shift
        t0 = time.perf_counter()
        ranking = rank.rank_case(telemetry, alert)
        seconds = time.perf_counter() - t0
        floor = rank.floor_rank_case(telemetry, alert)
        s = score_ranking(ranking, case.truth.component, case.truth.fault_kind)
        f = score_ranking(floor, case.truth.component, case.truth.fault_kind)
        scores.append(s)
        floor_scores.append(f)
        per_case.append({
            "case": case.case_id,
            **({"group": case.group} if case.group else {}),
            "truth": {"component": case.truth.component, "fault_kind": case.truth.fault_kind,
                      "raw_kind": case.truth.raw_kind},
            "rank": s.rank,
            "kind_right": s.kind_right,
            "top5": [list(r) for r in ranking[:5]],
            "floor_rank": f.rank,
            "rank_seconds": round(seconds, 4),
        })
    if not scores:
        raise DataError(f"{path}: no cases to run")
    summary = summarize(scores)
    by_raw: dict[str, list[int]] = {}
    for c in per_case:
        hits = by_raw.setdefault(c["truth"]["raw_kind"], [0, 0])
        hits[0] += bool(c["kind_right"])
        hits[1] += 1
    groups: dict[str, list[int]] = {}
    for c in per_case:
        if c.get("group"):
            hits = groups.setdefault(c["group"], [0, 0])
            hits[0] += c["rank"] == 1
            hits[1] += 1
    return {
        "dataset": name,
        "path": str(path),
        "time_shift": time_shift,
        "signals": sorted(signals),
        **summary,
        "by_raw_kind": {k: {"kind_right": v[0], "cases": v[1]} for k, v in sorted(by_raw.items())},
        **({"by_group": {g: {"top1": v[0], "cases": v[1], "ac@1": round(v[0] / v[1], 3),
                             **({"published_ac@1": PUBLISHED[name][g]} if g in PUBLISHED.get(name, {}) else {})}
                         for g, v in sorted(groups.items())}} if groups else {}),
        "floor": summarize(floor_scores),
        "per_case": per_case,
        "seconds": round(time.perf_counter() - started, 2),
    }


def format_text(report: dict) -> str:
    lines = [f"{report['dataset']}: {report['cases']} cases, alert time shifted {report['time_shift']:+g} s"]
    lines.append(f"{'case':36} {'truth':36} {'rank':>4} {'kind':>4} {'floor':>5}  top-3")
    for c in report["per_case"]:
        truth = f"{c['truth']['component']}/{c['truth']['fault_kind']}"
        top = ", ".join(f"{comp}/{kind}" for comp, kind in c["top5"][:3])
        lines.append(f"{c['case'][:36]:36} {truth[:36]:36} {_r(c['rank']):>4} {'ok' if c['kind_right'] else '-':>4} "
                     f"{_r(c['floor_rank']):>5}  {top}")
    lines.append("")
    lines.append(f"{'':22} {'AC@1':>6} {'AC@3':>6} {'Avg@5':>6} {'kind':>6}")
    for label, s in (("copilot ranking", report), ("N-sigma floor", report["floor"])):
        lines.append(f"{label:22} {s['ac@1']:6.3f} {s['ac@3']:6.3f} {s['avg@5']:6.3f} {s['fault_kind_accuracy']:6.3f}")
    kinds = report.get("by_raw_kind") or {}
    if 1 < len(kinds) <= 12 and all(len(k) <= 24 for k in kinds):
        lines.append("fault kind right by injected type: " + ", ".join(
            f"{k} {v['kind_right']}/{v['cases']}" for k, v in kinds.items()))
    for g, v in (report.get("by_group") or {}).items():
        published = v.get("published_ac@1")
        verdict = "" if published is None else f"   published {published:.2f}: {'above' if v['ac@1'] > published else 'NOT above'}"
        lines.append(f"top-1 {g:34} {v['ac@1']:5.2f} ({v['top1']}/{v['cases']}){verdict}")
    lines.append(f"(signals: {','.join(report.get('signals', []))}; {report['seconds']} s)")
    return "\n".join(lines)


def _r(rank_: int | None) -> str:
    return "-" if rank_ is None else str(rank_)


def run(args: argparse.Namespace) -> int:
    signals = frozenset(x.strip() for x in (getattr(args, "signals", None) or ",".join(rank.SIGNALS)).split(",") if x.strip())
    report = run_benchmark(args.benchmark, args.path, float(args.time_shift or 0.0), args.limit, signals)
    if args.json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(format_text(report))
    return 0
