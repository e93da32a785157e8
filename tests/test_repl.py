"""The prompt-toolkit REPL driven through a pipe input, over a real Session and agent loop
with a scripted brain (tests/test_tui_support.py)."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from tests.test_tui_support import (
    broken_script,
    investigation_script,
    make_session,
    restart_script,
    slow_script,
)
from copilot.tui.render import wants_color
from copilot.tui.repl import Repl
from copilot.tui.slash import run_command

ROOT = Path(__file__).resolve().parent.parent


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def pipe():
    with create_pipe_input() as inp:
        yield inp


def make_repl(session, pipe, color: bool = False, history: Path | None = None) -> tuple[Repl, io.StringIO]:
    out = io.StringIO()
    return Repl(session, input=pipe, output=DummyOutput(), stream=out, color=color, history=history), out


async def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_question_streams_a_plain_trace_and_the_answer(tmp_path, monkeypatch, pipe):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    history = tmp_path / "state" / "repl_history"
    repl, out = make_repl(session, pipe, history=history)
    pipe.send_text("why is cart slow?\r/exit\r")  # /exit is typed ahead, during the run
    assert await asyncio.wait_for(repl.run(), 5) == 0
    text = out.getvalue()
    assert "\x1b" not in text  # plain: no colour, no cursor movement
    lines = text.splitlines()
    assert "session test-session · scripted · up to 6 steps" in lines
    assert "Step 1  Latency first, the alert is about slowness.  (metrics)" in lines
    assert '  → check_latency {"service": "cart"}' in lines
    assert any(line.startswith("  check_latency · ok · ") and line.endswith(" ms · 2 lines") for line in lines)
    assert "    cart: p90 latency 1.2 s, baseline 0.1 s" in lines
    assert "  ◆ M1 cart p90 latency rose 12x at 14:05" in lines
    assert "**cart** is slow: its p90 latency rose 12x at 14:05." in lines  # the streamed answer
    assert "Step 2 · report  cart latency explains the alert." in lines
    assert lines[-1].startswith("scripted · step 2/6 · 350 tokens · ") and lines[-1].endswith(" · answered")
    assert session.store.summary("test-session").outcome == "answered"
    assert "why is cart slow?" in history.read_text()


async def test_colour_renders_markdown_with_rich(tmp_path, monkeypatch, pipe):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    repl, out = make_repl(session, pipe, color=True)
    pipe.send_text("why is cart slow?\r/exit\r")
    await asyncio.wait_for(repl.run(), 5)
    text = out.getvalue()
    assert "\x1b[" in text
    final = text[text.rindex("Step 2 · report"):]
    assert "Root cause" in final and "## Root cause" not in final  # rendered, not raw Markdown
    assert "**cart**" not in final


def test_plain_output_when_no_color_dumb_or_not_a_terminal():
    assert wants_color(Terminal(), {"TERM": "xterm-256color"})
    assert not wants_color(Terminal(), {"TERM": "xterm-256color", "NO_COLOR": "1"})
    assert not wants_color(Terminal(), {"TERM": "dumb"})
    assert not wants_color(io.StringIO(), {"TERM": "xterm-256color"})


async def test_slash_commands(tmp_path, monkeypatch, pipe):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    repl, out = make_repl(session, pipe)
    task = asyncio.ensure_future(repl.run())
    await wait_for(lambda: "data: files in " in out.getvalue())  # the REPL says what it reads, then prompts

    async def command(line: str) -> str:
        start = len(out.getvalue())
        pipe.send_text(line + "\r")
        await asyncio.sleep(0.05)
        await wait_for(lambda: len(out.getvalue()) > start)
        return out.getvalue()[start:]

    assert "/resume ID" in await command("/help")
    assert "model set to qwen2.5-coder" in await command("/model qwen2.5-coder")
    assert session.model_label == "qwen2.5-coder" and repl.prompt().startswith("qwen2.5-coder · files in ")
    assert "offline" in await command("/offline")
    assert session.model_label == "offline"
    assert "no saved sessions yet" in await command("/sessions")
    assert "unknown command /frobnicate" in await command("/frobnicate")
    assert "no session 'nope'" in await command("/resume nope")
    pipe.send_text("/exit\r")
    assert await asyncio.wait_for(task, 5) == 0


async def test_window_command_sets_the_window_of_the_next_questions(tmp_path, monkeypatch, pipe):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    repl, out = make_repl(session, pipe)
    pipe.send_text("/window\r/window 14:05..14:40\r/window 14:40..14:05\r/window 14:05..soon\r/window\r/exit\r")
    assert await asyncio.wait_for(repl.run(), 5) == 0
    text = out.getvalue()
    assert "window: read from each question (else the last hour); times in UTC" in text
    assert "window set: since 14:05 until 14:40 (UTC)" in text
    assert "/window: the end must be after the start (got 14:40..14:05)" in text
    assert "/window: 'soon' (after '..') is not a time" in text
    assert (session.settings.since, session.settings.until) == ("14:05", "14:40")  # refused ones change nothing
    assert "window: since 14:05 until 14:40 (UTC); /window off clears it" in text
    assert run_command(session, "/window off").text == "window cleared: read from each question again"
    assert (session.settings.since, session.settings.until) == ("", "")


async def test_sessions_and_resume(tmp_path, monkeypatch, pipe):
    first = make_session(tmp_path, monkeypatch, investigation_script(), session_id="20250101-000000-aaaaaa")
    repl, _ = make_repl(first, pipe)
    pipe.send_text("why is cart slow?\r/exit\r")
    await asyncio.wait_for(repl.run(), 5)

    with create_pipe_input() as second_pipe:
        second = make_session(tmp_path, monkeypatch, investigation_script(), session_id="20250102-000000-bbbbbb")
        repl, out = make_repl(second, second_pipe)
        second_pipe.send_text("/sessions\r/resume 20250101\r/exit\r")
        await asyncio.wait_for(repl.run(), 5)
    text = out.getvalue()
    assert "20250101-000000-aaaaaa" in text and "answered" in text and "why is cart slow?" in text
    assert "resumed session 20250101-000000-aaaaaa (1 earlier question; last question: why is cart slow?)" in text
    assert second.id == "20250101-000000-aaaaaa"
    assert [t["role"] for t in second.history] == ["user", "assistant"]


async def test_resume_restores_the_data_the_session_read(tmp_path, monkeypatch, pipe):
    first = make_session(tmp_path, monkeypatch, investigation_script(), session_id="20250101-000000-aaaaaa")
    read = first.settings.data
    repl, _ = make_repl(first, pipe)
    pipe.send_text("why is cart slow?\r/exit\r")
    await asyncio.wait_for(repl.run(), 5)

    with create_pipe_input() as second_pipe:
        # The second REPL starts on other data; /resume goes back to what the session read.
        second = make_session(tmp_path, monkeypatch, investigation_script(), session_id="20250102-000000-bbbbbb")
        other = tmp_path / "other"
        other.mkdir()
        (other / "metrics.csv").write_text("timestamp,component,metric,value\n2024-05-14T13:05:00Z,db,cpu,0.5\n")
        second.settings.data = str(other)
        repl, out = make_repl(second, second_pipe)
        second_pipe.send_text("/resume 20250101\r/exit\r")
        await asyncio.wait_for(repl.run(), 5)
    text = out.getvalue()
    assert f"data: files in {other}" in text  # what it read before resuming
    assert f"data restored: files in {read}" in text
    assert second.settings.data == read and second.select_data().label == f"files in {read}"
    assert repl.prompt().startswith("offline · files in ")
    assert repl.renderer.status.data == f"files in {read}"


async def test_resume_says_when_the_data_is_gone(tmp_path, monkeypatch, pipe):
    first = make_session(tmp_path, monkeypatch, investigation_script(), session_id="20250101-000000-aaaaaa")
    gone = tmp_path / "gone"
    gone.mkdir()
    (gone / "metrics.csv").write_text("timestamp,component,metric,value\n2024-05-14T13:05:00Z,cart,cpu,0.5\n")
    first.settings.data = str(gone)
    repl, _ = make_repl(first, pipe)
    pipe.send_text("why is cart slow?\r/exit\r")
    await asyncio.wait_for(repl.run(), 5)
    (gone / "metrics.csv").unlink()
    gone.rmdir()

    with create_pipe_input() as second_pipe:
        second = make_session(tmp_path, monkeypatch, investigation_script(), session_id="20250102-000000-bbbbbb")
        repl, out = make_repl(second, second_pipe)
        second_pipe.send_text("/resume 20250101\r/exit\r")
        await asyncio.wait_for(repl.run(), 5)
    text = out.getvalue()
    assert (f"the data changed: the session read files in {gone}, which no longer exists; "
            f"reading files in {tmp_path / 'data'}") in text
    assert second.settings.data == str(tmp_path / "data")


def test_resume_of_a_live_session_compares_the_configured_sources(tmp_path, monkeypatch):
    from copilot.events import RunStarted

    session = make_session(tmp_path, monkeypatch, investigation_script())
    saved = {"demo": False, "label": "Prometheus at http://prom:9090",
             "sources": [{"name": "prometheus", "label": "Prometheus at http://prom:9090", "live": True}]}
    session.store.append("20250103-000000-cccccc", RunStarted("20250103-000000-cccccc", "why?", "offline", 6,
                                                              saved["label"], selection=saved))
    line = session.resume("20250103")
    # No Prometheus is configured now (the live settings come from the configuration): said, not hidden.
    assert line.startswith("the data changed: the session read Prometheus at http://prom:9090; now reading ")
    assert session.settings.data == ""


@pytest.mark.parametrize("reply, ran", [("y", True), ("n", False), ("", False)])
async def test_approval_prompt(tmp_path, monkeypatch, pipe, reply, ran):
    log: list[str] = []
    session = make_session(tmp_path, monkeypatch, restart_script(), log=log)
    repl, out = make_repl(session, pipe)
    task = asyncio.ensure_future(repl.run())
    pipe.send_text("restart cart\r")
    await wait_for(lambda: "restart_service changes systems: Restart a service." in out.getvalue())
    await asyncio.sleep(0.05)
    pipe.send_text(reply + "\r")
    await wait_for(lambda: "· answered" in out.getvalue())
    pipe.send_text("/exit\r")
    await asyncio.wait_for(task, 5)
    text = out.getvalue()
    assert log == (["restarted cart"] if ran else [])
    assert f"approval for restart_service: {'granted' if ran else 'denied'}" in text
    assert f"restart_service · {'ok' if ran else 'denied'} · " in text


async def test_ctrl_c_cancels_the_run_and_returns_to_the_prompt(tmp_path, monkeypatch, pipe):
    log: list[str] = []
    session = make_session(tmp_path, monkeypatch, slow_script(), log=log)
    repl, out = make_repl(session, pipe)
    task = asyncio.ensure_future(repl.run())
    pipe.send_text("scan everything\r")
    await wait_for(lambda: log == ["slow scan started"])
    pipe.send_text("\x03")  # Ctrl+C
    await wait_for(lambda: "Investigation cancelled." in out.getvalue())
    assert not task.done()  # back at the prompt
    assert "· cancelled" in out.getvalue().splitlines()[-1]
    pipe.send_text("/model\r")
    await wait_for(lambda: "model: offline" in out.getvalue())
    pipe.send_text("\x04")  # Ctrl+D quits
    assert await asyncio.wait_for(task, 5) == 0
    assert log == ["slow scan started"]


async def test_ctrl_c_at_the_prompt_does_not_quit(tmp_path, monkeypatch, pipe):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    repl, out = make_repl(session, pipe)
    pipe.send_text("half a question\x03/model\r\x04")
    assert await asyncio.wait_for(repl.run(), 5) == 0
    assert "model: offline" in out.getvalue()
    assert "half a question" not in out.getvalue()  # the line was dropped, not asked


async def test_missing_data_directory_is_one_line(tmp_path, monkeypatch, pipe):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    session.settings.data = str(tmp_path / "nowhere")
    repl, out = make_repl(session, pipe)
    pipe.send_text("why?\r/exit\r")
    assert await asyncio.wait_for(repl.run(), 5) == 1  # nothing to investigate: said once, at the start
    errors = [line for line in out.getvalue().splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "no such directory" in errors[0]


def test_copilot_repl_reads_piped_lines_in_plain_text(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOT_", "OPENAI_"))}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               PYTHONPATH=str(ROOT), TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    proc = subprocess.run([sys.executable, "-m", "copilot", "repl", "--offline"], input="/help\n/sessions\n/exit\n",
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout
    assert "offline · bundled demo> " in proc.stdout and "/resume ID" in proc.stdout and "no saved sessions yet" in proc.stdout


async def test_ctrl_c_at_the_approval_prompt_cancels_the_run(tmp_path, monkeypatch, pipe):
    log: list[str] = []
    session = make_session(tmp_path, monkeypatch, restart_script(), log=log)
    repl, out = make_repl(session, pipe)
    task = asyncio.ensure_future(repl.run())
    pipe.send_text("restart cart\r")
    await wait_for(lambda: "restart_service changes systems" in out.getvalue())
    await asyncio.sleep(0.05)
    pipe.send_text("\x03")
    await wait_for(lambda: "Investigation cancelled." in out.getvalue())
    pipe.send_text("/exit\r")
    assert await asyncio.wait_for(task, 5) == 0
    assert log == []
    assert "approval for restart_service" not in out.getvalue()


async def test_a_crashing_brain_is_one_line_and_the_repl_goes_on(tmp_path, monkeypatch, pipe):
    session = make_session(tmp_path, monkeypatch, broken_script())
    repl, out = make_repl(session, pipe)
    pipe.send_text("why?\r/model\r/exit\r")
    assert await asyncio.wait_for(repl.run(), 5) == 0
    text = out.getvalue()
    assert "Error: RuntimeError: the brain tripped" in text.splitlines()
    assert "model: offline" in text


async def test_model_unreachable_mid_run_is_said_once_and_the_rules_answer(tmp_path, pipe):
    """A real Session (built-in plugins, demo telemetry) and a model that answers once then fails."""
    import json as _json

    from copilot.config import Settings
    from copilot.session import Session
    from tests.fake_openai import FakeOpenAI

    data = tmp_path / "incident"
    done = subprocess.run([sys.executable, "-m", "copilot", "demo", "generate", "--fault", "memory_leak", "--service",
                           "cart", "--seed", "3", "--out", str(data)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with FakeOpenAI(models=["fake-model"]) as server:
        server.reply(_json.dumps({"thought": "ok", "enough": True, "calls": []}))  # then: 500 for every call
        settings = Settings(data=str(data), base_url=server.base_url, model="fake-model", api_key="sk-test-123456789",
                            retries=1, memory=False, sessions_dir=str(tmp_path / "sessions"))
        repl, out = make_repl(Session(settings, memory=False), pipe)
        pipe.send_text("why is cart slow?\r/exit\r")
        assert await asyncio.wait_for(repl.run(), 60) == 0
    text = out.getvalue()
    assert text.count("The model failed") == 1 and "the rest of the run follows the rules" in text
    assert "Incident report" in text and "error" not in text.splitlines()[-1]
    assert text.splitlines()[-1].endswith(" · answered")
