"""Database faults end to end: recorded states in the exact shapes the AWS CLI prints
(tests/aws_states.py), investigated with `copilot --query ... --data DIR --format json`.
Each fault is the leading root cause with its deciding D finding; each "nothing wrong"
variant (a checkpoint that recovered, busy but within max_connections, storage used but
ample, usual lock waits, an old reboot, a healthy instance) names no database fault."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from copilot.plugins.cloud.detect import detect_database_faults
from copilot.plugins.cloud.folder import load_folder
from copilot.plugins.cloud.kinds import KINDS
from tests.aws_states import DB, GIB, ONSET, REPLICA, T0, state

ROOT = Path(__file__).resolve().parents[1]
WINDOW = (ONSET - 15 * 60, T0 + 120 * 60)
BASELINE = (T0, ONSET - 15 * 60)
CATEGORIES = {"resource_exhaustion", "configuration_error", "infrastructure", "dependency_failure", "code_defect",
              "network", "traffic", "data_quality"}


def investigate(root: Path, question: str = "what is wrong with orders-db since 11:30?", *extra: str) -> tuple[int, dict, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOT_", "OPENAI_"))}
    proc = subprocess.run([sys.executable, "-m", "copilot", "--query", question, "--data", str(root), "--offline",
                           "--no-memory", "--format", "json", "--quiet", *extra],
                          capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)
    return proc.returncode, (json.loads(proc.stdout) if proc.stdout.strip() else {}), proc.stderr


def by_id(answer: dict) -> dict[str, dict]:
    return {f["id"]: f for f in answer["findings"]}


FAULTS = [
    ("storage_full", DB, "db_storage_full", lambda d: d["after"] < 0.1 * GIB and d["events"]),
    ("storage_full_events_only", DB, "db_storage_full", lambda d: d["metric"] == "missing"),
    ("connections_exhausted", DB, "db_connections_exhausted", lambda d: d["max_connections"] == 500 and d["refusals"] == 5),
    ("replication_lag", REPLICA, "db_replication_lag",
     lambda d: d["write_load"]["resource"] == DB and d["write_load"]["ratio"] > 5 and d["top_sql"][0]["name"].startswith("INSERT")),
    ("failover", DB, "db_failover", lambda d: d["recovered_at"] == ONSET + 95 and not d["active"]),
    ("reboot", DB, "db_reboot", lambda d: d["recovered_at"] == ONSET + 70),
    ("cpu_query", DB, "db_cpu_query", lambda d: d["top_sql"][0]["name"].startswith("SELECT * FROM orders WHERE lower")),
    ("cpu_maintenance", DB, "db_cpu_maintenance", lambda d: "autovacuum" in d["maintenance"][0]),
    ("lock_contention", DB, "db_lock_contention",
     lambda d: d["top_waits"][0]["name"] == "Lock:transactionid" and d["top_sql"][0]["name"].startswith("UPDATE inventory")),
]


@pytest.mark.parametrize("name,component,kind,check", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_database_fault_is_the_leading_root_cause_with_its_evidence(tmp_path, name, component, kind, check):
    code, answer, err = investigate(state(tmp_path / name, name))
    assert code == 0, err
    top = answer["root_causes"][0]
    assert (top["component"], top["fault_type"]) == (component, kind)
    decided = by_id(answer)[top["evidence"][0]]
    assert decided["source"] == "database" and decided["id"].startswith("D") and decided["kind"] == kind
    assert decided["details"]["category"] == KINDS[kind] in CATEGORIES
    assert check(decided["details"]), decided["details"]
    assert decided["id"] in answer["answer"]  # the report cites it


NOTHING_WRONG = ["checkpoint_recovered", "connections_busy", "storage_ample", "lock_waits_as_usual", "old_reboot", "healthy"]


@pytest.mark.parametrize("name", NOTHING_WRONG)
def test_nothing_wrong_variants_name_no_database_fault(tmp_path, name):
    code, answer, err = investigate(state(tmp_path / name, name))
    assert code in (0, 2), err  # 2: no root cause found
    db_kinds = set(KINDS) | {"cpu_saturation", "unknown"}
    assert not [rc for rc in answer["root_causes"] if rc["component"] == DB and rc["fault_type"] in db_kinds]
    assert not [f for f in answer["findings"] if f["source"] == "database" and not f["details"].get("confounder")]


def test_a_checkpoint_that_recovered_is_ruled_out_as_a_confounder(tmp_path):
    _, answer, _ = investigate(state(tmp_path, "checkpoint_recovered"))
    (ruled,) = [f for f in answer["findings"] if f["source"] == "database"]
    assert ruled["details"]["confounder"] and ruled["score"] == 0.0 and "CPUUtilization" in ruled["details"]["explains"]
    assert "came back below 70% at 11:38" in ruled["details"]["ruled_out"] and "CHECKPOINT" in ruled["details"]["ruled_out"]
    assert ruled["details"]["recovered_at"] == ONSET + 8 * 60
    # the verdict: nothing is wrong, and the checkpoint is named under "ruled out", not ranked
    assert answer["verdict"] == "healthy"
    assert [r["evidence"] for r in answer["ruled_out"]] == [[ruled["id"]]]
    assert "Ruled out" in answer["answer"] and "CHECKPOINT" in answer["answer"]


def test_a_failover_that_completed_is_recovered_since_it_ended(tmp_path):
    code, answer, err = investigate(state(tmp_path, "failover"))
    assert code == 0, err
    assert answer["verdict"] == "recovered" and answer["verdict_since"] == ONSET + 95


def test_a_chinese_question_gets_the_same_diagnosis_in_chinese(tmp_path):
    code, answer, err = investigate(state(tmp_path, "lock_contention"), "orders-db 从11:30开始出了什么问题？")
    assert code == 0, err
    assert answer["root_causes"][0]["fault_type"] == "db_lock_contention"
    assert "根因" in answer["answer"] or "根本原因" in answer["answer"]


def test_the_database_step_runs_only_when_the_data_holds_a_database(tmp_path):
    root = state(tmp_path / "db", "reboot")
    plain = tmp_path / "plain"
    plain.mkdir()
    rows = ["timestamp,component,metric,value"] + [f"{int(T0 + 60 * i)},checkout,cpu_usage,{20 + (i % 3)}" for i in range(60)]
    (plain / "metrics.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    def tools(data: Path) -> list[str]:
        proc = subprocess.run([sys.executable, "-m", "copilot", "--query", "what is wrong?", "--data", str(data), "--offline",
                               "--no-memory", "--events"], capture_output=True, text=True, timeout=180, cwd=ROOT)
        return [e["tool"] for e in map(json.loads, proc.stdout.splitlines()) if e.get("kind") == "action"]

    assert "detect_database_faults" in tools(root)
    assert "detect_database_faults" not in tools(plain) and "detect_metric_anomalies" in tools(plain)


def test_detectors_state_numbers_and_times(tmp_path):
    tel = load_folder(state(tmp_path / "s", "storage_full"))
    (f,) = detect_database_faults(tel, WINDOW, BASELINE, lambda p: p + "1")
    assert f.onset == ONSET + 60  # free storage left its usual level at 11:31
    assert f.summary.startswith("orders-db: free storage fell from 40 GiB to 0.05 GiB at 11:50")
    tel = load_folder(state(tmp_path / "c", "cpu_query"))
    (f,) = detect_database_faults(tel, WINDOW, BASELINE, lambda p: p + "1")
    assert f.onset == ONSET and f.details.share == pytest.approx(3.6 / 3.8, abs=1e-3) and f.details.active
    tel = load_folder(state(tmp_path / "r", "replication_lag"))
    (f,) = detect_database_faults(tel, WINDOW, BASELINE, lambda p: p + "1")
    assert (f.details.baseline, f.details.after) == (pytest.approx(0.4, abs=0.01), 580.0)
    assert [DB, "WriteIOPS"] in f.details.explains  # the write load behind it is not ranked on its own
