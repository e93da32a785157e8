"""Start-up and offline investigation speed (issue 2's speed goals).

    .venv/bin/python bench/core_speed.py [--runs 5]

Measures, as subprocesses the way a user runs them:
- `copilot --help` wall time, and that it imports neither lancedb, textual nor openai;
- `copilot --query ... --offline --events` on the bundled demo: time to the first event
  line on stdout and to the end of the full diagnosis.
Prints medians (and all runs) as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPILOT = [sys.executable, "-m", "copilot"]


def help_time() -> float:
    start = time.perf_counter()
    subprocess.run(COPILOT + ["--help"], check=True, capture_output=True)
    return time.perf_counter() - start


def heavy_imports_on_help() -> list[str]:
    code = (
        "import sys, io, contextlib\n"
        "from copilot.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        "print(','.join(m for m in ('lancedb','textual','openai','numpy','rich','prompt_toolkit') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    return [m for m in out.split(",") if m]


def query_times(question: str) -> tuple[float, float]:
    env = dict(os.environ, LANCE_LOG="error")
    start = time.perf_counter()
    proc = subprocess.Popen(COPILOT + ["--query", question, "--offline", "--events"], stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    first = time.perf_counter() - start
    proc.stdout.read()
    proc.wait()
    return first, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from copilot.demo import ensure_demo

    question = (ensure_demo() / "question.txt").read_text(encoding="utf-8").strip()
    query_times(question)  # warm the demo cache and the OS file cache
    helps = [help_time() for _ in range(args.runs)]
    queries = [query_times(question) for _ in range(args.runs)]
    result = {
        "help_s_median": round(statistics.median(helps), 3),
        "help_heavy_imports": heavy_imports_on_help(),
        "first_event_s_median": round(statistics.median(q[0] for q in queries), 3),
        "full_diagnosis_s_median": round(statistics.median(q[1] for q in queries), 3),
        "runs": args.runs,
        "help_s": [round(x, 3) for x in helps],
        "query_s": [[round(a, 3), round(b, 3)] for a, b in queries],
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
