"""Builds data/ for this scenario (run once; the output is committed).

A "novel" fault: from 10:31 UTC the search service leaks sockets. Its open file
descriptors and thread count climb steadily and a new warning about sockets stuck in
CLOSE_WAIT appears in its logs, but nothing users notice yet: latency, errors, CPU and
memory stay normal everywhere. None of the known fault signatures (CPU, memory, disk, GC,
network delay or loss, traffic, exceptions) fits, so the copilot should say the fault is
unknown and show the strongest evidence, on search. Ground truth: search / unknown.

Shapes (different from the demo and from files-wide-textlogs):
  kpi.csv       wide with a component column: Time, PodName (pod names map to services),
                one column per metric
  logs.jsonl    JSON lines with component and level
  alerts.json   Alertmanager-style records (startsAt, labels, annotations), as a JSON list
  topology.json edges as caller/callee objects

    .venv/bin/python tests/scenarios/novel-fd-leak/make_data.py
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data"
START = datetime(2024, 7, 9, 9, 20, tzinfo=timezone.utc).timestamp()
MINUTES = 90
ONSET = 71  # 10:31
PODS = {  # pod name: cpu %, memory %, p90 ms, open fds, threads
    "web-7f9c6d5b8-kq2lx": (24.0, 38.0, 41.0, 310.0, 64.0),
    "api-5d8f7c9b4-x2kqp": (33.0, 52.0, 28.0, 540.0, 120.0),
    "search-6b7d9f8c5-mzt4w": (29.0, 46.0, 17.0, 1200.0, 210.0),
    "users-84c6b7d9f-p9v2r": (12.0, 57.0, 9.0, 260.0, 48.0),
}
INFO = {
    "web": ["served /{page} in {ms} ms", "static bundle {sid} cached"],
    "api": ["GET /v1/{page} -> 200 in {ms} ms", "token refreshed for client {sid}"],
    "search": ["query '{term}' answered from index shard {n} in {ms} ms", "index shard {n} refreshed"],
    "users": ["profile {sid} loaded in {ms} ms", "session {sid} extended"],
}


def main() -> None:
    rng = np.random.default_rng(7)
    OUT.mkdir(exist_ok=True)
    t = np.arange(MINUTES)
    grow = np.clip(t - ONSET + 1, 0, None)
    rows = ["Time,PodName,CpuUsageRate(%),MemoryUsageRate(%),LatencyP90(ms),OpenFileDescriptors,ThreadCount"]
    for i in range(MINUTES):
        stamp = datetime.fromtimestamp(START + 60 * i, timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
        for pod, (cpu, mem, lat, fds, threads) in PODS.items():
            leak = pod.startswith("search")
            wobble = 1 + 0.02 * np.sin(i / 11.0)
            values = (
                cpu * wobble + rng.normal(0, 0.5),
                mem + rng.normal(0, 0.25),
                lat * wobble * (1 + rng.normal(0, 0.025)),
                fds + rng.normal(0, 6) + (grow[i] * 2400 if leak else 0),
                threads + rng.normal(0, 1.5) + (grow[i] * 55 if leak else 0),
            )
            rows.append(",".join([stamp, pod] + [f"{v:.2f}" for v in values]))
    (OUT / "kpi.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    def fill(text: str) -> str:
        return text.format(page=["home", "search", "account"][int(rng.integers(0, 3))], ms=int(rng.integers(3, 40)),
                           sid=f"{int(rng.integers(0, 1 << 24)):06x}", n=int(rng.integers(0, 8)),
                           term=["shoes", "lamp", "desk", "tent"][int(rng.integers(0, 4))])

    records = []
    for i in range(MINUTES):
        entries = [(s, "INFO", fill(INFO[s][int(rng.integers(0, 2))])) for s in INFO for _ in range(int(rng.poisson(1)))]
        if i >= ONSET:
            stuck = int(grow[i] * 2400 * 0.9)
            entries += [("search", "WARN", f"{stuck} sockets in CLOSE_WAIT on the index client pool")] * int(rng.integers(2, 4))
        for (s, level, msg), sec in zip(entries, np.sort(rng.uniform(0, 60, len(entries)))):
            stamp = datetime.fromtimestamp(START + 60 * i + float(sec), timezone.utc).isoformat(timespec="milliseconds")
            records.append(json.dumps({"timestamp": stamp.replace("+00:00", "Z"), "component": s, "level": level, "message": msg}))
    (OUT / "logs.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")

    alerts = [{"startsAt": "2024-07-09T10:39:30Z", "labels": {"alertname": "OpenFileDescriptorsHigh", "service": "search",
                                                             "severity": "warning"},
               "annotations": {"description": "search open file descriptors above 20000 for 2m"}}]
    (OUT / "alerts.json").write_text(json.dumps(alerts, indent=1) + "\n", encoding="utf-8")
    edges = [{"caller": "web", "callee": "api"}, {"caller": "api", "callee": "search"}, {"caller": "api", "callee": "users"}]
    (OUT / "topology.json").write_text(json.dumps({"edges": edges}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
