"""`copilot workflows draft RUNBOOK`: an SOP's steps mapped onto existing items offline;
the draft validates, and the steps no item covers are listed."""

from __future__ import annotations

from pathlib import Path

from copilot.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_draft_from_the_pod_pending_sop_maps_items_and_lists_the_rest(tmp_path, capsys):
    out_file = tmp_path / "draft.yaml"
    code = main(["workflows", "draft", str(ROOT / "kb/bundled/runbooks/pod-pending.md"), "--out", str(out_file)])
    out, err = capsys.readouterr()
    assert code == 0, err
    text = out_file.read_text(encoding="utf-8")
    assert "item: pending_pods" in text and "item: changes" in text and "model: true" in text
    assert "not mapped: 异常服务名包含 inf.dayu 字段" in err
    assert "NOT MAPPED (no item covers it): 以上均不匹配" in text
    # the draft is a valid workflow as written
    assert main(["workflows", "validate", str(out_file)]) == 0
    # never overwrites
    assert main(["workflows", "draft", str(ROOT / "kb/bundled/runbooks/pod-pending.md"), "--out", str(out_file)]) == 1
    assert "exists" in capsys.readouterr().err


def test_draft_of_a_file_without_steps_is_one_line(tmp_path, capsys):
    sop = tmp_path / "empty.md"
    sop.write_text("# Nothing here\n\nJust prose.\n")
    assert main(["workflows", "draft", str(sop)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no steps found" in err[0]
