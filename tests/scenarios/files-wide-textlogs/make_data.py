"""Builds data/ for this scenario (run once; the output is committed, so the suite does not
depend on this script or on numpy's generator staying the same).

A four-service shop in shapes the demo generator does not write, so the files loader is
exercised end to end:
  metrics.csv   wide: `time` in unix seconds, one `<service>_<metric>` column per series
  <svc>.log     raw text logs, one file per service; Java stack traces continue a record
                on lines without a timestamp
  deploys.csv   changes as CSV
  topology.json the call graph as a caller -> callees mapping
No traces and no alerts. The fault: a deploy of inventory at 10:23 UTC, then from 10:26
inventory throws IllegalStateException on a share of stock lookups; orders and web see
the errors second hand. Ground truth (in scenario.yaml): inventory / code_exception.

    .venv/bin/python tests/scenarios/files-wide-textlogs/make_data.py
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data"
START = datetime(2024, 6, 3, 9, 0, tzinfo=timezone.utc).timestamp()
MINUTES = 100
ONSET = 86  # 10:26
SERVICES = {  # cpu %, memory %, p90 ms, qps
    "web": (22.0, 41.0, 38.0, 120.0),
    "orders": (31.0, 55.0, 27.0, 60.0),
    "inventory": (18.0, 48.0, 9.0, 75.0),
    "payments": (15.0, 62.0, 45.0, 20.0),
}
INFO = {
    "web": ["GET /shop/{page} 200 {ms}ms", "session {sid} renewed"],
    "orders": ["order {oid} accepted: {n} items", "order {oid} confirmed by payments"],
    "inventory": ["stock for sku {sku} is {n}", "reserved {n} units of sku {sku} for order {oid}"],
    "payments": ["charge {oid} captured: {amt} EUR", "3-D Secure challenge passed for {oid}"],
}


def main() -> None:
    rng = np.random.default_rng(42)
    OUT.mkdir(exist_ok=True)
    t = np.arange(MINUTES)
    on = (t >= ONSET).astype(float)
    inv_err = 0.1 + on * (18 + rng.normal(0, 1.0, MINUTES))
    err = {"inventory": inv_err, "orders": 0.1 + 0.8 * inv_err, "web": 0.1 + 0.5 * inv_err, "payments": np.full(MINUTES, 0.1)}
    cols, data = ["time"], [START + 60 * t]
    for s, (cpu, mem, lat, qps) in SERVICES.items():
        wobble = 1 + 0.03 * np.sin(t / 9.0)
        series = {
            "cpu": cpu * wobble + rng.normal(0, 0.6, MINUTES),
            "mem": mem + rng.normal(0, 0.3, MINUTES),
            "lat_90": lat * wobble * (1 + rng.normal(0, 0.03, MINUTES)),
            "err": np.abs(err[s] + rng.normal(0, 0.03, MINUTES)),
            "qps": qps * wobble * (1 + rng.normal(0, 0.02, MINUTES)),
        }
        for name, values in series.items():
            cols.append(f"{s}_{name}")
            data.append(values)
    rows = [",".join(cols)]
    for i in range(MINUTES):
        rows.append(",".join([str(int(data[0][i]))] + [f"{c[i]:.3f}" for c in data[1:]]))
    (OUT / "metrics.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    def fill(text: str) -> str:
        return text.format(page=["home", "cart", "item"][int(rng.integers(0, 3))], ms=int(rng.integers(4, 60)),
                           sid=f"{int(rng.integers(0, 1 << 24)):06x}", oid=int(rng.integers(10000, 99999)),
                           n=int(rng.integers(1, 9)), sku=f"SKU-{int(rng.integers(100, 999))}",
                           amt=f"{rng.uniform(5, 300):.2f}")

    for s in SERVICES:
        lines = []
        for i in range(MINUTES):
            entries = [("INFO", fill(INFO[s][int(rng.integers(0, 2))]), []) for _ in range(int(rng.poisson(1)))]
            if i >= ONSET and s == "inventory":
                for _ in range(int(rng.integers(4, 8))):
                    entries.append(("ERROR", f"Unhandled exception in GET /stock/{fill('{sku}')}", [
                        "java.lang.IllegalStateException: reservation ledger is closed",
                        "    at com.shop.inventory.Ledger.reserve(Ledger.java:88)",
                        "    at com.shop.inventory.StockController.get(StockController.java:41)",
                    ]))
            if i >= ONSET and s == "orders":
                entries += [("ERROR", f"call to inventory failed: HTTP 500 for GET /stock/{fill('{sku}')}", [])
                            for _ in range(int(rng.integers(2, 5)))]
            for (level, msg, trace), sec in zip(entries, np.sort(rng.uniform(0, 60, len(entries)))):
                stamp = datetime.fromtimestamp(START + 60 * i + float(sec), timezone.utc)
                lines.append(f"{stamp:%Y-%m-%d %H:%M:%S},{stamp.microsecond // 1000:03d} {level} [{s}] {msg}")
                lines += trace
        (OUT / f"{s}.log").write_text("\n".join(lines) + "\n", encoding="utf-8")

    deploys = [("chg-7", 9 * 60 + 31, "payments", "deploy payments 4.2.0: currency rounding fix", "ci"),
               ("chg-8", 10 * 60 + 23, "inventory", "deploy inventory 2.14.0: new reservation ledger", "m.ng")]
    rows = ["id,timestamp,component,kind,description,author"]
    rows += [f"{i},2024-06-03T{m // 60:02d}:{m % 60:02d}:40Z,{c},deploy,{d},{a}" for i, m, c, d, a in deploys]
    (OUT / "deploys.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    topology = {"web": ["orders"], "orders": ["inventory", "payments"]}
    (OUT / "topology.json").write_text(json.dumps(topology, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
