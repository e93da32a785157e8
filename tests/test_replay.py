"""Replay (the seed's playground): a past investigation re-run on the data it read, with an
edited prompt folder or another knowledge base, its outcome set beside the original; prompt
overrides from a folder the team owns."""

from __future__ import annotations

import json
import shutil

import pytest

from copilot.cli import main
from copilot.demo import generate
from copilot.prompts import ENV, load_prompt


@pytest.fixture(scope="module")
def incidents(tmp_path_factory):
    out = {}
    for kind in ("cpu_saturation", "disk_full"):
        folder = tmp_path_factory.mktemp(kind)
        out[kind] = (folder, generate(folder, kind))
    return out


def _investigate(folder, capsys) -> dict:
    question = (folder / "question.txt").read_text().strip()
    assert main(["--query", question, "--data", str(folder), "--offline", "--quiet", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_replay_on_the_same_data_gives_the_same_outcome_and_saves_no_memory(incidents, capsys):
    folder, truth = incidents["cpu_saturation"]
    first = _investigate(folder, capsys)
    assert main(["memory", "list"]) == 0
    remembered = capsys.readouterr().out
    assert main(["replay", first["session_id"][:15], "--offline", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["original"]["session_id"] == first["session_id"]
    assert out["replay"]["session_id"] != first["session_id"]
    assert out["original"]["root_causes"][0]["component"] == truth["component"]
    assert out["replay"]["root_causes"][0]["component"] == truth["component"]
    assert out["changed"] == [] and out["memory"] is False
    assert str(folder) in out["replay"]["data"]
    assert main(["memory", "list"]) == 0
    assert capsys.readouterr().out == remembered  # the replay saved no diagnosis
    assert main(["sessions", "show", out["replay"]["session_id"]]) == 0  # it is kept as a session of its own
    capsys.readouterr()


def test_replay_says_what_changed_side_by_side(incidents, capsys):
    cpu, cpu_truth = incidents["cpu_saturation"]
    disk, disk_truth = incidents["disk_full"]
    first = _investigate(cpu, capsys)
    assert main(["replay", first["session_id"], "--offline", "--data", str(disk)]) == 0
    text = capsys.readouterr().out
    assert f"replay of session {first['session_id']}" in text
    assert "original" in text and "replay" in text and "memory off" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("root cause 1"))
    assert cpu_truth["fault_kind"] in line and disk_truth["fault_kind"] in line
    assert "changed: top root cause" in text


def test_replay_of_gone_data_or_no_investigation_is_one_line(incidents, tmp_path, capsys):
    folder, _ = incidents["cpu_saturation"]
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    first = _investigate(copy, capsys)
    shutil.rmtree(copy)
    assert main(["replay", first["session_id"], "--offline"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is gone" in err and "--data" in err
    assert main(["--query", "what is a runbook?", "--offline", "--quiet", "--format", "json"]) == 0
    sid = json.loads(capsys.readouterr().out)["session_id"]
    assert main(["replay", sid, "--offline"]) == 1
    assert "no finished investigation" in capsys.readouterr().err
    assert main(["replay", "nosuchsession", "--offline"]) == 1
    assert "no session" in capsys.readouterr().err


def test_prompt_override_folder(tmp_path, monkeypatch, capsys):
    bundled = load_prompt("rca")
    folder = tmp_path / "prompts"
    folder.mkdir()
    monkeypatch.setenv(ENV, str(folder))
    assert load_prompt("rca") == bundled  # nothing overridden yet
    (folder / "rca.md").write_text("Rank the causes. {language}", encoding="utf-8")
    assert load_prompt("rca") == "Rank the causes. {language}"
    assert load_prompt("reflect") != "Rank the causes. {language}"  # other prompts stay bundled
    (folder / "rca.md").write_text("  \n", encoding="utf-8")
    with pytest.raises(Exception, match="override is empty"):
        load_prompt("rca")
    (folder / "rca.md").unlink()
    (folder / "rcaa.md").write_text("typo", encoding="utf-8")
    assert main(["replay", "whatever", "--offline", "--prompts", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "no session" in err or "rcaa.md" in err


def test_replay_refuses_a_prompt_file_that_replaces_nothing(incidents, tmp_path, capsys):
    folder, _ = incidents["cpu_saturation"]
    first = _investigate(folder, capsys)
    prompts = tmp_path / "p"
    prompts.mkdir()
    (prompts / "rcaa.md").write_text("typo", encoding="utf-8")
    assert main(["replay", first["session_id"], "--offline", "--prompts", str(prompts)]) == 1
    err = capsys.readouterr().err
    assert "rcaa.md" in err and "no bundled prompt" in err
    assert main(["replay", first["session_id"], "--offline", "--prompts", str(tmp_path / "none")]) == 1
    assert "no such folder" in capsys.readouterr().err
