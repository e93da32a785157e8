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
from copilot.plugins.telemetry_plugin import plugin as telemetry_plugin
from tests.fake_openai import FakeOpenAI
from copilot.tui.app import CopilotApp
from copilot.tui.repl import Repl
from copilot.tui.widgets import HistoryInput, Notice, StepBlock

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


# -- follow-ups that look data up -----------------------------------------------------------
def telemetry_tools() -> ToolRegistry:
    reg = ToolRegistry()
    for t in telemetry_plugin.tools:
        reg.add(t)
    return reg


async def follow_up(brain, question: str, diagnosis: dict, settings: Settings) -> list:
    ctx = ToolContext(data_dir=ensure_demo(), settings=settings)
    return [e async for e in Agent(brain, telemetry_tools(), ctx, budget=Budget(max_steps=6)).run(question, context=diagnosis)]


def proposed(events) -> list[tuple[str, dict]]:
    return [(e.tool, e.arguments) for e in events if isinstance(e, ActionProposed)]


async def test_rules_look_up_what_a_follow_up_asks_about():
    diagnosis = await investigated()
    cid = change_id(diagnosis)
    settings = Settings(offline=True, memory=False, timezone="UTC")
    events = await follow_up(OfflineBrain(), FOLLOW_UP, diagnosis, settings)
    assert proposed(events) == [("list_changes", {"start": "2024-05-14T12:30+00:00", "end": "2024-05-14T13:30+00:00"})]
    answer = next(e for e in events if isinstance(e, FinalAnswer)).answer
    assert "Looked up list_changes(" in answer and "3 changes" in answer
    assert f"[{cid}]" in answer and "catalogue / cpu_saturation" in answer  # the investigation's id, not a new one
    events = await follow_up(OfflineBrain(), "what do the logs of cart say?", diagnosis, settings)
    assert [t for t, _ in proposed(events)] == ["detect_log_anomalies"]
    assert proposed(events)[0][1]["component"] == "cart"
    answer = next(e for e in events if isinstance(e, FinalAnswer)).answer
    assert "log records, 0 anomalies" in answer and "Neither the investigation nor the look-ups found a log anomaly on cart" in answer
    events = await follow_up(OfflineBrain(), "is catalogue the cause?", diagnosis, settings)
    assert proposed(events) == []  # asks about no kind of data: answered from the findings alone


async def test_a_model_follow_up_calls_tools_natively_and_reads_their_results():
    diagnosis = await investigated()
    with FakeOpenAI(models=["team-test"]) as server:
        server.reply("Let me read cart's logs.", tool_calls=[{"name": "detect_log_anomalies",
                                                               "arguments": {"component": "cart"}}], arg_chunk=4)
        server.reply("cart's logs show no anomaly; the incident is catalogue's CPU [M3].")
        settings = Settings(base_url=server.base_url, model="team-test", api_key="sk", retries=1, memory=False,
                            timezone="UTC")
        events = await follow_up(TeamBrain(settings), "what do the logs of cart say?", diagnosis, settings)
        assert proposed(events) == [("detect_log_anomalies", {"component": "cart"})]
        answer = next(e for e in events if isinstance(e, FinalAnswer)).answer
        assert answer.startswith("cart's logs show no anomaly") and "[M3]" in answer
        assert "Looked up detect_log_anomalies(component=cart)" in answer
        first, second = server.chat_requests
        assert {t["function"]["name"] for t in first["tools"]} >= {"list_changes", "detect_log_anomalies"}
        results = [m for m in second["messages"] if m["role"] == "tool"]
        assert len(results) == 1 and "log records, 0 anomalies" in results[0]["content"]


async def test_a_model_follow_up_calls_tools_through_the_text_protocol():
    diagnosis = await investigated()
    with FakeOpenAI(models=["followup-text"]) as server:
        server.reply('Thought: read cart\'s logs.\nAction: detect_log_anomalies\nAction Input: {"component": "cart"}')
        server.reply("Thought: nothing there.\nFinal Answer: cart's logs show no anomaly; catalogue's CPU is the cause [M3].")
        settings = Settings(base_url=server.base_url, model="followup-text", api_key="sk", retries=1, memory=False,
                            timezone="UTC")
        events = await follow_up(TeamBrain(settings), "what do the logs of cart say?", diagnosis, settings)
        assert proposed(events) == [("detect_log_anomalies", {"component": "cart"})]
        answer = next(e for e in events if isinstance(e, FinalAnswer)).answer
        assert answer.startswith("cart's logs show no anomaly") and "[M3]" in answer
        first, second = server.chat_requests
        assert "tools" in first and "tools" not in second  # native first, then text, remembered
        last = second["messages"][-1]
        assert last["role"] == "user" and last["content"].startswith("Observation:") and "0 anomalies" in last["content"]


async def test_a_model_that_skips_the_look_up_gets_the_rules_look_up_and_answers_again():
    diagnosis = await investigated()
    cid = change_id(diagnosis)
    with FakeOpenAI(models=["team-test"]) as server:
        server.reply("No idea, probably the database.")  # no tool, no citation
        server.reply(f"The frontend change [{cid}] came before catalogue's CPU rose [M3], but touched another service.")
        settings = Settings(base_url=server.base_url, model="team-test", api_key="sk", retries=1, memory=False,
                            timezone="UTC")
        events = await follow_up(TeamBrain(settings), FOLLOW_UP, diagnosis, settings)
        assert [t for t, _ in proposed(events)] == ["list_changes"]
        answer = next(e for e in events if isinstance(e, FinalAnswer)).answer
        assert answer.startswith(f"The frontend change [{cid}]") and "database" not in answer
        assert len(server.chat_requests) == 2
        assert any(m["role"] == "tool" and "3 changes" in m["content"] for m in server.chat_requests[1]["messages"])


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
        assert "→ list_changes" in said  # the changes around 13:00 are looked up
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
        # two steps: the look-up of the changes the question asks about, then the answer; no investigation
        assert len(app.query(StepBlock)) == steps + 2
        answer = list(app.query(".answer").results(Markdown))[-1]
        assert f"[{cid}]" in answer.source and "Findings that match the question" in answer.source
        assert "Looked up list_changes(start=2024-05-14T12:30+00:00" in answer.source
        await submit(pilot, "/new")
        await pilot.pause()
        assert any("new session" in str(n.render()) for n in app.query(Notice))
        assert session.investigation is None
