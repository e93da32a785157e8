"""How log anomaly detection time grows with log volume.

    .venv/bin/python bench/log_scale.py [--lines 20000 100000 300000]

Builds Java-style service logs (45 services, four message shapes with ids, an hour:
the first half the baseline, the second the window) and times `detect_log_anomalies`.
Above `LOG_BUDGET` lines the detector thins them (every error line kept, the same share
of the others in both periods), so time stops growing with volume.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from copilot.plugins.detectors.logs import detect_log_anomalies  # noqa: E402
from copilot.plugins.telemetry.model import LogRecord  # noqa: E402

T0 = 1_700_000_000.0
SHAPES = ("[%s] INFO  c.t.s.controller.%sController - [query][Query success][id: %s]",
          "[%s] INFO  o.s.web.servlet.DispatcherServlet - Completed initialization in %s ms for %s",
          "[%s] WARN  c.t.s.service.%sServiceImpl - [getTrip][Trip not found][tripId: %s]",
          "[%s] INFO  c.t.s.service.%sServiceImpl - [create][Order created][orderId: %s, price %s]")


def logs(n: int, seed: int = 0) -> list[LogRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        shape = rng.choice(SHAPES)
        args = tuple(f"{rng.randint(0, 999999):x}" for _ in range(shape.count("%s")))
        out.append(LogRecord(T0 + i * 3600 / n, f"ts-s{i % 45}-service", shape % args, "INFO", ""))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, nargs="+", default=[20_000, 100_000, 300_000])
    args = ap.parse_args()
    print(f"{'lines':>9} {'seconds':>8} findings")
    for n in args.lines:
        records = logs(n)
        counter = itertools.count(1)
        t0 = time.perf_counter()
        found = detect_log_anomalies(records, (T0 + 1800, T0 + 3600), (T0, T0 + 1800), lambda p: f"{p}{next(counter)}")
        print(f"{n:>9} {time.perf_counter() - t0:>8.2f} {len(found)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
