"""The investigation pipeline (copilot/pipeline.py): its phases in order, brains that walk them
by name (a plan with a phase left out or moved changes what they do), and the state of a run
kept on the run (one TeamBrain serving two interleaved runs keeps them apart)."""

from __future__ import annotations

import dataclasses
import json

from copilot import pipeline
from copilot.agent import Agent, Budget
from copilot.brains import offline
from copilot.brains.base import RunState
from copilot.brains.offline import OfflineBrain
from copilot.brains.team import TeamBrain
from copilot.config import Settings
from copilot.demo import ensure_demo
from copilot.events import ActionProposed, FinalAnswer, Thought
from copilot.pipeline import PLAN, phase
from copilot.plugins.kb_plugin import plugin as kb_plugin
from copilot.plugins.telemetry_plugin import plugin as telemetry_plugin
from copilot.tools import ToolContext, ToolRegistry
from tests.fake_openai import FakeOpenAI
from tests.kb_fixtures import embedder, kb_settings, store  # noqa: F401

QUESTION = "Why is the shop slow since 13:29 UTC?"  # the demo: cpu_saturation injected into catalogue
DETECTORS = {"detect_metric_anomalies", "detect_log_anomalies", "detect_trace_anomalies", "list_changes"}


def registry(*, knowledge: bool = False) -> ToolRegistry:
    reg = ToolRegistry()
    for t in list(telemetry_plugin.tools) + (list(kb_plugin.tools) if knowledge else []):
        reg.add(t)
    return reg


def without(*names: str) -> tuple[pipeline.Phase, ...]:
    return tuple(p for p in PLAN if p.name not in names)


class Recording:
    """A brain that remembers the RunState it was asked about."""

    def __init__(self, brain) -> None:
        self.brain = brain
        self.label = brain.label
        self.states: list[RunState] = []

    async def step(self, state: RunState):
        if state not in self.states:
            self.states.append(state)
        async for item in self.brain.step(state):
            yield item


async def run(brain, reg: ToolRegistry, question: str = QUESTION, settings: Settings | None = None, max_steps: int = 12):
    settings = settings or Settings(memory=False, timezone="UTC")
    ctx = ToolContext(data_dir=ensure_demo("cpu_saturation"), settings=settings)
    return [e async for e in Agent(brain, reg, ctx, budget=Budget(max_steps=max_steps)).run(question)], ctx


def tools_by_step(events) -> list[list[str]]:
    steps: dict[int, list[str]] = {}
    for e in events:
        if isinstance(e, ActionProposed):
            steps.setdefault(e.step, []).append(e.tool)
    return [steps[k] for k in sorted(steps)]


# -- the plan ---------------------------------------------------------------------------
def test_the_phases_run_in_this_order_each_named_and_described():
    assert [p.name for p in PLAN] == ["understand", "describe", "detect", "rank", "consult", "reflect", "report"]
    assert [p.name for p in pipeline.tool_phases()] == ["describe", "detect", "rank", "consult"]
    assert all(p.needs and p.produces for p in PLAN)
    assert phase("detect").agent == "data-sources" and phase("rank").agent == "rca"
    assert [st.tool for st in phase("consult").steps] == ["kb_search", "similar_incidents"]
    assert phase("drill") is None and phase("rank", without("rank")) is None
    assert offline.PLAN is PLAN and offline.Phase is pipeline.Phase  # the old home still imports


# -- the offline brain walks the plan by name -------------------------------------------
async def test_the_offline_brain_walks_the_phases_it_is_given_in_their_order():
    events, _ = await run(OfflineBrain(), registry())
    assert tools_by_step(events) == [["describe_telemetry"], sorted(DETECTORS, key=[
        st.tool for st in phase("detect").steps].index), ["rank_root_causes"]]

    moved = (phase("understand"), phase("describe"), phase("rank"), phase("detect"), phase("reflect"), phase("report"))
    events, _ = await run(OfflineBrain(plan=moved), registry())
    steps = tools_by_step(events)
    assert steps[1] == ["rank_root_causes"] and set(steps[2]) == DETECTORS

    events, _ = await run(OfflineBrain(plan=without("detect")), registry())
    assert tools_by_step(events) == [["describe_telemetry"], ["rank_root_causes"]]
    assert not next(e for e in events if isinstance(e, FinalAnswer)).diagnosis["root_causes"]


async def test_a_run_keeps_its_intent_and_agent_plan_as_typed_fields_not_in_the_tool_cache():
    brain = Recording(OfflineBrain())
    _, ctx = await run(brain, registry(), "why are there errors in the logs since 13:20?")
    state = brain.states[0]
    assert state.intent_kind == "diagnose"
    assert state.agent_plan is not None and set(state.agent_plan.idle) == {"metrics", "traces", "changes"}
    assert "intent_kind" not in ctx.cache and "agent_plan" not in ctx.cache

    brain = Recording(OfflineBrain())
    await run(brain, registry(), "what is a memory leak?")
    assert brain.states[0].intent_kind == "knowledge"


