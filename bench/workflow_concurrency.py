"""Benchmark: a workflow of 10 HTTP items against a local server with per-request delays
runs them concurrently (bounded), in no more than the slowest item plus 20%.

    .venv/bin/python bench/workflow_concurrency.py [--runs 3] [--json]

Each item asks the server to wait 0.2 s ... 2.0 s before answering, then applies a jq
filter (in its sandboxed child process). The slowest item is timed alone (same code path,
one item), then the whole workflow; the ratio is workflow / slowest.
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DELAYS = [0.2 * (i + 1) for i in range(10)]  # 0.2 s ... 2.0 s
LIMIT = 1.2


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        q = parse_qs(urlsplit(self.path).query)
        time.sleep(float(q.get("delay", ["0"])[0]))
        raw = json.dumps({"data": {"client_status": [{"status": "NO", "result": f"slow {q['delay'][0]}s"},
                                                     {"status": "OK", "result": "fine"}]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *a):
        pass


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog (5) makes the 6th concurrent connect wait for a SYN retry
    daemon_threads = True


def build(tmp: Path):
    from copilot.workflows.loader import parse_workflow
    from copilot.workflows.yamlspec import parse_spec
    from copilot.plugins.items.catalog import Catalog, parse_item

    catalog = Catalog()
    for i, delay in enumerate(DELAYS):
        text = (f"name: check_{i}\nkind: http\ndescription: check {i}\nrequest:\n  url: ${{env:BENCH_API}}/status\n"
                f"  query: {{delay: \"{delay:.1f}\"}}\nfilter: '.data.client_status | map(select(.status == \"NO\")) | map(.result)'\n"
                f"component: c{i}\n")
        item = parse_item(parse_spec(text, str(tmp / f"check_{i}.yaml")))
        catalog.items[item.name] = item
    steps = "".join(f"  - item: check_{i}\n" for i in range(len(DELAYS)))
    wf = parse_workflow(parse_spec(f"name: ten\ndescription: ten checks\nsteps:\n{steps}", str(tmp / "ten.yaml")), catalog)
    return catalog, wf


async def timed_item(catalog, name: str) -> float:
    from copilot.plugins.items.catalog import run_item

    start = time.perf_counter()
    await run_item(catalog.get(name), {}, (time.time() - 3600, time.time()))
    return time.perf_counter() - start


async def timed_workflow(catalog, wf) -> tuple[float, int]:
    from copilot.config import Settings
    from copilot.events import FinalAnswer
    from copilot.workflows.run import run_workflow

    start = time.perf_counter()
    findings = 0
    async for event in run_workflow(wf, {}, settings=Settings(offline=True), catalog=catalog, echo=False):
        if isinstance(event, FinalAnswer):
            findings = len(event.diagnosis["findings"])
    return time.perf_counter() - start, findings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["BENCH_API"] = f"http://127.0.0.1:{server.server_address[1]}"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        catalog, wf = build(Path(tmp))
        for _ in range(args.runs):
            slowest = asyncio.run(timed_item(catalog, f"check_{len(DELAYS) - 1}"))
            total, findings = asyncio.run(timed_workflow(catalog, wf))
            assert findings == len(DELAYS), findings
            rows.append({"slowest_item_s": round(slowest, 3), "workflow_s": round(total, 3),
                         "ratio": round(total / slowest, 3), "sequential_s": round(sum(DELAYS), 1)})
    server.shutdown()
    worst = max(r["ratio"] for r in rows)
    median = sorted(r["ratio"] for r in rows)[len(rows) // 2]
    load = os.getloadavg()[0]
    result = {"items": len(DELAYS), "delays_s": DELAYS, "runs": rows, "median_ratio": median, "worst_ratio": worst,
              "limit": LIMIT, "load_average_1m": round(load, 2), "cpus": os.cpu_count(), "ok": median <= LIMIT}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for r in rows:
            print(f"slowest item alone {r['slowest_item_s']:.3f} s · workflow of {len(DELAYS)} items {r['workflow_s']:.3f} s "
                  f"· ratio {r['ratio']:.3f} (sequential would be {r['sequential_s']} s)")
        print(f"median ratio {median:.3f}, worst {worst:.3f} (limit {LIMIT}; load average {load:.1f} on "
              f"{os.cpu_count()} CPUs): {'ok' if result['ok'] else 'TOO SLOW'}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
