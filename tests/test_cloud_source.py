"""The `cloudwatch` source over saved AWS CLI output: CloudWatch get-metric-data and
get-metric-statistics, RDS describe-events and describe-db-parameters, Performance Insights
get-resource-metrics and describe-dimension-keys, in the shapes the CLI prints; bad files are
one line naming the file and the field; inside --data DIR beside other telemetry files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from copilot.config import load_settings
from copilot.errors import DataError
from copilot.plugin_manager import load_plugins
from copilot.sources import SourceQuery, TelemetrySource, select_sources
from copilot.plugins.cloud.folder import CloudFolderSource, load_folder
from copilot.plugins.cloud.plugin import cloud_source
from tests.aws_states import DB, GIB, MINUTES, ONSET, REPLICA, T0, state

ROOT = Path(__file__).resolve().parents[1]


def test_get_metric_statistics_in_a_resource_folder_become_sorted_series_per_statistic(tmp_path):
    tel = load_folder(state(tmp_path, "storage_full"))
    free = next(m for m in tel.metrics if m.metric == "FreeStorageSpace")
    assert free.component == DB and free.labels == {"source": "cloudwatch", "statistic": "Minimum", "unit": "Bytes"}
    assert len(free.timestamps) == MINUTES and np.all(np.diff(free.timestamps) > 0)  # the CLI's order undone
    assert free.timestamps[0] == T0 and free.values[-1] == pytest.approx(0.05 * GIB)
    (alert,) = tel.alerts
    assert (alert.component, alert.name, alert.severity) == (DB, "RDS low storage", "critical")
    assert "Free Storage: 0.40 GB" in alert.description and tel.changes == []
    assert tel.meta["database"] == [DB] and isinstance(CloudFolderSource(tmp_path), TelemetrySource)


def test_get_metric_data_labels_name_the_resource_and_pi_keys_are_kept(tmp_path):
    tel = load_folder(state(tmp_path, "replication_lag"))
    got = {(m.component, m.metric) for m in tel.metrics}
    assert got == {(REPLICA, "ReplicaLag"), (DB, "WriteIOPS"), (DB, "WriteThroughput"), (DB, "CPUUtilization"),
                   (REPLICA, "CPUUtilization")}
    lag = next(m for m in tel.metrics if m.metric == "ReplicaLag")
    assert np.all(np.diff(lag.timestamps) > 0) and lag.values[-1] == 580.0  # newest-first answer sorted
    top = tel.meta["pi_top"]
    assert top[0]["group"] == "db.sql_tokenized" and top[0]["resource"] == DB and top[0]["total"] == 2.1
    assert top[0]["start"] == ONSET and top[0]["name"].startswith("INSERT INTO order_events")
    assert tel.meta["database"] == [DB, REPLICA]


def test_rds_events_become_changes_and_pi_metrics_keep_their_dimensions(tmp_path):
    tel = load_folder(state(tmp_path / "f", "failover"))
    assert [(c.kind, c.description) for c in tel.changes] == [
        ("failover", "Multi-AZ instance failover started."), ("restart", "DB instance restarted"),
        ("failover", "Multi-AZ instance failover completed")]
    assert tel.changes[0].timestamp == ONSET and tel.changes[0].author == "rds"
    tel = load_folder(state(tmp_path / "l", "lock_contention"))
    waits = {m.labels.get("db.wait_event.name") for m in tel.metrics if m.metric == "db.load.avg"}
    assert waits == {None, "CPU", "Lock:transactionid", "IO:DataFileRead"}
    pi = next(m for m in tel.metrics if m.labels.get("db.wait_event.name") == "Lock:transactionid")
    assert pi.component == DB and pi.timestamps[0] == T0  # the folder names it, not the DbiResourceId
    tel = load_folder(state(tmp_path / "c", "connections_exhausted"))
    assert tel.meta["db_parameters"] == {DB: {"autovacuum": "1", "max_connections": "500"}}


def _one(root: Path, rel: str, doc) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return root


BAD = [
    ("cloudwatch/db/x.json", '{"MetricDataResults": [', "not valid JSON (line 1"),
    ("cloudwatch/db/x.json", {"MetricDataResults": [{"Id": "m0", "Label": "CPUUtilization", "Timestamps": ["2026-11-20T10:00:00Z"],
                                                     "Values": []}]}, "MetricDataResults[0] (Label 'CPUUtilization') has 1 Timestamps but 0 Values"),
    ("cloudwatch/x.json", {"MetricDataResults": [{"Id": "m0", "Label": "CPUUtilization", "Timestamps": ["2026-11-20T10:00:00Z"],
                                                  "Values": [1.0]}]}, "Label 'CPUUtilization' does not name the resource"),
    ("cloudwatch/db/x.json", {"Label": "CPUUtilization", "Datapoints": [{"Timestamp": "yesterday", "Average": 1}]},
     "Datapoints[0]: Timestamp 'yesterday' is not a time"),
    ("cloudwatch/db/x.json", {"Label": "CPUUtilization", "Datapoints": [{"Timestamp": "2026-11-20T10:00:00Z", "Average": "hot"}]},
     "Datapoints[0]: Average 'hot' is not a number"),
    ("rds/events.json", {"Events": [{"SourceIdentifier": "db", "Message": "DB instance restarted"}]}, "Events[0] has no Date"),
    ("pi/db/k.json", {"Keys": [{"Total": 1.0}]}, "Keys[0] has no Dimensions"),
    ("pi/k.json", {"Keys": []}, "does not name its instance; put it in pi/<resource>/"),
    ("pi/db/m.json", {"MetricList": [{"DataPoints": []}]}, "MetricList[0] has no Key.Metric"),
    ("rds/x.json", {"DBInstances": []}, "not AWS CLI output this reads (found DBInstances)"),
]


@pytest.mark.parametrize("rel,doc,says", BAD, ids=[b[2][:30] for b in BAD])
def test_a_bad_file_is_one_line_naming_the_file_and_the_field(tmp_path, rel, doc, says):
    root = _one(tmp_path, rel, doc)
    with pytest.raises(DataError) as err:
        load_folder(root)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(root / rel)) and says in message


def test_inside_data_dir_both_sources_read_their_own_files(tmp_path):
    root = state(tmp_path, "connections_exhausted")  # logs.jsonl beside the AWS CLI output
    plugins = load_plugins()
    selection = select_sources(load_settings({"data": str(root)}, env={}), plugins.source_factories)
    assert [s.name for s in selection.sources] == ["files", "cloudwatch"]
    files, cloud = selection.sources
    assert "rds" in files.skip and "cloudwatch" in files.skip
    logs = files.collect(SourceQuery(0, float("inf")))
    assert len(logs.logs) == 5 and logs.metrics == []  # rds/ and cloudwatch/ left to the cloud source
    assert len(cloud.collect(SourceQuery(0, float("inf"))).metrics) == 3
    assert selection.label == f"files in {root} + AWS CLI output in {root}"


def test_a_folder_of_only_aws_output_is_read_without_the_files_source(tmp_path):
    root = state(tmp_path, "storage_full")
    selection = select_sources(load_settings({"data": str(root)}, env={}), load_plugins().source_factories)
    assert [s.name for s in selection.sources] == ["cloudwatch"]


def test_cloudwatch_dir_setting_and_its_one_line_error(tmp_path):
    root = state(tmp_path / "saved", "healthy")
    source = cloud_source(load_settings({}, env={"COPILOT_CLOUDWATCH_DIR": str(root)}))
    assert source.label == f"AWS CLI output in {root}" and source.check().ok
    assert cloud_source(load_settings({}, env={})) is None
    with pytest.raises(Exception, match="cloudwatch_dir .* holds no cloudwatch/, rds/ or pi/ folder"):
        cloud_source(load_settings({}, env={"COPILOT_CLOUDWATCH_DIR": str(tmp_path / "nothing")}))


def test_the_cli_stops_on_a_bad_aws_file_with_one_line_and_exit_1(tmp_path):
    root = _one(tmp_path / "d", "rds/events.json", {"Events": [{"SourceIdentifier": "db", "Message": "x", "Date": "soon"}]})
    proc = subprocess.run([sys.executable, "-m", "copilot", "--query", "what is wrong?", "--data", str(root), "--offline",
                           "--no-memory", "--quiet"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [f"copilot: error: {root}/rds/events.json: Events[0]: Date 'soon' is not a "
                                                "time; expected ISO-8601 or unix seconds"]
