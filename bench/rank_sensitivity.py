"""How much the ranking's accuracy depends on each of its constants.

    .venv/bin/python bench/rank_sensitivity.py rcd=$D/sockshop-rcd petshop=$D/petshop nezha=$D/nezha-ob \
        [nezha=/tmp/nezha-stress] [--factors 0.5 1.5] [--json]

For every dataset given (`kind=path`, kind one of rcd, nezha, petshop; the same kind may
appear twice with different paths), the detectors run once per case with their default
constants and the findings are kept; then every ranking constant of
`plugins/detectors/rank.py` (the scalar ones, and the two weight tables scaled as a
whole) is multiplied by each factor in turn, every case is ranked again, and AC@1 is
printed per dataset beside the unchanged figure. A constant whose ±50% changes nothing
is not fitted to these cases; one that moves AC@1 is where the method is fragile.
Detector constants (thresholds in metrics.py, traces.py, trace_paths.py) are not swept
here: they change the findings, which are computed once.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from copilot.bench import rank as bench_rank  # noqa: E402
from copilot.bench.rca import ADAPTERS  # noqa: E402
from copilot.bench.scoring import score_ranking  # noqa: E402
from copilot.plugins.detectors import rank as R  # noqa: E402

SCALARS = ("EXPLAINED", "LOAD_EXPLAINED", "SURGE_EXPLAINED", "MIN_SIGMA", "MIN_SHARE", "SURGE_RATIO",
           "ONSET_TOLERANCE_S", "EARLY_BONUS", "LATE_PENALTY", "LATE_AFTER_S", "CHANGE_WEIGHT", "COMBINE_DECAY",
           "SPIKE_WEIGHT", "COMMON_MODE_WEIGHT", "LOAD_CPU_SLACK", "MEMORY_GROWTH", "MEMORY_GROWTH_BYTES",
           "CPU_STARVES_NETWORK", "BLAME_SHARE", "MOVES_WITH_ALERT", "MIN_MOVES_WEIGHT", "OUT_OF_SCOPE",
           "SCOPE_SIGMA", "SYMPTOM_MATCH", "CALLER_SUPPORT", "CPU_PINNED_PCT", "CPU_PINNED_RISE",
           "PINNED_EQUIVALENT", "PINNED_SIGMA", "MEMORY_LIMIT_PCT", "MEMORY_LIMIT_RISE")
TABLES = ("INTRINSIC_WEIGHT", "SYMPTOM_WEIGHT")
ABOUT_ONE = ("EARLY_BONUS", "LATE_PENALTY")  # multipliers around 1: their distance from 1 is what is varied


def prepare(kind: str, path: str) -> list[tuple[list, list, object]]:
    """(findings, call graph, truth) per case, from the product's own detectors."""
    from copilot.plugins.detectors.logs import detect_log_anomalies
    from copilot.plugins.detectors.metrics import alerted_series, detect_metric_anomalies
    from copilot.plugins.detectors.traces import detect_trace_anomalies
    from copilot.plugins.telemetry.model import Telemetry

    out = []
    for case in ADAPTERS[kind](path):
        tel = case.load(traces=True, logs=True)
        rng = tel.time_range()
        if rng is None:
            continue
        counter = itertools.count(1)

        def next_id(prefix: str) -> str:
            return f"{prefix}{next(counter)}"

        window, baseline = (case.alert_time, rng[1]), (rng[0], case.alert_time)
        ref = tel.meta.get("reference")
        findings = bench_rank.alert_findings(tel, next_id)
        findings += detect_metric_anomalies(tel.metrics, window, baseline, next_id, limit=1000,
                                            reference=ref.metrics if isinstance(ref, Telemetry) else None,
                                            alerted=alerted_series(tel.metrics, tel.alerts))
        if tel.spans:
            findings += detect_trace_anomalies(tel.spans, window, baseline, next_id)
        if tel.logs:
            findings += detect_log_anomalies(tel.logs, window, baseline, next_id)
        out.append((findings, bench_rank.call_graph(tel), case.truth))
    return out


def ac1(cases) -> float:
    hits = 0
    for findings, graph, truth in cases:
        ranked = [(r.component, r.fault_type) for r in R.rank_root_causes(findings, graph, top_k=5)]
        hits += score_ranking(ranked, truth.component, truth.fault_kind).rank == 1
    return round(hits / max(len(cases), 1), 3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+", help="kind=path, kind one of rcd, nezha, petshop")
    ap.add_argument("--factors", type=float, nargs="+", default=[0.5, 1.5])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    data = {}
    for spec in args.datasets:
        kind, _, path = spec.partition("=")
        if kind not in ADAPTERS or not path:
            ap.error(f"{spec}: expected kind=path with kind one of {', '.join(ADAPTERS)}")
        t0 = time.perf_counter()
        data[f"{kind}:{Path(path).name}"] = prepare(kind, path)
        print(f"# {kind} {path}: {len(data[f'{kind}:{Path(path).name}'])} cases, findings in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
    base = {name: ac1(cases) for name, cases in data.items()}
    rows = []
    for const in SCALARS + TABLES:
        original = getattr(R, const)
        for factor in args.factors:
            if isinstance(original, dict):
                value = {k: v * factor for k, v in original.items()}
            elif const in ABOUT_ONE:
                value = 1 + (original - 1) * factor
            else:
                value = original * factor
            setattr(R, const, value)
            try:
                rows.append({"constant": const, "factor": factor, **{n: ac1(c) for n, c in data.items()}})
            finally:
                setattr(R, const, original)
    if args.json:
        json.dump({"baseline": base, "rows": rows}, sys.stdout)
        print()
        return 0
    names = list(data)
    print(f"{'constant':22} {'x':>4} " + " ".join(f"{n[:18]:>18}" for n in names))
    print(f"{'(as set)':22} {'1':>4} " + " ".join(f"{base[n]:>18.3f}" for n in names))
    for r in rows:
        marks = " ".join(f"{r[n]:>12.3f} ({r[n] - base[n]:+.2f})" for n in names)
        print(f"{r['constant']:22} {r['factor']:>4g} {marks}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
