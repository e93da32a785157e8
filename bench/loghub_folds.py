"""Leave-systems-out check of the log parser's thresholds on a Loghub folder.

Every setting of the parser's thresholds in a grid is scored on every system once; then,
for each fold, the setting with the best mean PA on the *other* systems (ties: the
shipped setting, then the first in grid order) is reported on the fold's systems. Two
fold schemes: leave-one-system-out, and three folds of three systems (round robin over
the sorted names). The shipped setting's figure is printed beside it, so a threshold
fitted to the development systems shows up as a gap between the two.

    .venv/bin/python bench/loghub_folds.py $D/loghub-dev [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from statistics import mean
from typing import Any

import copilot.plugins.detectors.logparse as logparse
import copilot.plugins.detectors.logparse_merge as logparse_merge
from copilot.bench.loghub import _truth_file, read_truth, score
from copilot.commands.logs import read_log_lines, templates_for

# Each threshold: where it lives and the values tried (the shipped value among them).
GRID: dict[str, tuple[list[Any], list[Any]]] = {
    "DRAIN_SIM": ([logparse], [0.4, 0.5, 0.6, 0.7]),
    "DRAIN_DEPTH": ([logparse], [3, 4, 5]),
    "SPLIT_MAX_VALUES": ([logparse, logparse_merge], [2, 3, 4]),
    "MAX_CONSTANT_DIFF": ([logparse_merge], [1, 2, 3]),
}


def _shipped() -> tuple[Any, ...]:
    return tuple(getattr(GRID[name][0][0], name) for name in GRID)


def _apply(setting: tuple[Any, ...]) -> None:
    for name, value in zip(GRID, setting):
        for module in GRID[name][0]:
            setattr(module, name, value)


def load(root: Path) -> dict[str, tuple[list[str], list[str]]]:
    systems = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        truth_file = _truth_file(folder)
        log_file = folder / f"{folder.name}_2k.log"
        if truth_file is None or not log_file.exists():
            continue
        truth, _ = read_truth(truth_file)
        systems[folder.name] = (read_log_lines(str(log_file)), truth)
    return systems


def score_grid(systems: dict[str, tuple[list[str], list[str]]]) -> dict[tuple[Any, ...], dict[str, dict[str, float]]]:
    shipped = _shipped()
    table: dict[tuple[Any, ...], dict[str, dict[str, float]]] = {}
    try:
        for setting in itertools.product(*(values for _, values in GRID.values())):
            _apply(setting)
            table[setting] = {name: score(truth, templates_for(lines)) for name, (lines, truth) in systems.items()}
            print(f"{len(table)} settings scored", file=sys.stderr, flush=True)
    finally:
        _apply(shipped)
    return table


def choose(table: dict[tuple[Any, ...], dict[str, dict[str, float]]], train: list[str], shipped: tuple[Any, ...]) -> tuple[Any, ...]:
    def key(setting: tuple[Any, ...]) -> tuple[float, int]:
        return (round(mean(table[setting][s]["pa"] for s in train), 6), setting == shipped)

    return max(table, key=key)


def folds(names: list[str]) -> dict[str, list[list[str]]]:
    return {
        "leave-one-out": [[n] for n in names],
        "3 folds of 3": [names[i::3] for i in range(3)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    systems = load(Path(args.path))
    if not systems:
        print(f"{args.path}: no <System>/<System>_2k.log with a *_structured*.csv found", file=sys.stderr)
        return 1
    shipped = _shipped()
    table = score_grid(systems)
    names = list(systems)
    out: dict[str, Any] = {"thresholds": list(GRID), "shipped": list(shipped), "schemes": {}}
    for scheme, parts in folds(names).items():
        rows: list[dict[str, Any]] = []
        for test in parts:
            train = [n for n in names if n not in test]
            chosen = choose(table, train, shipped)
            rows.append({
                "test": test,
                "chosen": list(chosen),
                "train_pa_chosen": round(mean(table[chosen][s]["pa"] for s in train), 4),
                "test_pa_chosen": round(mean(table[chosen][s]["pa"] for s in test), 4),
                "test_ga_chosen": round(mean(table[chosen][s]["ga"] for s in test), 4),
                "test_pa_shipped": round(mean(table[shipped][s]["pa"] for s in test), 4),
                "test_ga_shipped": round(mean(table[shipped][s]["ga"] for s in test), 4),
            })
        per_system = {n: r["test_pa_chosen"] for r in rows for n in r["test"]} if scheme == "leave-one-out" else None
        out["schemes"][scheme] = {
            "folds": rows,
            "mean_test_pa_chosen": round(mean(r["test_pa_chosen"] for r in rows), 4),
            "mean_test_pa_shipped": round(mean(r["test_pa_shipped"] for r in rows), 4),
            "per_system_pa": per_system,
        }
    best_all = choose(table, names, shipped)
    out["best_on_all"] = {"setting": list(best_all), "pa": round(mean(table[best_all][s]["pa"] for s in names), 4)}
    out["spread"] = {
        name: {
            str(v): round(mean(mean(table[s][n]["pa"] for n in names) for s in table if s[i] == v), 4)
            for v in GRID[name][1]
        }
        for i, name in enumerate(GRID)
    }
    if args.json:
        json.dump(out, sys.stdout, indent=1)
        print()
        return 0
    print("thresholds:", ", ".join(f"{n}={v}" for n, v in zip(GRID, shipped)), "(shipped)")
    for scheme, data in out["schemes"].items():
        print(f"\n{scheme}: chosen on the other systems, scored on the fold")
        print(f"{'test systems':32} {'chosen':28} {'PA chosen':>9} {'PA shipped':>10} {'GA chosen':>9}")
        for r in data["folds"]:
            print(f"{','.join(r['test']):32} {str(r['chosen']):28} {r['test_pa_chosen']:9.3f} {r['test_pa_shipped']:10.3f} {r['test_ga_chosen']:9.3f}")
        print(f"{'mean':32} {'':28} {data['mean_test_pa_chosen']:9.3f} {data['mean_test_pa_shipped']:10.3f}")
    print(f"\nbest on all systems: {out['best_on_all']}")
    print("mean PA over the grid, per value of each threshold:", json.dumps(out["spread"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