# -- the team brain walks the plan by name ----------------------------------------------
def team_settings(server: FakeOpenAI, base: Settings | None = None) -> Settings:
    return dataclasses.replace(base or Settings(timezone="UTC"), base_url=server.base_url, model="team-test",
                               api_key="sk-test", request_timeout=5.0, retries=1, memory=False)


async def team_run(plan: tuple[pipeline.Phase, ...]) -> list:
    with FakeOpenAI(models=["team-test"]) as server:
        for text in SCRIPT:
            server.reply(text)
        settings = team_settings(server)
        events, _ = await run(TeamBrain(settings, plan=plan), registry(), settings=settings, max_steps=16)
    return events


async def test_the_team_brain_takes_the_rule_phases_by_name_in_its_own_voice():
    steps = tools_by_step(await team_run(PLAN))
    assert steps[:3] == [["describe_telemetry"], [st.tool for st in phase("detect").steps if st.tool in DETECTORS],
                         ["rank_root_causes"]]

    events = await team_run(without("detect"))
    steps = tools_by_step(events)
    assert steps[:2] == [["describe_telemetry"], ["rank_root_causes"]] and not DETECTORS & {t for s in steps for t in s}
    rank = [e for e in events if isinstance(e, Thought)][1]
    assert rank.agent == "rca" and rank.text.startswith("[rules] ")  # after the host's echo of the window:
    assert "Standard step: rca agent: combine the findings with the call graph and rank root causes." in rank.text
    assert "No model configured" not in rank.text  # the offline voice is the offline brain's only

    steps = tools_by_step(await team_run(without("detect", "rank")))
    assert steps[0] == ["describe_telemetry"] and "rank_root_causes" not in {t for s in steps for t in s}


# -- one TeamBrain, two runs at once ----------------------------------------------------
SCRIPT = [
    "The findings are clear enough.",  # the data-source agents: no drill-down
    json.dumps({"thought": "The CPU of catalogue saturated first.", "novel": False, "mechanism": "",
                "root_causes": [{"component": "catalogue", "fault_type": "cpu_saturation", "confidence": 0.9,
                                 "evidence": ["M3", "M1"], "reasons": ["its CPU went to 97% first"],
                                 "contradicting": []}]}),
    json.dumps({"thought": "Its CPU signature is there and it began first.", "verdict": "keep",
                "refuted_by": "normal CPU"}),
    "Catalogue's CPU saturated at 13:26 [M3] and slowed the shop [M1].",
]


async def stepwise(agents: list, server: FakeOpenAI) -> list[tuple[list, list[int]]]:
    """Run the agents one step each in turn; per run, its events and the count of model
    requests the server had seen when each of its steps ended (its Thought)."""
    gens = [a.run(QUESTION) for a in agents]
    out: list[tuple[list, list[int]]] = [([], []) for _ in gens]
    live = set(range(len(gens)))
    while live:
        for i, gen in enumerate(gens):
            if i not in live:
                continue
            events, marks = out[i]
            while True:
                try:
                    event = await gen.__anext__()
                except StopAsyncIteration:
                    live.discard(i)
                    break
                events.append(event)
                if isinstance(event, Thought):
                    marks.append(len(server.chat_requests))
                    break
    return out


def team_agent(brain: TeamBrain, settings: Settings) -> Agent:
    ctx = ToolContext(data_dir=ensure_demo("cpu_saturation"), settings=settings)
    return Agent(brain, registry(knowledge=True), ctx, budget=Budget(max_steps=16))


def trace(events) -> list[tuple[str, str]]:
    return [(e.agent, e.text) for e in events if isinstance(e, Thought)]


async def test_one_team_brain_keeps_two_interleaved_runs_apart(kb_settings):
    with FakeOpenAI(models=["team-test"]) as server:
        settings = team_settings(server, kb_settings)
        for text in SCRIPT:
            server.reply(text)
        [(alone, marks)] = await stepwise([team_agent(TeamBrain(settings), settings)], server)
        assert len(server.chat_requests) == len(SCRIPT)
        asked_at = [b - a for a, b in zip([0] + marks, marks)]  # model requests per step of one run

        # the same brain, two runs stepping in turn: each step's replies are queued in that order
        replies = iter(SCRIPT)
        step_replies = [[next(replies) for _ in range(n)] for n in asked_at]
        for batch in step_replies:
            for _ in range(2):
                for text in batch:
                    server.reply(text)
        brain = TeamBrain(settings)
        (first, _), (second, _) = await stepwise([team_agent(brain, settings), team_agent(brain, settings)], server)

    assert sum(asked_at) == len(SCRIPT) and max(asked_at) >= 1
    assert trace(first) == trace(alone) and trace(second) == trace(alone)
    answers = [next(e for e in events if isinstance(e, FinalAnswer)).diagnosis for events in (alone, first, second)]
    assert [a["root_causes"][0]["component"] for a in answers] == ["catalogue"] * 3
    assert answers[1]["report"]["summary"] == answers[0]["report"]["summary"] == answers[2]["report"]["summary"]
    assert any("model reflection: keep" in n for n in answers[1]["report"]["reflection"])
    assert not any(isinstance(v, RunState) for v in vars(brain).values())  # the brain holds no run
