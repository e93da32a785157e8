"""How fast the read-only commands answer: wall time of each command as a user runs it
(a fresh process each time), on a store seeded with the bundled knowledge and a few saved
diagnoses, in a throw-away XDG home.

    .venv/bin/python bench/cli_speed.py [--runs 5]

Prints, per command, the first run (no snapshot yet: LanceDB is imported) and the median
and max of the following runs. Goal (issue 11): every read-only command under 1.5 s.
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
)


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "copilot", *argv], cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"copilot {' '.join(argv)} failed: {r.stderr.strip()}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="warm runs per command after the first (default 5)")
    args = ap.parse_args()
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
        print(f"{'command':<34} {'first':>8} {'median':>8} {'max':>8}")
        for argv in COMMANDS:
            first = timed(argv, env)
            warm = [timed(argv, env) for _ in range(args.runs)]
            print(f"{'copilot ' + ' '.join(argv):<34} {first:>7.2f}s {statistics.median(warm):>7.2f}s {max(warm):>7.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
