"""`copilot logs parse` and the loghub benchmark on files written by the tests."""

from __future__ import annotations

import argparse
import csv
import io
import json

import pytest

from copilot.bench.loghub import run, run_loghub, score
from copilot.commands import logs as logs_cmd
from copilot.errors import CopilotError

LOG = "\n".join(
    [f"2024-05-01 12:00:{i:02d} INFO api: request {i} served in {10 + i}ms" for i in range(6)]
    + [f"2024-05-01 12:01:{i:02d} ERROR db: connection to 10.1.1.{i} refused" for i in range(4)]
)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="copilot")
    logs_cmd.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_parse_writes_one_row_per_line_as_csv(tmp_path, capsys):
    path = tmp_path / "app.log"
    path.write_text(LOG + "\n", encoding="utf-8")
    args = _parse(["logs", "parse", str(path)])
    assert args.func(args) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["line_id", "template"]
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(1, 11)]
    assert rows[1][1] == "request <*> served in <*>"
    assert rows[7][1] == "connection to <*> refused"


def test_parse_reads_stdin_and_writes_json(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(LOG))
    args = _parse(["logs", "parse", "-", "--format", "json"])
    assert args.func(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 10 and rows[0]["line_id"] == 1
    assert len({r["template"] for r in rows}) == 2


def test_missing_file_is_a_one_line_error(tmp_path):
    args = _parse(["logs", "parse", str(tmp_path / "nope.log")])
    with pytest.raises(CopilotError, match="no such file"):
        args.func(args)


def test_scores_follow_loghub_definitions():
    truth = ["A <*>", "A <*>", "B", "C <*>"]
    found = ["A <*>", "A <*>", "B", "B"]  # C merged into B: B's group and C's group are wrong
    s = score(truth, found)
    assert s["ga"] == pytest.approx(0.5)
    assert s["pa"] == pytest.approx(0.75)
    assert s["fga"] == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))
    assert s["fta"] == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))


def test_benchmark_runs_on_loghub_layout(tmp_path, capsys):
    system = tmp_path / "Tiny"
    system.mkdir()
    (system / "Tiny_2k.log").write_text(LOG + "\n", encoding="utf-8")
    with (system / "Tiny_2k.log_structured_corrected.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["LineId", "Content", "EventId", "EventTemplate"])
        for i in range(10):
            tpl = "request <*> served in <*>" if i < 6 else "connection to <*> refused"
            w.writerow([i + 1, "", "E1" if i < 6 else "E2", tpl])
    assert run(argparse.Namespace(path=str(tmp_path), json=True)) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["systems"] == 1 and out["ga"] == 1.0 and out["pa"] == 1.0


def test_benchmark_needs_a_loghub_folder(tmp_path):
    with pytest.raises(CopilotError):
        run_loghub(str(tmp_path), as_json=False)
