"""`copilot serve` under an alert storm (issue 17's speed goal).

    .venv/bin/python bench/serve_load.py [--alerts 50] [--groups 10] [--concurrency 2] [--json]

Starts the service on 127.0.0.1 (uvicorn, a real port) on the offline demo incident, with a
local webhook receiver as the delivery target, then posts `--alerts` Alertmanager payloads
spread over one second (`--groups` alert names; one alert per payload, each its own
fingerprint) while polling /healthz every 20 ms until every investigation is delivered.
Reports how the storm was grouped (investigations run), the most investigations running
at once, total time, and /healthz latency (p50, p99, max) during the storm.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LANCE_LOG", "error")

NAMES = ["HighLatency", "HighErrorRate", "HighCPU", "PodRestarting", "SlowQueries", "HighMemoryUsage",
         "QueueBacklog", "DiskAlmostFull", "TLSHandshakeErrors", "HighRequestRate"]
SERVICES = ["frontend", "catalogue", "cart", "checkout", "payment", "gateway", "db", "cache"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def payload(i: int, groups: int, starts: str) -> dict:
    name = NAMES[i % groups % len(NAMES)] + ("" if groups <= len(NAMES) else str(i % groups))
    service = SERVICES[i % len(SERVICES)]
    labels = {"alertname": name, "service": service, "instance": f"{service}-{i}"}
    return {"version": "4", "groupKey": f'{{}}:{{alertname="{name}"}}', "status": "firing", "receiver": "copilot",
            "groupLabels": {"alertname": name}, "alerts": [{
                "status": "firing", "labels": labels, "annotations": {"summary": f"{name} on {service}"},
                "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"{i:016x}"}]}


async def storm(url: str, token: str, n: int, groups: int, starts: str, done: threading.Event) -> dict:
    import httpx

    auth = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers=auth, timeout=30) as client:
        async def poll() -> None:
            while not done.is_set():
                t = time.perf_counter()
                r = await client.get("/healthz")
                r.raise_for_status()
                latencies.append((time.perf_counter() - t) * 1000)
                await asyncio.sleep(0.02)

        poller = asyncio.create_task(poll())
        t0 = time.perf_counter()
        answers = []
        for i in range(n):  # the i-th alert leaves at t0 + i/n s: all of them within one second
            await asyncio.sleep(max(0.0, t0 + i / n - time.perf_counter()))
            answers.append(asyncio.create_task(client.post("/alerts/alertmanager", json=payload(i, groups, starts))))
        sent_in = time.perf_counter() - t0
        results = [await a for a in answers]
        posted_in = time.perf_counter() - t0
        while not done.is_set():
            await asyncio.sleep(0.05)
        total = time.perf_counter() - t0
        await poller
        metrics = (await client.get("/metrics")).text
    return {"sent_in_s": round(sent_in, 3), "answered_in_s": round(posted_in, 3), "total_s": round(total, 2),
            "accepted": sum(r.status_code == 202 for r in results),
            "queued": sum(r.json().get("queued", False) for r in results),
            "merged": sum(r.json().get("merged", False) for r in results),
            "health_samples": len(latencies), "health_p50_ms": round(statistics.median(latencies), 1),
            "health_p99_ms": round(percentile(latencies, 99), 1), "health_max_ms": round(max(latencies), 1),
            "metrics": metrics}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alerts", type=int, default=50)
    ap.add_argument("--groups", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="serve-load-"))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        os.environ[name] = str(tmp / name.lower())

    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    from copilot.config import load_settings
    from copilot.demo import ensure_demo
    from copilot.service.app import create_app
    from tests.serve_helpers import Receiver, Served

    demo = ensure_demo()
    starts = json.loads((demo / "alerts.jsonl").read_text().splitlines()[0])["timestamp"]
    token = "bench-token"
    auth = {"Authorization": f"Bearer {token}"}
    done = threading.Event()
    with Receiver() as hook:
        settings = load_settings({"data": str(demo), "offline": True, "memory": False,
                                  "notify_webhook_url": hook.url, "serve_concurrency": args.concurrency})
        app = create_app(settings, token=token, ledger=tmp / "seen.txt")
        queue = app.state.queue

        def investigations(url: str) -> int:
            text = httpx.get(f"{url}/metrics", headers=auth).text
            return int(sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                           if s.name == "copilot_serve_investigations_total"))

        with Served(app) as srv:
            def watch() -> None:  # done: nothing queued or running, and every investigation delivered
                while not done.is_set():
                    time.sleep(0.05)
                    if queue().peak and queue().depth == 0 and len(hook.messages) == investigations(srv.url):
                        done.set()

            threading.Thread(target=watch, daemon=True).start()
            result = asyncio.run(storm(srv.url, token, args.alerts, args.groups, starts, done))
            runs, peak = investigations(srv.url), queue().peak
    result.pop("metrics")
    result.update({"alerts": args.alerts, "groups": args.groups, "concurrency": args.concurrency,
                   "investigations": runs, "peak_running": peak, "delivered": len(hook.messages),
                   "sessions": len(list((tmp / "xdg_data_home").rglob("*.jsonl")))})
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:16} {v}")
    return 0 if result["health_p99_ms"] < 100 and peak <= args.concurrency else 1


if __name__ == "__main__":
    sys.exit(main())
