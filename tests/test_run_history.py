"""Run history: every workflow run (CLI or chat-ops) recorded per step in LanceDB, listed,
shown and labelled; bad labels and unknown runs are one-line errors."""

from __future__ import annotations

import json

from copilot.cli import main
from tests.test_items_workflows import api, confdir  # noqa: F401  (fixtures)


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_are_recorded_listed_shown_and_labelled(confdir, api, capsys):  # noqa: F811
    assert cli(capsys, "workflows", "run", "cluster-health", "--param", "cluster=c1", "--quiet")[0] == 0
    code, out, err = cli(capsys, "--query", "帮我看看集群 c2 的状态", "--offline", "--format", "json")
    assert code == 0, err
    chat_run = json.loads(out)["workflow"]["run_id"]
    code, out, _ = cli(capsys, "runs", "list", "--format", "json")
    runs = json.loads(out)["runs"]
    assert [r["input"]["params"]["cluster"] for r in runs] == ["c2", "c1"]
    assert runs[0]["run_id"] == chat_run and runs[0]["question"] == "帮我看看集群 c2 的状态"
    code, out, _ = cli(capsys, "runs", "show", chat_run[:6], "--format", "json")
    step = json.loads(out)["steps"][0]
    assert step["step"] == "cluster_status_0" and step["workflow"] == "cluster-health"
    assert step["step_input"] == {"cluster": "c2"}
    assert [f["summary"] for f in step["output"]] == ["c2: 延迟过大，延迟为2.8s", "c2: 3 nodes NotReady"]
    assert '"client_status"' in step["raw_output"]  # the platform's raw answer
    code, out, _ = cli(capsys, "runs", "label", chat_run, "cluster_status_0", "wrong", "--suggest", "only node problem")
    assert code == 0 and "wrong" in out
    code, out, _ = cli(capsys, "runs", "show", chat_run, "--format", "json")
    step = json.loads(out)["steps"][0]
    assert step["label"] == "wrong" and step["suggested"] == "only node problem" and step["labeled_at"] > 0
    code, out, _ = cli(capsys, "runs", "show", chat_run)
    assert "label: wrong → only node problem" in out


def test_bad_label_and_unknown_run_are_one_line(confdir, api, capsys):  # noqa: F811
    assert cli(capsys, "workflows", "run", "cluster-health", "--param", "cluster=c1", "--quiet")[0] == 0
    run_id = json.loads(cli(capsys, "runs", "list", "--format", "json")[1])["runs"][0]["run_id"]
    code, _, err = cli(capsys, "runs", "label", run_id, "cluster_status_0", "meh")
    assert code == 1 and "label must be one of confirmed, wrong, partial, unclear" in err
    code, _, err = cli(capsys, "runs", "label", run_id, "nope", "wrong")
    assert code == 1 and "has no step 'nope'" in err
    code, _, err = cli(capsys, "runs", "show", "zzzz")
    assert code == 1 and "no run 'zzzz'" in err and len(err.strip().splitlines()) == 1


def test_replay_of_a_workflow_run_sets_the_edited_outcome_beside_the_original(confdir, api, capsys):  # noqa: F811
    """The playground over run history: edit the team's item (keep only node problems), replay
    the recorded run on its own parameters and window, see the outcome change."""
    code, out, err = cli(capsys, "workflows", "run", "cluster-health", "--param", "cluster=c4", "--format", "json")
    assert code == 0, err
    run_id = json.loads(out)["workflow"]["run_id"]
    asked = api.requests[-1]["query"]
    code, out, err = cli(capsys, "replay", run_id[:8], "--format", "json")
    assert code == 0, err
    same = json.loads(out)
    assert api.requests[-1]["query"] == asked  # the same cluster and time range
    assert same["original"]["session_id"] == run_id and same["original"]["findings"] == 2
    assert same["replay"]["findings"] == 2 and same["changed"] == []
    assert same["original"]["root_causes"][0]["component"] == "c4" == same["replay"]["root_causes"][0]["component"]
    item = confdir / "items" / "cluster-status.yaml"
    item.write_text(item.read_text(encoding="utf-8").replace('select(.status == "NO")',
                                                             'select(.status == "NO" and .name == "节点")'),
                    encoding="utf-8")
    code, out, err = cli(capsys, "replay", run_id)
    assert code == 0, err
    assert out.splitlines()[0] == f"replay of workflow run {run_id} (cluster-health: cluster=c4): workflow cluster-health"
    assert "findings      2" in out and out.rstrip().endswith("the replay is not recorded in the run history")
    assert "changed: findings: 2 → 1" in out
    runs = json.loads(cli(capsys, "runs", "list", "--format", "json")[1])["runs"]
    assert [r["run_id"] for r in runs] == [run_id]  # replays are not recorded
    code, _, err = cli(capsys, "replay", "zzzz9")
    assert code == 1 and "nor is 'zzzz9' a workflow run" in err and len(err.strip().splitlines()) == 1
