"""Speed of an offline investigation of a live Prometheus (issue 11's speed goal).

    .venv/bin/python bench/prom_speed.py [--series 200] [--hours 3] [--runs 3]

Writes `--hours` of history at a 15 s step for `--series` gauge series (50 services x 4
metrics by default; one service's latency jumps 20 minutes before the end), backfills it
into a real Prometheus with promtool, starts that Prometheus on a free local port, then runs
`copilot --query "why is svc007 slow?" --offline --format json` with only
COPILOT_PROMETHEUS_URL set, as a user would. Prints the wall time of each run (median too),
how many series the run fetched, and whether the faulty service came first. Needs the
`prometheus` and `promtool` binaries (Debian package `prometheus`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STEP = 15
METRICS = ("latency_seconds", "cpu_ratio", "memory_bytes", "requests_per_second")


def history(series: int, hours: float, end: float) -> str:
    rng = np.random.default_rng(5)
    ts = np.arange(end - hours * 3600, end + 1, STEP)
    fault = end - 20 * 60
    lines = [f"# TYPE {m} gauge" for m in METRICS]
    services = series // len(METRICS)
    out = []
    for m_i, metric in enumerate(METRICS):
        out.append(lines[m_i])
        for s in range(services):
            base = (0.05, 0.3, 3e8, 50.0)[m_i]
            v = base * (1 + 0.03 * rng.normal(size=len(ts)))
            if s == 7 and metric == "latency_seconds":
                v = np.where(ts >= fault, base * 8, v)
            out += [f'{metric}{{service="svc{s:03d}"}} {x:.6g} {t:.0f}' for t, x in zip(ts, v)]
    out.append("# EOF")
    return "\n".join(out) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        print("needs prometheus and promtool (apt-get install prometheus)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="prom-speed-"))
    end = float(int(time.time() // 60) * 60 - 120)
    (work / "h.om").write_text(history(args.series, args.hours, end))
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(work / "h.om"),
                    str(work / "data")], check=True, capture_output=True)
    (work / "prometheus.yml").write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(["prometheus", f"--config.file={work / 'prometheus.yml'}",
                             f"--storage.tsdb.path={work / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                             "--log.level=error", "--storage.tsdb.retention.time=30d"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOT_", "OPENAI_"))}
        env.update(COPILOT_PROMETHEUS_URL=url, XDG_CONFIG_HOME=str(work / "cfg"), XDG_DATA_HOME=str(work / "xdg"),
                   LANCE_LOG="error", PYTHONPATH=str(ROOT))
        times, results = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            run = subprocess.run([sys.executable, "-m", "copilot", "--query", "why is svc007 slow?", "--offline",
                                  "--format", "json", "--no-memory", "--quiet", "--since", f"{args.hours * 60 / 3:.0f} minutes ago"],
                                 capture_output=True, text=True, env=env, timeout=300)
            times.append(time.perf_counter() - t0)
            if run.returncode != 0:
                print(run.stderr, file=sys.stderr)
                return 1
            results.append(json.loads(run.stdout))
        top = results[-1]["root_causes"][0] if results[-1]["root_causes"] else {}
        print(json.dumps({
            "series_written": args.series, "hours": args.hours, "step_s": STEP,
            "runs_s": [round(t, 2) for t in times], "median_s": round(statistics.median(times), 2),
            "top_cause": [top.get("component"), top.get("fault_type")],
            "metric_findings": sum(1 for f in results[-1]["findings"] if f["source"] == "metrics"),
        }, indent=2))
        return 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
