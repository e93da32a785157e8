"""Terminals: a log line carrying escape sequences (OSC 52, title, clear-screen, DSR, OSC 8,
CSI, 8-bit C1) never reaches a terminal raw, on any channel; JSON escapes C1 too."""

from __future__ import annotations

import io
import json

import pytest

from copilot.cli import main
from copilot.events import FinalAnswer, Observation, Thought
from copilot.terminal_text import TerminalSafe, has_raw_controls, sanitize_terminal
from copilot.trace import trace_line
from tests.hostile import ESCAPES, copilot, hostile_run  # noqa: F401
from tests.kb_fixtures import embedder, kb_settings, store  # noqa: F401
from copilot.tui.render import Renderer

HOSTILE = "disk full " + " ".join(ESCAPES.values()) + " on\tnode-7\r\n"


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_sanitize_makes_every_sequence_inert_and_keeps_newline_and_tab(name):
    out = sanitize_terminal(f"a {ESCAPES[name]} b\n\tc")
    assert not has_raw_controls(out) and out.endswith("b\n\tc") and out.startswith("a ")
    assert "\\u00" in out  # escaped visibly, not silently dropped
    assert sanitize_terminal("数据库 ok\n") == "数据库 ok\n"


def test_json_output_escapes_c1_and_stays_json():
    text = json.dumps({"m": HOSTILE}, ensure_ascii=False)
    assert has_raw_controls(text)  # json.dumps leaves U+0080-U+009F raw
    buf = io.StringIO()
    TerminalSafe(buf).write(text)
    assert not has_raw_controls(buf.getvalue()) and json.loads(buf.getvalue()) == {"m": HOSTILE}  # lossless


def test_query_text_and_trace_channels(hostile_run):
    r = hostile_run["proc"]
    assert r.returncode == 0, r.stderr
    assert "\\u001b" in r.stdout and "\\u001b" in r.stderr  # the hostile lines reached the screen, escaped
    assert not has_raw_controls(r.stdout) and not has_raw_controls(r.stderr)
    line = trace_line(Observation(1, "c1", "detect_log_anomalies", "ok", HOSTILE, False, 1.0))
    assert line and not has_raw_controls(line)


@pytest.mark.parametrize("argv", [("sessions", "show", "{sid}"), ("sessions", "show", "{sid}", "--events"),
                                  ("sessions", "list"), ("report", "{sid}"), ("report", "{sid}", "--format", "json")])
def test_sessions_and_report_channels(hostile_run, argv):
    sid = hostile_run["session_id"]
    r = copilot(*[a.format(sid=sid) for a in argv], env=hostile_run["env"])
    assert r.returncode == 0, r.stderr
    assert not has_raw_controls(r.stdout) and not has_raw_controls(r.stderr)
    if "json" in argv:
        json.loads(r.stdout)
    if argv[0] == "report" or "show" in argv:
        assert "\\u001b" in r.stdout


def test_repl_renderer_channel():
    for color in (False, True):
        out = io.StringIO()
        r = Renderer(out, color=color)
        r.handle(Thought(1, HOSTILE, "host"))
        r.handle(Observation(1, "c1", "detect_log_anomalies", "ok", HOSTILE, False, 1.0))
        r.handle(FinalAnswer(HOSTILE, {}, 1))
        text = out.getvalue()
        assert "node-7" in text
        if not color:
            assert not has_raw_controls(text)
        else:  # only the renderer's own colour codes: every ESC starts an SGR sequence
            import re

            assert not re.search(r"\x1b(?!\[[0-9;]*m)", text) and "\x9b" not in text and "\x07" not in text


def test_logs_parse_channel(tmp_path, capsys):
    log = tmp_path / "app.log"
    log.write_text("".join(f"2024-05-14 13:3{i}:00 ERROR cart login DB_PASSWORD=Pg_s3cret{i} {HOSTILE}"
                           for i in range(5)), encoding="utf-8")
    for fmt in ("csv", "json"):
        assert main(["logs", "parse", str(log), "--format", fmt]) == 0
        out, err = capsys.readouterr()
        assert "disk full" in out and not has_raw_controls(out + err)
        assert "Pg_s3cret" not in out and "DB_PASSWORD=" in out  # a raw log file is a source: redacted too


def test_kb_list_and_search_channels(kb_settings, monkeypatch, capsys):
    monkeypatch.setenv("COPILOT_KB_URI", kb_settings.kb_uri)
    assert main(["kb", "add", "--fault-name", "Disk " + ESCAPES["title"], "--root-cause", HOSTILE,
                 "--mitigation", "free space " + ESCAPES["osc52_clipboard"], "--fault-kind", "disk_full",
                 "--no-input"]) == 0
    capsys.readouterr()
    for argv in (["kb", "list"], ["kb", "search", "disk full node-7"], ["kb", "list", "--json"],
                 ["kb", "search", "disk full node-7", "--json"]):
        assert main(argv) == 0
        out, err = capsys.readouterr()
        assert "Disk" in out and not has_raw_controls(out + err), argv
