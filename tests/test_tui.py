"""The Textual TUI driven through Textual's Pilot, over a real Session and agent loop with
a scripted brain (tests/test_tui_support.py)."""

from __future__ import annotations

import asyncio

from textual.widgets import Collapsible, Markdown
from textual.widgets._collapsible import CollapsibleTitle

from tests.test_tui_support import (
    ScriptedBrain,
    broken_script,
    investigation_script,
    make_session,
    restart_script,
    slow_script,
)
from copilot.tui.app import CopilotApp
from copilot.tui.screens import ApprovalScreen, SessionsScreen
from copilot.tui.widgets import ActionLine, FindingLine, HistoryInput, Notice, ObservationBlock, QuestionLine, StepBlock


async def wait_idle(app: CopilotApp, pilot, timeout: float = 5.0) -> None:
    """Wait until the investigation worker is done and the screen has caught up."""
    deadline = asyncio.get_running_loop().time() + timeout
    while app.running:
        assert asyncio.get_running_loop().time() < deadline, "the investigation did not finish"
        await asyncio.sleep(0.02)
    await app.workers.wait_for_complete()
    await pilot.pause()


async def wait_for(condition, pilot, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await pilot.pause(0.02)


async def submit(pilot, text: str) -> None:
    pilot.app.query_one(HistoryInput).value = text
    await pilot.press("enter")


def notices(app: CopilotApp) -> list[str]:
    return [str(n.render()) for n in app.query(Notice)]


async def test_question_streams_steps_answer_and_status(tmp_path, monkeypatch):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    app = CopilotApp(session)
    async with app.run_test(size=(110, 40)) as pilot:
        assert app.focused is app.query_one(HistoryInput)  # typed keys reach the input
        await pilot.press(*"why is cart slow?")
        await pilot.press("enter")
        await wait_idle(app, pilot)

        assert [str(q.render()) for q in app.query(QuestionLine)] == ["› why is cart slow?"]
        blocks = list(app.query(StepBlock))
        assert [b.title for b in blocks] == ["Step 1 · metrics", "Step 2 · report"]
        assert blocks[0].text == "Latency first, the alert is about slowness."
        assert not blocks[0].collapsed
        action = blocks[0].query_one(ActionLine)
        assert str(action.render()) == '→ check_latency {"service": "cart"}'
        observation = blocks[0].query_one(ObservationBlock)
        assert observation.collapsed  # collapsed by default, its summary in the title
        assert observation.title.startswith("check_latency · ok · ")
        assert observation.title.endswith(" ms · 2 lines")
        finding = blocks[0].query_one(FindingLine)
        assert "cart p90 latency rose 12x at 14:05" in str(finding.render())

        answer = app.query_one(".answer", Markdown)
        assert answer.source.startswith("## Root cause")
        # The step block of the answer step reads before the streamed answer.
        children = list(app.conversation.children)
        assert children.index(blocks[1]) < children.index(answer)

        status = str(app.query_one("#status").render())
        assert "scripted · step 2/6 · 350 tokens" in status
        assert "answered" in status and "session test-session" in status
        # The transcript was recorded by the real session store.
        assert session.store.summary("test-session").outcome == "answered"


async def test_observation_expands_to_show_output(tmp_path, monkeypatch):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    app = CopilotApp(session)
    async with app.run_test(size=(110, 40)) as pilot:
        await submit(pilot, "why is cart slow?")
        await wait_idle(app, pilot)
        observation = app.query_one(ObservationBlock)
        body = observation.query_one(Collapsible.Contents)
        assert body.styles.display == "none"
        await pilot.click(observation.query_one(CollapsibleTitle))
        await pilot.pause()
        assert body.styles.display == "block"
        assert "p90 latency 1.2 s" in str(observation.query_one(".output").render())


async def test_ctrl_c_cancels_a_slow_run_without_quitting(tmp_path, monkeypatch):
    log: list[str] = []
    session = make_session(tmp_path, monkeypatch, slow_script(), log=log)
    app = CopilotApp(session)
    async with app.run_test(size=(110, 40)) as pilot:
        await submit(pilot, "scan everything")
        await wait_for(lambda: log == ["slow scan started"], pilot)
        assert app.running
        await pilot.pause(0.6)  # the status line updates while the run goes on
        status = str(app.query_one("#status").render())
        assert "step 1/6" in status and "running" in status and " 0.0 s " not in status
        await pilot.press("ctrl+c")
        await wait_idle(app, pilot)
        assert app.is_running  # still open
        assert log == ["slow scan started"]  # the tool was interrupted, not finished
        assert "Investigation cancelled." in notices(app)
        assert "cancelled" in str(app.query_one("#status").render())
        # The app takes the next question.
        brain = ScriptedBrain(investigation_script())
        monkeypatch.setattr("copilot.session.make_brain", lambda s: brain)
        await submit(pilot, "why is cart slow?")
        await wait_idle(app, pilot)
        assert app.query_one(".answer", Markdown).source.startswith("## Root cause")


async def test_ctrl_c_when_idle_does_not_quit_and_ctrl_q_does(tmp_path, monkeypatch):
    app = CopilotApp(make_session(tmp_path, monkeypatch, investigation_script()))
    async with app.run_test() as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running and "Investigation cancelled." not in notices(app)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_approval_modal_approve_runs_the_tool(tmp_path, monkeypatch):
    log: list[str] = []
    session = make_session(tmp_path, monkeypatch, restart_script(), log=log)
    app = CopilotApp(session)
    async with app.run_test(size=(110, 40)) as pilot:
        await submit(pilot, "restart cart")
        await wait_for(lambda: isinstance(app.screen, ApprovalScreen), pilot)
        assert app.screen.tool == "restart_service"
        await pilot.press("y")
        await wait_idle(app, pilot)
        assert log == ["restarted cart"]
        observation = app.query_one(ObservationBlock)
        assert observation.status == "ok"
        assert str(app.query_one(".approval").render()) == "approval for restart_service: granted"


async def test_approval_modal_deny_keeps_the_system_unchanged(tmp_path, monkeypatch):
    log: list[str] = []
    session = make_session(tmp_path, monkeypatch, restart_script(), log=log)
    app = CopilotApp(session)
    async with app.run_test(size=(110, 40)) as pilot:
        await submit(pilot, "restart cart")
        await wait_for(lambda: isinstance(app.screen, ApprovalScreen), pilot)
        await pilot.click("#deny")
        await wait_idle(app, pilot)
        assert log == []
        observation = app.query_one(ObservationBlock)
        assert observation.status == "denied"
        assert observation.title.startswith("restart_service · denied")
        assert str(app.query_one(".approval").render()) == "approval for restart_service: denied"


async def test_ctrl_c_while_the_modal_waits_closes_it(tmp_path, monkeypatch):
    log: list[str] = []
    session = make_session(tmp_path, monkeypatch, restart_script(), log=log)
    app = CopilotApp(session)
    async with app.run_test(size=(110, 40)) as pilot:
        await submit(pilot, "restart cart")
        await wait_for(lambda: isinstance(app.screen, ApprovalScreen), pilot)
        await pilot.press("ctrl+c")
        await wait_idle(app, pilot)
        assert not isinstance(app.screen, ApprovalScreen)
        assert log == []
        assert "Investigation cancelled." in notices(app)


async def test_input_history_walks_back_and_forth(tmp_path, monkeypatch):
    app = CopilotApp(make_session(tmp_path, monkeypatch, investigation_script()))
    async with app.run_test() as pilot:
        prompt = app.query_one(HistoryInput)
        for line in ("/help", "/model"):
            await submit(pilot, line)
        await pilot.press(*"draft")
        await pilot.press("up")
        assert prompt.value == "/model"
        await pilot.press("up")
        await pilot.press("up")
        assert prompt.value == "/help"
        await pilot.press("down")
        assert prompt.value == "/model"
        await pilot.press("down")
        assert prompt.value == "draft"


async def test_slash_commands(tmp_path, monkeypatch):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    app = CopilotApp(session)
    async with app.run_test(size=(110, 40)) as pilot:
        await submit(pilot, "/help")
        assert any("/resume ID" in n for n in notices(app))
        await submit(pilot, "/model qwen2.5-coder")
        assert session.settings.model == "qwen2.5-coder" and session.model_label == "qwen2.5-coder"
        assert str(app.query_one("#status").render()).startswith("qwen2.5-coder · step 0/6")
        await submit(pilot, "/offline")
        assert session.model_label == "offline"
        assert str(app.query_one("#status").render()).startswith("offline")
        await submit(pilot, "/nope")
        assert app.query(".notice.-error")
        await submit(pilot, "/clear")
        await pilot.pause()
        assert not app.conversation.children
        await submit(pilot, "/exit")
        await pilot.pause()
        assert not app.is_running


async def test_sessions_picker_resumes_a_session(tmp_path, monkeypatch):
    first = make_session(tmp_path, monkeypatch, investigation_script(), session_id="20250101-000000-aaaaaa")
    app = CopilotApp(first)
    async with app.run_test(size=(110, 40)) as pilot:
        await submit(pilot, "why is cart slow?")
        await wait_idle(app, pilot)

    second = make_session(tmp_path, monkeypatch, investigation_script(), session_id="20250102-000000-bbbbbb")
    app = CopilotApp(second)
    async with app.run_test(size=(110, 40)) as pilot:
        await submit(pilot, "/sessions")
        await wait_for(lambda: isinstance(app.screen, SessionsScreen), pilot)
        await pilot.press("enter")  # the newest (and only) session
        await wait_for(lambda: not isinstance(app.screen, SessionsScreen), pilot)
        await pilot.pause()
        assert second.id == "20250101-000000-aaaaaa"
        assert second.history[0] == {"role": "user", "content": "why is cart slow?"}
        assert any(n.startswith("resumed session 20250101-000000-aaaaaa") for n in notices(app))
        assert [str(q.render()) for q in app.query(QuestionLine)] == ["› why is cart slow?"]


async def test_resume_restores_the_data_and_the_status_line_says_it(tmp_path, monkeypatch):
    first = make_session(tmp_path, monkeypatch, investigation_script(), session_id="20250101-000000-aaaaaa")
    read = first.settings.data
    app = CopilotApp(first)
    async with app.run_test(size=(110, 40)) as pilot:
        await submit(pilot, "why is cart slow?")
        await wait_idle(app, pilot)

    second = make_session(tmp_path, monkeypatch, investigation_script(), session_id="20250102-000000-bbbbbb")
    other = tmp_path / "other"
    other.mkdir()
    (other / "metrics.csv").write_text("timestamp,component,metric,value\n2024-05-14T13:05:00Z,db,cpu,0.5\n")
    second.settings.data = str(other)
    app = CopilotApp(second)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(lambda: app.status.data == f"files in {other}", pilot)
        await submit(pilot, "/resume 20250101")
        await wait_for(lambda: any("data restored" in n for n in notices(app)), pilot)
        assert any(f"data restored: files in {read}" in n for n in notices(app))
        assert second.settings.data == read
        assert app.status.data == f"files in {read}"
        assert "files in" in str(app.query_one("#status").render())


async def test_missing_data_dir_is_a_one_line_error(tmp_path, monkeypatch):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    session.settings.data = str(tmp_path / "nowhere")
    app = CopilotApp(session)
    async with app.run_test(size=(110, 40)) as pilot:
        await submit(pilot, "why is cart slow?")
        await wait_idle(app, pilot)
        errors = [str(n.render()) for n in app.query(".notice.-error")]
        assert len(errors) == 1 and "no such directory" in errors[0]
        assert app.is_running


async def test_demo_question_starts_at_once(tmp_path, monkeypatch):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    app = CopilotApp(session, question="why is cart slow?")
    async with app.run_test(size=(110, 40)) as pilot:
        await wait_for(lambda: app.worker is not None, pilot)
        await wait_idle(app, pilot)
        assert app.query_one(".answer", Markdown).source.startswith("## Root cause")


async def test_a_crashing_brain_is_reported_and_the_app_goes_on(tmp_path, monkeypatch):
    session = make_session(tmp_path, monkeypatch, broken_script())
    app = CopilotApp(session)
    async with app.run_test(size=(110, 40)) as pilot:
        await submit(pilot, "why is cart slow?")
        await wait_idle(app, pilot)
        errors = [str(n.render()) for n in app.query(".notice.-error")]
        assert errors == ["Error: RuntimeError: the brain tripped"]
        assert "failed" in str(app.query_one("#status").render())
        assert app.is_running


async def test_with_nothing_configured_the_status_line_says_bundled_demo(tmp_path):
    from copilot.config import load_settings
    from copilot.session import Session

    settings = load_settings()  # no --data, no source configured (tests/conftest.py clears COPILOT_*)
    settings.memory, settings.sessions_dir = False, str(tmp_path / "sessions")
    app = CopilotApp(Session(settings, memory=False))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(lambda: app.status.data.startswith("bundled demo"), pilot, timeout=30)
        app.refresh_status()
        await pilot.pause()
        assert "bundled demo" in str(app.query_one("#status").render())


async def test_model_unreachable_mid_run_is_shown_once_and_the_rules_answer(tmp_path):
    """A real Session (built-in plugins, demo telemetry) and a model that answers once then fails."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from copilot.config import Settings
    from copilot.session import Session
    from tests.fake_openai import FakeOpenAI

    root = Path(__file__).resolve().parent.parent
    data = tmp_path / "incident"
    done = subprocess.run([sys.executable, "-m", "copilot", "demo", "generate", "--fault", "memory_leak", "--service",
                           "cart", "--seed", "3", "--out", str(data)], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with FakeOpenAI(models=["fake-model"]) as server:
        server.reply(json.dumps({"thought": "ok", "enough": True, "calls": []}))  # then: 500 for every call
        settings = Settings(data=str(data), base_url=server.base_url, model="fake-model", api_key="sk-test-123456789",
                            retries=1, memory=False, sessions_dir=str(tmp_path / "sessions"))
        app = CopilotApp(Session(settings, memory=False))
        async with app.run_test(size=(140, 50)) as pilot:
            await submit(pilot, "why is cart slow?")
            await wait_idle(app, pilot, timeout=60)
            thoughts = [block.text for block in app.query(StepBlock)]
            assert sum("The model failed" in t for t in thoughts) == 1
            assert app.status.state == "answered"
            assert app.conversation.answer is not None
            assert not app.query(".notice.-error")
