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
