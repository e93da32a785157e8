"""Peak memory and wall time of an offline investigation over a very large metrics file
(issue 16: "5 M rows under 2 GB and 60 s").

    .venv/bin/python bench/large_input.py [--rows 5000000] [--timeout 300]

Writes a long-shape `metrics.csv` (timestamp, component, metric, value; 15 s step; 100
components x 10 metrics; `svc007` latency jumps in the last fifth) plus a one-line alert
into a temporary folder, then runs, as a user would,
`copilot --query "why is svc007 slow?" --data DIR --offline --format json --no-memory --quiet`
in a child process. Prints rows, file size, wall time, the child's peak resident memory
(getrusage ru_maxrss) and the top root cause.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STEP = 15
COMPONENTS = 100
METRICS = ("latency_ms", "cpu_ratio", "memory_mb", "rps", "errors", "gc_ms", "threads", "queue", "conn", "io_ms")
BASE = 1_715_688_000  # 2024-05-14 12:00 UTC


def write_metrics(path: Path, rows: int) -> None:
    series = COMPONENTS * len(METRICS)
    steps = max(rows // series, 10)
    rng = np.random.default_rng(16)
    fault_at = steps - steps // 5
    with path.open("w", encoding="utf-8") as fh:
        fh.write("timestamp,component,metric,value\n")
        for i in range(steps):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE + i * STEP))
            noise = 1 + 0.03 * rng.normal(size=series)
            lines = []
            for c in range(COMPONENTS):
                for m, metric in enumerate(METRICS):
                    v = (10.0 + m) * noise[c * len(METRICS) + m]
                    if c == 7 and metric == "latency_ms" and i >= fault_at:
                        v *= 8
                    lines.append(f"{stamp},svc{c:03d},{metric},{v:.4g}\n")
            fh.write("".join(lines))
    alert_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE + (fault_at + 4) * STEP))
    (path.parent / "alerts.jsonl").write_text(json.dumps({"timestamp": alert_at, "name": "HighLatency",
                                                          "component": "svc007", "severity": "page"}) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="large-input-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        write_metrics(data / "metrics.csv", args.rows)
        size_mb = (data / "metrics.csv").stat().st_size / 2**20
        env = dict(os.environ, XDG_DATA_HOME=f"{tmp}/xdg", XDG_CONFIG_HOME=f"{tmp}/cfg", LANCE_LOG="error",
                   PYTHONPATH=str(ROOT))
        env = {k: v for k, v in env.items() if not k.startswith(("COPILOT_", "OPENAI_"))}
        cmd = [sys.executable, "-m", "copilot", "--query", "why is svc007 slow?", "--data", str(data), "--offline",
               "--format", "json", "--no-memory", "--quiet"]
        started = time.perf_counter()
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(json.dumps({"rows": args.rows, "file_mb": round(size_mb), "timeout_s": args.timeout}))
            return 1
        took = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        top = {}
        if run.returncode == 0:
            causes = json.loads(run.stdout).get("root_causes") or []
            top = causes[0] if causes else {}
        print(json.dumps({
            "rows": args.rows, "file_mb": round(size_mb), "exit": run.returncode, "wall_s": round(took, 1),
            "peak_rss_mb": round(peak_mb), "top_cause": [top.get("component"), top.get("fault_type")],
            "stderr": run.stderr.strip().splitlines()[-1:] if run.returncode else [],
        }, indent=2))
        return 0 if run.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
