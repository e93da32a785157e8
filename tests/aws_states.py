"""Recorded managed-database states, written in the exact shapes the AWS CLI prints.

Each state is a folder as an engineer saves it on a jump host:

    cloudwatch/<instance>/<metric>.json   aws cloudwatch get-metric-statistics ... (Label + Datapoints)
    cloudwatch/<file>.json                aws cloudwatch get-metric-data ... (MetricDataResults, labelled
                                          '<instance> <metric>', newest first as the CLI returns them)
    rds/events.json                       aws rds describe-events
    rds/<instance>/parameters.json        aws rds describe-db-parameters
    pi/<instance>/load.json               aws pi get-resource-metrics (grouped by db.wait_event)
    pi/<instance>/top-sql.json            aws pi describe-dimension-keys --group-by db.sql_tokenized
    pi/<instance>/top-waits.json          aws pi describe-dimension-keys --group-by db.wait_event

Two hours of one-minute points from 10:00 UTC; faults start at 11:30 ("since 11:30").
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc).timestamp()
MINUTES = 120
ONSET = T0 + 90 * 60  # 11:30
GIB = 2**30
DB = "orders-db"
REPLICA = "orders-db-replica"
ARN = "arn:aws:rds:eu-west-1:123456789012:db:"


def iso(t: float) -> str:
    """A timestamp as AWS CLI v2 prints it."""
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat()


def minutes() -> list[float]:
    return [T0 + 60 * i for i in range(MINUTES)]


def curve(base: float, after: Callable[[int], float] | None = None, wobble: float = 0.02) -> list[float]:
    """Per minute: `base` with a small deterministic wobble, then `after(minutes since onset)`."""
    out = []
    for i, t in enumerate(minutes()):
        v = base * (1 + wobble * (((i * 37) % 11) - 5) / 5)
        if after is not None and t >= ONSET:
            v = after(int((t - ONSET) // 60))
        out.append(round(v, 4))
    return out


def write(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=4), encoding="utf-8")


def statistics(root: Path, instance: str, metric: str, values: list[float], stat: str = "Average", unit: str = "Percent") -> None:
    """`aws cloudwatch get-metric-statistics` output (datapoints in no particular order)."""
    points = [{"Timestamp": iso(t), stat: v, "Unit": unit} for t, v in zip(minutes(), values)]
    points = points[1::2] + points[0::2]  # the CLI does not sort them
    write(root / "cloudwatch" / instance / f"{metric}.json", {"Label": metric, "Datapoints": points})


def metric_data(root: Path, name: str, series: dict[str, list[float]]) -> None:
    """`aws cloudwatch get-metric-data` output: one result per '<instance> <metric>' label."""
    results = []
    for n, (label, values) in enumerate(series.items()):
        pairs = list(zip(minutes(), values))[::-1]  # TimestampDescending, the default
        results.append({"Id": f"m{n}", "Label": label, "Timestamps": [iso(t) for t, _ in pairs],
                        "Values": [v for _, v in pairs], "StatusCode": "Complete"})
    write(root / "cloudwatch" / f"{name}.json", {"MetricDataResults": results, "Messages": []})


def events(root: Path, items: list[tuple[float, str, str, list[str]]]) -> None:
    """`aws rds describe-events` output: (time, instance, message, categories)."""
    write(root / "rds" / "events.json", {"Events": [
        {"SourceIdentifier": inst, "SourceType": "db-instance", "Message": msg, "EventCategories": cats,
         "Date": iso(t).replace("+00:00", ".000Z"), "SourceArn": ARN + inst} for t, inst, msg, cats in items]})


def parameters(root: Path, instance: str, max_connections: str) -> None:
    write(root / "rds" / instance / "parameters.json", {"Parameters": [
        {"ParameterName": "autovacuum", "ParameterValue": "1", "Description": "Starts the autovacuum subprocess.",
         "Source": "engine-default", "ApplyType": "static", "DataType": "boolean", "AllowedValues": "0,1",
         "IsModifiable": True, "ApplyMethod": "pending-reboot"},
        {"ParameterName": "max_connections", "ParameterValue": max_connections,
         "Description": "Sets the maximum number of concurrent connections.", "Source": "user", "ApplyType": "static",
         "DataType": "integer", "AllowedValues": "6-8388607", "IsModifiable": True, "ApplyMethod": "pending-reboot"}]})


def top_keys(root: Path, instance: str, name: str, group: str, keys: list[tuple[str, float, str]]) -> None:
    """`aws pi describe-dimension-keys` over the window: (statement or wait event, total AAS, type)."""
    out = []
    for n, (text, total, kind) in enumerate(keys):
        if group == "db.sql_tokenized":
            dims = {"db.sql_tokenized.statement": text, "db.sql_tokenized.db_id": "pi-2372568224",
                    "db.sql_tokenized.id": f"{n:040X}"}
        else:
            dims = {"db.wait_event.name": text, "db.wait_event.type": kind}
        out.append({"Dimensions": dims, "Total": total})
    write(root / "pi" / instance / f"{name}.json",
          {"AlignedStartTime": iso(ONSET), "AlignedEndTime": iso(T0 + MINUTES * 60), "Keys": out})


def pi_load(root: Path, instance: str, waits: dict[str, list[float]]) -> None:
    """`aws pi get-resource-metrics` grouped by db.wait_event (CLI v1 prints epoch floats)."""
    total = [round(sum(v[i] for v in waits.values()), 4) for i in range(MINUTES)]
    metric_list = [{"Key": {"Metric": "db.load.avg"},
                    "DataPoints": [{"Timestamp": t, "Value": v} for t, v in zip(minutes(), total)]}]
    for name, values in waits.items():
        metric_list.append({"Key": {"Metric": "db.load.avg", "Dimensions": {"db.wait_event.name": name}},
                            "DataPoints": [{"Timestamp": t, "Value": v} for t, v in zip(minutes(), values)]})
    write(root / "pi" / instance / "load.json", {"AlignedStartTime": T0, "AlignedEndTime": T0 + MINUTES * 60,
                                                 "Identifier": "db-LKCGOBK26374TPTDFXOIWVCPPM", "MetricList": metric_list})


def healthy_basics(root: Path, instance: str = DB, cpu: list[float] | None = None) -> None:
    statistics(root, instance, "CPUUtilization", cpu or curve(22.0))
    statistics(root, instance, "FreeStorageSpace", curve(40 * GIB, wobble=0.001), "Minimum", "Bytes")
    statistics(root, instance, "DatabaseConnections", curve(120.0), "Maximum", "Count")


# ---- the states ---------------------------------------------------------------------------


def storage_full(root: Path) -> None:
    statistics(root, DB, "CPUUtilization", curve(22.0))
    statistics(root, DB, "FreeStorageSpace", curve(40 * GIB, lambda m: max(0.05 * GIB, 40 * GIB - m * 2 * GIB), 0.001),
               "Minimum", "Bytes")
    statistics(root, DB, "DatabaseConnections", curve(120.0), "Maximum", "Count")
    events(root, [(ONSET + 25 * 60, DB, "The free storage capacity for DB instance orders-db is low at 1% of the provisioned "
                   "storage [Provisioned Storage: 40.00 GB, Free Storage: 0.40 GB]. You may want to increase the provisioned "
                   "storage to address this issue.", ["low storage"])])


def storage_full_events_only(root: Path) -> None:
    statistics(root, DB, "CPUUtilization", curve(22.0))
    statistics(root, DB, "DatabaseConnections", curve(120.0), "Maximum", "Count")
    events(root, [(T0 + 30 * 60, DB, "Finished DB Instance backup", ["backup"]),
                  (ONSET + 5 * 60, DB, "Allocated storage has been exhausted. Allocate additional storage to resolve the "
                   "issue.", ["low storage"])])


def connections_exhausted(root: Path) -> None:
    statistics(root, DB, "CPUUtilization", curve(30.0))
    statistics(root, DB, "FreeStorageSpace", curve(40 * GIB, wobble=0.001), "Minimum", "Bytes")
    statistics(root, DB, "DatabaseConnections", curve(120.0, lambda m: min(500.0, 120.0 + 60 * m)), "Maximum", "Count")
    parameters(root, DB, "500")
    logs = [{"timestamp": iso(ONSET + 60 * (8 + i)), "component": "checkout", "level": "ERROR",
             "message": "FATAL: remaining connection slots are reserved for non-replication superuser connections"}
            for i in range(5)]
    (root / "logs.jsonl").write_text("\n".join(json.dumps(r) for r in logs) + "\n", encoding="utf-8")


def replication_lag(root: Path) -> None:
    metric_data(root, "replication", {
        f"{REPLICA} ReplicaLag": curve(0.4, lambda m: min(900.0, 20.0 * m), 0.5),
        f"{DB} WriteIOPS": curve(450.0, lambda m: 3600.0),
        f"{DB} WriteThroughput": curve(9e6, lambda m: 7.5e7),
        f"{DB} CPUUtilization": curve(35.0, lambda m: 55.0),
        f"{REPLICA} CPUUtilization": curve(20.0),
    })
    top_keys(root, DB, "top-sql", "db.sql_tokenized", [
        ("INSERT INTO order_events (order_id,kind,payload) SELECT id,?,? FROM orders WHERE created_at > ?", 2.1, ""),
        ("SELECT * FROM orders WHERE id = ?", 0.3, "")])


def failover(root: Path) -> None:
    healthy_basics(root)
    statistics(root, DB, "DatabaseConnections",
               curve(120.0, lambda m: 0.0 if m < 2 else 118.0), "Maximum", "Count")
    events(root, [(ONSET, DB, "Multi-AZ instance failover started.", ["failover"]),
                  (ONSET + 30, DB, "DB instance restarted", ["availability"]),
                  (ONSET + 95, DB, "Multi-AZ instance failover completed", ["failover"])])


def reboot(root: Path) -> None:
    healthy_basics(root)
    events(root, [(ONSET, DB, "DB instance shutdown", ["availability"]),
                  (ONSET + 70, DB, "DB instance restarted", ["availability"])])


def cpu_query(root: Path) -> None:
    healthy_basics(root, cpu=curve(22.0, lambda m: 97.0 + (m % 3)))
    top_keys(root, DB, "top-sql", "db.sql_tokenized", [
        ("SELECT * FROM orders WHERE lower(customer_email) = ? ORDER BY created_at DESC", 3.6, ""),
        ("SELECT id FROM carts WHERE session_id = ?", 0.2, "")])
    top_keys(root, DB, "top-waits", "db.wait_event", [("CPU", 3.7, "CPU"), ("IO:DataFileRead", 0.2, "IO")])


def cpu_maintenance(root: Path) -> None:
    healthy_basics(root, cpu=curve(22.0, lambda m: 94.0))
    top_keys(root, DB, "top-sql", "db.sql_tokenized", [
        ("autovacuum: VACUUM public.order_items (to prevent wraparound)", 1.9, ""),
        ("SELECT * FROM orders WHERE id = ?", 0.4, "")])
    top_keys(root, DB, "top-waits", "db.wait_event", [("CPU", 1.6, "CPU"), ("IO:DataFileRead", 0.5, "IO")])


def checkpoint_recovered(root: Path) -> None:
    """Nothing wrong: CPU rose during a checkpoint and came back by itself."""
    healthy_basics(root, cpu=curve(22.0, lambda m: 91.0 if m < 8 else 23.0 + (m % 2)))
    top_keys(root, DB, "top-sql", "db.sql_tokenized", [
        ("SELECT * FROM orders WHERE id = ?", 0.3, ""), ("CHECKPOINT", 0.2, "")])
    top_keys(root, DB, "top-waits", "db.wait_event", [
        ("IO:DataFileSync", 0.9, "IO"), ("LWLock:WALWrite", 0.4, "LWLock"), ("CPU", 0.3, "CPU")])


def lock_contention(root: Path) -> None:
    healthy_basics(root)
    pi_load(root, DB, {
        "CPU": curve(0.4),
        "Lock:transactionid": curve(0.05, lambda m: 2.6),
        "IO:DataFileRead": curve(0.1),
    })
    top_keys(root, DB, "top-waits", "db.wait_event", [
        ("Lock:transactionid", 2.6, "Lock"), ("CPU", 0.4, "CPU"), ("IO:DataFileRead", 0.1, "IO")])
    top_keys(root, DB, "top-sql", "db.sql_tokenized", [
        ("UPDATE inventory SET reserved = reserved + ? WHERE sku = ?", 2.4, ""),
        ("SELECT * FROM orders WHERE id = ?", 0.3, "")])


def healthy(root: Path) -> None:
    healthy_basics(root)
    events(root, [(T0 + 30 * 60, DB, "Backing up DB instance", ["backup"]),
                  (T0 + 36 * 60, DB, "Finished DB Instance backup", ["backup"])])


def connections_busy(root: Path) -> None:
    """Nothing wrong: more connections, far below max_connections, and no refusals."""
    healthy_basics(root)
    statistics(root, DB, "DatabaseConnections", curve(120.0, lambda m: 310.0), "Maximum", "Count")
    parameters(root, DB, "1000")


def storage_ample(root: Path) -> None:
    """Nothing wrong: a bulk load used 10 GiB of 40; plenty is left."""
    healthy_basics(root)
    statistics(root, DB, "FreeStorageSpace", curve(40 * GIB, lambda m: 40 * GIB - min(m, 10) * GIB, 0.001), "Minimum", "Bytes")


def lock_waits_as_usual(root: Path) -> None:
    """Nothing wrong: this database always waits on row locks a little; nothing rose."""
    healthy_basics(root)
    pi_load(root, DB, {"CPU": curve(0.8), "Lock:tuple": curve(0.5), "IO:DataFileRead": curve(0.2)})
    top_keys(root, DB, "top-waits", "db.wait_event", [("CPU", 0.8, "CPU"), ("Lock:tuple", 0.5, "Lock"),
                                                      ("IO:DataFileRead", 0.2, "IO")])


def old_reboot(root: Path) -> None:
    """Nothing wrong now: a maintenance reboot an hour before the window, long finished."""
    healthy_basics(root)
    events(root, [(T0 + 10 * 60, DB, "DB instance shutdown", ["availability"]),
                  (T0 + 11 * 60, DB, "DB instance restarted", ["availability"])])


STATES: dict[str, Callable[[Path], None]] = {
    "connections_busy": connections_busy, "storage_ample": storage_ample, "lock_waits_as_usual": lock_waits_as_usual,
    "old_reboot": old_reboot,
    "storage_full": storage_full, "storage_full_events_only": storage_full_events_only,
    "connections_exhausted": connections_exhausted, "replication_lag": replication_lag, "failover": failover,
    "reboot": reboot, "cpu_query": cpu_query, "cpu_maintenance": cpu_maintenance,
    "checkpoint_recovered": checkpoint_recovered, "lock_contention": lock_contention, "healthy": healthy,
}


def state(root: Path, name: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    STATES[name](root)
    return root
