"""Managed-database speed and accuracy: a fleet of RDS instances saved as AWS CLI output,
read and scanned by the database detectors, and the recorded fault states end to end.

    .venv/bin/python bench/cloud_speed.py [--instances 200] [--hours 24] [--json]

Speed: writes `--instances` DB instances, each with `get-metric-data` output (9 AWS/RDS
metrics, one point a minute for `--hours`), an RDS `describe-events` file and Performance
Insights top SQL / wait keys, into a temporary folder; then times reading the folder
(plugins/cloud/folder.py) and running every database detector (plugins/cloud/detect.py) over
the last hour against the rest, and reports peak memory (ru_maxrss). One instance in ten
carries a fault (storage running out), so the detectors find something.

Accuracy: every recorded state in tests/aws_states.py (each fault and each "nothing wrong"
variant) investigated by the detectors over its window: the fault's kind found on the right
instance, and nothing (or only ruled-out confounders) on the healthy ones. These states were
written together with the detectors, so the figure is a development (tuned) figure.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

METRICS = ("CPUUtilization", "FreeStorageSpace", "DatabaseConnections", "ReplicaLag", "WriteIOPS", "WriteThroughput",
           "ReadIOPS", "FreeableMemory", "DiskQueueDepth")
BASE = {"CPUUtilization": 25.0, "FreeStorageSpace": 100 * 2**30, "DatabaseConnections": 150.0, "ReplicaLag": 0.5,
        "WriteIOPS": 400.0, "WriteThroughput": 8e6, "ReadIOPS": 900.0, "FreeableMemory": 8 * 2**30, "DiskQueueDepth": 1.0}


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat()


def write_fleet(root: Path, instances: int, hours: int, end: float) -> None:
    times = [end - 60 * i for i in range(hours * 60)]  # newest first, as get-metric-data answers
    stamps = [iso(t) for t in times]
    for n in range(instances):
        name = f"db-{n:04d}"
        faulty = n % 10 == 0
        results = []
        for k, metric in enumerate(METRICS):
            values = []
            for i, t in enumerate(times):
                v = BASE[metric] * (1 + 0.03 * (((i + n + k) * 37 % 11) - 5) / 5)
                if faulty and metric == "FreeStorageSpace" and i < 40:
                    v = max(0.0, BASE[metric] * i / 400)
                values.append(round(v, 3))
            results.append({"Id": f"m{k}", "Label": metric, "Timestamps": stamps, "Values": values, "StatusCode": "Complete"})
        folder = root / "cloudwatch" / name
        folder.mkdir(parents=True)
        (folder / "rds.json").write_text(json.dumps({"MetricDataResults": results, "Messages": []}), encoding="utf-8")
        pi = root / "pi" / name
        pi.mkdir(parents=True)
        keys = [{"Dimensions": {"db.sql_tokenized.statement": f"SELECT * FROM t{j} WHERE id = ?"}, "Total": 0.1 * (j + 1)}
                for j in range(10)]
        (pi / "top-sql.json").write_text(json.dumps({"AlignedStartTime": iso(end - 3600), "AlignedEndTime": iso(end),
                                                     "Keys": keys}), encoding="utf-8")
    events = [{"SourceIdentifier": f"db-{n:04d}", "SourceType": "db-instance", "Message": "Finished DB Instance backup",
               "EventCategories": ["backup"], "Date": iso(end - 7200)} for n in range(instances)]
    (root / "rds").mkdir()
    (root / "rds" / "events.json").write_text(json.dumps({"Events": events}), encoding="utf-8")


def speed(instances: int, hours: int) -> dict:
    from copilot.plugins.cloud.detect import detect_database_faults
    from copilot.plugins.cloud.folder import load_folder

    end = 1_800_000_000.0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_fleet(root, instances, hours, end)
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        t0 = time.perf_counter()
        tel = load_folder(root)
        t1 = time.perf_counter()
        counter = iter(range(1, 10**9))
        findings = detect_database_faults(tel, (end - 3600, end), (end - hours * 3600, end - 3600),
                                          lambda p: f"{p}{next(counter)}")
        t2 = time.perf_counter()
    storage = sorted({f.component for f in findings if f.kind == "db_storage_full"})
    return {"instances": instances, "hours": hours, "series": len(tel.metrics),
            "points": int(sum(len(m.values) for m in tel.metrics)), "bytes_on_disk": size,
            "read_s": round(t1 - t0, 2), "detect_s": round(t2 - t1, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "storage_full_found": len(storage), "storage_full_planted": len(range(0, instances, 10)),
            "other_findings": len([f for f in findings if f.kind != "db_storage_full"])}


def accuracy() -> dict:
    from copilot.plugins.cloud.detect import detect_database_faults
    from copilot.plugins.cloud.folder import load_folder
    from tests.aws_states import DB, ONSET, REPLICA, STATES, T0, state

    expected = {"storage_full": (DB, "db_storage_full"), "storage_full_events_only": (DB, "db_storage_full"),
                "connections_exhausted": (DB, "db_connections_exhausted"), "replication_lag": (REPLICA, "db_replication_lag"),
                "failover": (DB, "db_failover"), "reboot": (DB, "db_reboot"), "cpu_query": (DB, "db_cpu_query"),
                "cpu_maintenance": (DB, "db_cpu_maintenance"), "lock_contention": (DB, "db_lock_contention")}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in STATES:
            tel = load_folder(state(Path(tmp) / name, name))
            found = detect_database_faults(tel, (ONSET - 900, T0 + 7200), (T0, ONSET - 900), lambda p: p + "1")
            causes = [(f.component, f.kind) for f in found if not f.details.get("confounder")]
            want = expected.get(name)
            rows[name] = bool(causes and causes[0] == want) if want else not causes
    faults = [n for n in rows if n in expected]
    healthy = [n for n in rows if n not in expected]
    return {"faults_right": f"{sum(rows[n] for n in faults)}/{len(faults)}",
            "nothing_wrong_right": f"{sum(rows[n] for n in healthy)}/{len(healthy)}", "cases": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = {"speed": speed(args.instances, args.hours), "accuracy": accuracy()}
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
