"""How fast the read-only commands answer: wall time of each command as a user runs it
(a fresh process each time), on a store seeded with the bundled knowledge and a few saved
diagnoses, in a throw-away XDG home.

    .venv/bin/python bench/cli_speed.py [--runs 5] [--against DIR]

Prints, per command, the first run (no snapshot yet: LanceDB is imported) and the median
and max of the following runs. Goal (issue 11): every read-only command under 1.5 s.
`--against DIR` times another source tree too (e.g. `git archive main | tar -x -C DIR`),
its runs alternating with this tree's so both see the same load: a before/after figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (
    ["--version"],
    ["kb", "list"],
    ["kb", "show", "exp-disk-full-en"],
    ["memory", "list"],
    ["kb", "search", "disk full"],
    ["kb", "search", "磁盘满了"],
)


def timed(argv: list[str], env: dict[str, str], root: Path = ROOT) -> float:
    start = time.perf_counter()
    env = dict(env, PYTHONPATH=str(root))
    r = subprocess.run([sys.executable, "-m", "copilot", *argv], cwd=root, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"copilot {' '.join(argv)} failed: {r.stderr.strip()}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="warm runs per command after the first (default 5)")
    ap.add_argument("--against", type=Path, help="another source tree to time alternately (before/after)")
    args = ap.parse_args()
    trees = [ROOT] + ([args.against.resolve()] if args.against else [])
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, XDG_DATA_HOME=f"{home}/data", XDG_CONFIG_HOME=f"{home}/config",
                   XDG_CACHE_HOME=os.environ.get("XDG_CACHE_HOME", f"{home}/cache"), LANCE_LOG="error",
                   PYTHONPATH=str(ROOT))
        env.pop("COPILOT_KB_URI", None)
        # a store with the bundled knowledge and two saved diagnoses
        for q in ("why is checkout slow?", "why is cart failing?"):
            subprocess.run([sys.executable, "-m", "copilot", "--demo", "--query", q, "--offline", "--quiet"],
                           cwd=ROOT, env=env, capture_output=True, check=False)
        load = os.getloadavg()[0]
        print(f"load average at start: {load:.2f} on {os.cpu_count()} CPUs")
        print(f"{'command':<34} " + "   ".join(f"{'first':>8} {'median':>8} {'max':>8}" for _ in trees)
              + ("   (this tree | --against)" if len(trees) > 1 else ""))
        for argv in COMMANDS:
            first = [timed(argv, env, root) for root in trees]
            warm: list[list[float]] = [[] for _ in trees]
            for _ in range(args.runs):
                for i, root in enumerate(trees):
                    warm[i].append(timed(argv, env, root))
            cols = "   ".join(f"{f:>7.2f}s {statistics.median(w):>7.2f}s {max(w):>7.2f}s" for f, w in zip(first, warm))
            print(f"{'copilot ' + ' '.join(argv):<34} {cols}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
