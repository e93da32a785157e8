"""Follow-up questions about the current investigation: answered from its findings and
ranking (rules offline, a scripted model through a real local chat-completions server),
in the REPL (pipe input) and the TUI (Pilot), and `/new` starts over. The data is the
bundled demo (cpu_saturation injected into catalogue; a frontend config change at 13:00)."""

from __future__ import annotations

import asyncio
import io

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from textual.widgets import Markdown

from copilot.agent import Agent, Budget
from copilot.brains.offline import OfflineBrain
from copilot.brains.team import TeamBrain
from copilot.config import Settings
from copilot.demo import ensure_demo
from copilot.events import ActionProposed, FinalAnswer
from copilot.followup import answer_followup
from copilot.session import Session
from copilot.tools import ToolContext, ToolRegistry
from plugins.telemetry_plugin import plugin as telemetry_plugin
from tests.fake_openai import FakeOpenAI
from tui.app import CopilotApp
from tui.repl import Repl
from tui.widgets import HistoryInput, Notice, StepBlock

QUESTION = "Why is the shop slow since 13:29 UTC?"
FOLLOW_UP = "could the 13:00 config change be the cause?"


def offline_session(tmp_path) -> Session:
    settings = Settings(offline=True, data=str(ensure_demo()), memory=False, sessions_dir=str(tmp_path / "sessions"),
                        disabled_plugins=["knowledge"], timezone="UTC")
    return Session(settings, memory=False, session_id="fu-session")


async def investigated() -> dict:
    reg = ToolRegistry()
    for t in telemetry_plugin.tools:
        reg.add(t)
    ctx = ToolContext(data_dir=ensure_demo(), settings=Settings(offline=True, memory=False, timezone="UTC"))
    events = [e async for e in Agent(OfflineBrain(), reg, ctx).run(QUESTION)]
    return next(e for e in events if isinstance(e, FinalAnswer)).diagnosis


def change_id(diagnosis: dict) -> str:
    return next(f["id"] for f in diagnosis["findings"] if f["source"] == "changes" and f["component"] == "frontend")


# -- the rules' answer ---------------------------------------------------------------------
async def test_rules_answer_about_the_change_from_the_findings():
    diagnosis = await investigated()
    cid = change_id(diagnosis)
    text = answer_followup(FOLLOW_UP, diagnosis, "en")
    assert text.startswith("From this investigation's findings (not a new investigation)")
    assert f"[{cid}]" in text and "frontend" in text and "13:00" in text
    assert "catalogue / cpu_saturation" in text  # what the evidence points at instead
    nothing = answer_followup("was there a deploy at 03:00?", diagnosis, "en")
    assert "The investigation found no change near 03:00" in nothing
    zh = answer_followup("13:00 的配置变更会是原因吗？", diagnosis, "zh")
    assert zh.startswith("根据本次排查的发现") and f"[{cid}]" in zh


# -- with a model --------------------------------------------------------------------------
async def test_a_model_answers_the_follow_up_from_the_investigation_citing_findings():
    diagnosis = await investigated()
    cid = change_id(diagnosis)
    with FakeOpenAI(models=["team-test"]) as server:
        server.reply(f"Unlikely: the change [{cid}] only touched frontend's cache TTL, while catalogue's CPU "
                     "saturated first [M3] [Z9].")
        server.reply("Yes, definitely the config change.")  # cites nothing: the rules answer instead
        settings = Settings(base_url=server.base_url, model="team-test", api_key="sk", retries=1, memory=False,
                            timezone="UTC")
        answers = []
        for _ in range(2):
            ctx = ToolContext(data_dir=ensure_demo(), settings=settings)
            events = [e async for e in Agent(TeamBrain(settings), ToolRegistry(), ctx, budget=Budget(max_steps=4))
                      .run(FOLLOW_UP, context=diagnosis)]
            answers.append(next(e for e in events if isinstance(e, FinalAnswer)))
            assert not [e for e in events if isinstance(e, ActionProposed)]  # nothing is investigated again
        first, second = answers
        assert first.answer.startswith("Unlikely") and f"[{cid}]" in first.answer and "Z9" not in first.answer
        prompt = server.chat_requests[0]["messages"][-1]["content"]
        assert f"{cid} (changes, frontend, 13:00 UTC)" in prompt and "Root-cause ranking:" in prompt
        assert FOLLOW_UP in prompt and "The rules' reading" in prompt
        assert "definitely" not in second.answer and f"[{cid}]" in second.answer
        assert second.answer.startswith("From this investigation's findings")


# -- the REPL ------------------------------------------------------------------------------
async def wait_for(condition, timeout: float = 90.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_repl_answers_a_follow_up_in_context_and_new_starts_over(tmp_path):
    session = offline_session(tmp_path)
    out = io.StringIO()
    with create_pipe_input() as pipe:
        repl = Repl(session, input=pipe, output=DummyOutput(), stream=out, color=False)
        task = asyncio.ensure_future(repl.run())
        pipe.send_text(QUESTION + "\r")
        await wait_for(lambda: "5. Recommended" in out.getvalue() and out.getvalue().rstrip().endswith("answered"))
        assert out.getvalue().count("→ describe_telemetry") == 1
        cid = change_id(session.investigation)
        start = len(out.getvalue())
        pipe.send_text(FOLLOW_UP + "\r")
        await wait_for(lambda: "Findings that match the question" in out.getvalue()[start:]
                       and out.getvalue().rstrip().endswith("answered"))
        said = out.getvalue()[start:]
        assert f"[{cid}]" in said and "catalogue / cpu_saturation" in said
        assert "→ describe_telemetry" not in said and "Incident report" not in said  # not re-run
        assert session.investigation["root_causes"][0]["component"] == "catalogue"  # still the one it was about
        start = len(out.getvalue())
        pipe.send_text("/new\r")
        await wait_for(lambda: "new session" in out.getvalue()[start:])
        assert session.investigation is None and session.history == []
        start = len(out.getvalue())
        pipe.send_text(FOLLOW_UP + "\r")  # after /new the same words start a fresh investigation
        await wait_for(lambda: "→ describe_telemetry" in out.getvalue()[start:] and out.getvalue().rstrip().endswith("answered"))
        pipe.send_text("/exit\r")
        assert await asyncio.wait_for(task, 60) == 0


# -- the TUI -------------------------------------------------------------------------------
async def wait_idle(app: CopilotApp, pilot, timeout: float = 90.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    await pilot.pause()
    while app.running:
        assert asyncio.get_running_loop().time() < deadline, "the run did not finish"
        await asyncio.sleep(0.05)
    await app.workers.wait_for_complete()
    await pilot.pause()


async def submit(pilot, text: str) -> None:
    pilot.app.query_one(HistoryInput).value = text
    await pilot.press("enter")


async def test_tui_answers_a_follow_up_in_context_and_new_starts_over(tmp_path):
    session = offline_session(tmp_path)
    app = CopilotApp(session)
    async with app.run_test(size=(110, 40)) as pilot:
        await submit(pilot, QUESTION)
        await wait_idle(app, pilot)
        steps = len(app.query(StepBlock))
        assert steps >= 4
        cid = change_id(session.investigation)
        await submit(pilot, FOLLOW_UP)
        await wait_idle(app, pilot)
        assert len(app.query(StepBlock)) == steps + 1  # one step: the answer, no investigation
        answer = list(app.query(".answer").results(Markdown))[-1]
        assert f"[{cid}]" in answer.source and "Findings that match the question" in answer.source
        await submit(pilot, "/new")
        await pilot.pause()
        assert any("new session" in str(n.render()) for n in app.query(Notice))
        assert session.investigation is None
