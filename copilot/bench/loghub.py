"""Loghub template-mining benchmark: `copilot bench loghub PATH [--json]`.

For every system folder `<System>/` under PATH it reads the RAW lines of
`<System>_2k.log` exactly as `copilot logs parse` does (headers included: the parser
must find and strip them itself), and scores the templates against
`<System>_2k.log_structured_corrected.csv` (or `_structured.csv` where only the original
annotation exists) with the Loghub-2.0 (ISSTA'24) metrics:

- GA  grouping accuracy: share of lines whose ground-truth group is reproduced exactly
      (same set of lines under one template);
- PA  parsing accuracy: share of lines whose template string equals the ground truth;
- FGA F1 over groups (a group is right when it is exactly a ground-truth group);
- FTA F1 over templates (a template is right when its group is exactly one ground-truth
      group and its string equals that group's template).
Lines whose ground-truth template is empty are left out, as Loghub-2.0 does.

Where a system has only the original annotation (Android, Windows in Loghub-2k), its
templates are put through the Loghub-2.0 rule-based oracle correction (the same rules
Loghub-2.0 applied to make its `_corrected` files; `canonical_template`) so every system
is scored under one convention; `--raw-truth` scores against the original text instead.

Runnable as `python -m copilot.bench.loghub PATH [--json]`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from copilot.errors import CopilotError

METRICS = ("ga", "pa", "fga", "fta")


@dataclass
class SystemScore:
    system: str
    truth: str  # corrected | original+rules | original
    lines: int
    templates_truth: int
    templates_found: int
    ga: float
    pa: float
    fga: float
    fta: float
    seconds: float


def score(truth: list[str], found: list[str]) -> dict[str, float]:
    """GA, PA, FGA, FTA of `found` templates against `truth`, line by line."""
    pairs = [(t, f) for t, f in zip(truth, found) if t]
    if not pairs:
        return {m: 0.0 for m in METRICS}
    found_sizes = Counter(f for _, f in pairs)
    by_truth: dict[str, Counter] = defaultdict(Counter)
    by_found: dict[str, set] = defaultdict(set)
    for t, f in pairs:
        by_truth[t][f] += 1
        by_found[f].add(t)
    right_lines = 0
    right_groups = 0
    for t, counts in by_truth.items():
        if len(counts) == 1:
            (f, n), = counts.items()
            if found_sizes[f] == n:
                right_lines += n
                right_groups += 1
    ga = right_lines / len(pairs)
    pa = sum(t == f for t, f in pairs) / len(pairs)
    fga = _f1(right_groups / len(found_sizes), right_groups / len(by_truth))
    right_templates = sum(1 for f, ts in by_found.items() if ts == {f})
    fta = _f1(right_templates / len(by_found), right_templates / len(by_truth))
    return {"ga": ga, "pa": pa, "fga": fga, "fta": fta}


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _truth_file(folder: Path) -> Path | None:
    name = folder.name
    for suffix in ("_2k.log_structured_corrected.csv", "_2k.log_structured.csv"):
        candidate = folder / f"{name}{suffix}"
        if candidate.exists():
            return candidate
    return None


def read_truth(truth_file: Path, raw_truth: bool = False) -> tuple[list[str], str]:
    """Ground-truth templates per line, and which convention they follow."""
    from copilot.plugins.detectors.logparse_mask import canonical_template

    with truth_file.open(encoding="utf-8", errors="replace", newline="") as fh:
        truth = [" ".join((row.get("EventTemplate") or "").split()) for row in csv.DictReader(fh)]
    if truth_file.name.endswith("_corrected.csv"):
        return truth, "corrected"
    if raw_truth:
        return truth, "original"
    return [canonical_template(t) if t else t for t in truth], "original+rules"


def run_system(folder: Path, raw_truth: bool = False) -> SystemScore | None:
    from copilot.commands.logs import read_log_lines, templates_for

    log_file = folder / f"{folder.name}_2k.log"
    truth_file = _truth_file(folder)
    if not log_file.exists() or truth_file is None:
        return None
    truth, convention = read_truth(truth_file, raw_truth)
    lines = read_log_lines(str(log_file))
    if len(lines) != len(truth):
        raise CopilotError(f"{log_file}: {len(lines)} lines but {len(truth)} rows in {truth_file.name}")
    start = time.perf_counter()
    found = templates_for(lines)
    seconds = time.perf_counter() - start
    s = score(truth, found)
    return SystemScore(
        system=folder.name,
        truth=convention,
        lines=len(lines),
        templates_truth=len({t for t in truth if t}),
        templates_found=len(set(found)),
        seconds=round(seconds, 3),
        **{k: round(v, 4) for k, v in s.items()},
    )


def run_benchmark(path: str, raw_truth: bool = False) -> list[SystemScore]:
    root = Path(path)
    if not root.is_dir():
        raise CopilotError(f"{path}: not a directory; give the loghub folder (one sub-folder per system)")
    results = [r for folder in sorted(root.iterdir()) if folder.is_dir() for r in [run_system(folder, raw_truth)] if r]
    if not results:
        raise CopilotError(f"{path}: no <System>/<System>_2k.log with a *_structured*.csv found")
    return results


def averages(results: list[SystemScore]) -> dict[str, float]:
    return {m: round(sum(getattr(r, m) for r in results) / len(results), 4) for m in METRICS}


def run_loghub(path: str, as_json: bool, raw_truth: bool = False) -> int:
    """Score every system under `path`; print a table (or one JSON object). Exit code 0."""
    results = run_benchmark(path, raw_truth)
    avg = averages(results)
    if as_json:
        out = {"systems": len(results), "input": "raw lines (headers included)", **avg,
               "per_system": [asdict(r) for r in results]}
        print(json.dumps(out, indent=2))
        return 0
    print("Loghub template mining on raw lines (headers included), via `copilot logs parse`")
    print(f"{'system':<12}{'lines':>6}{'truth':>7}{'found':>7}{'GA':>8}{'PA':>8}{'FGA':>8}{'FTA':>8}{'sec':>7}"
          "  ground truth")
    for r in results:
        print(f"{r.system:<12}{r.lines:>6}{r.templates_truth:>7}{r.templates_found:>7}"
              f"{r.ga:>8.3f}{r.pa:>8.3f}{r.fga:>8.3f}{r.fta:>8.3f}{r.seconds:>7.2f}  {r.truth}")
    print(f"{'average':<32}{avg['ga']:>8.3f}{avg['pa']:>8.3f}{avg['fga']:>8.3f}{avg['fta']:>8.3f}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Entry point for `copilot bench loghub PATH [--json]` (see copilot/bench/registry.py)."""
    if not getattr(args, "path", None):
        raise CopilotError("copilot bench loghub needs the loghub folder: copilot bench loghub PATH")
    return run_loghub(args.path, bool(getattr(args, "json", False)), bool(getattr(args, "raw_truth", False)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m copilot.bench.loghub", description=__doc__.split("\n")[0])
    parser.add_argument("path", help="loghub folder with one sub-folder per system")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--raw-truth", action="store_true",
                        help="score uncorrected annotations as written (no Loghub-2.0 correction rules)")
    args = parser.parse_args(argv)
    try:
        return run_loghub(args.path, args.json, args.raw_truth)
    except CopilotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
