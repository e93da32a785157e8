import asyncio

from copilot.agent import Agent, Budget
from copilot.approval import AllowAll, DenyAll
from copilot.brains.base import Decision
from copilot.diagnosis import Diagnosis, Finding, RootCause
from copilot.events import (
    ActionProposed,
    ApprovalRequested,
    DiagnosisSaved,
    FinalAnswer,
    FindingReported,
    MemoryRecalled,
    Observation,
    RunFailed,
    RunStarted,
    StepLimitReached,
    Thought,
    ThoughtDelta,
    event_from_dict,
)
from copilot.tools import ToolContext, ToolRegistry, ToolResult, tool
from tests.fakes import ScriptedBrain, call


@tool
def scan(component: str, ctx: ToolContext) -> ToolResult:
    """Scan a component."""
    f = Finding(ctx.next_finding_id("M"), "metrics", component, "cpu_usage", "spike", f"{component} cpu rose 5x", 9.0, 100.0)
    return ToolResult.ok(f.summary, findings=[f])


@tool
def rank(ctx: ToolContext) -> ToolResult:
    """Rank."""
    top = ctx.findings[0]
    rc = RootCause(top.component, "cpu_saturation", 0.9, [top.id], ["cpu first"])
    return ToolResult.ok("ranked", data={"root_causes": [rc.to_dict()], "mitigation": ["restart"]})


@tool(risk="write")
def restart(component: str) -> str:
    """Restart a component."""
    return f"restarted {component}"


def registry() -> ToolRegistry:
    reg = ToolRegistry()
    for t in (scan, rank, restart):
        reg.add(t)
    return reg


def run(agent: Agent, question: str = "why is cart slow?"):
    async def collect():
        return [e async for e in agent.run(question)]

    return asyncio.run(collect())


class ListMemory:
    location = "memory://test"

    def __init__(self):
        self.saved: list[Diagnosis] = []

    def recall(self, question, findings=None, k=3):
        return [
            {"id": f"mem{i}", "summary": d.answer[:40], "similarity": 0.98, "diagnosis": d.to_dict()}
            for i, d in enumerate(self.saved)
        ][:k]

    def save(self, diagnosis):
        self.saved.append(diagnosis)
        return f"mem{len(self.saved) - 1}"


def test_full_run_streams_typed_events_and_derives_the_diagnosis():
    brain = ScriptedBrain([
        Decision("look at cart", [call("scan", component="cart")], agent="metrics"),
        Decision("rank it", [call("rank")], agent="rca"),
        Decision("conclude", answer="cart CPU saturation"),
    ])
    memory = ListMemory()
    events = run(Agent(brain, registry(), memory=memory))
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "diagnosis_saved"
    assert any(isinstance(e, ThoughtDelta) for e in events)
    assert [e.agent for e in events if isinstance(e, Thought)][:2] == ["metrics", "rca"]
    obs = [e for e in events if isinstance(e, Observation)]
    assert obs[0].output == "cart cpu rose 5x" and obs[0].status == "ok"
    assert [e.finding["id"] for e in events if isinstance(e, FindingReported)] == ["M1"]
    final = next(e for e in events if isinstance(e, FinalAnswer))
    assert final.diagnosis["root_causes"][0]["component"] == "cart"
    assert final.diagnosis["mitigation"] == ["restart"]
    assert final.diagnosis["findings"][0]["id"] == "M1"
    assert final.steps == 2
    assert memory.saved[0].root_causes[0].fault_type == "cpu_saturation"
    # every event survives the JSON-lines round trip
    for e in events:
        assert event_from_dict(e.to_dict()) == e


def test_second_run_recalls_the_first():
    memory = ListMemory()
    script = lambda: [Decision("", [call("scan", component="cart")]), Decision("", [call("rank")]), Decision("", answer="cart")]
    run(Agent(ScriptedBrain(script()), registry(), memory=memory))
    events = run(Agent(ScriptedBrain(script()), registry(), memory=memory))
    recalled = [e for e in events if isinstance(e, MemoryRecalled)]
    assert recalled and recalled[0].memory_id == "mem0"
    final = next(e for e in events if isinstance(e, FinalAnswer))
    assert events.index(recalled[0]) < events.index(final)  # visible in the trace before the answer


def test_memory_opens_in_the_background_and_model_brains_see_it_first():
    import threading

    memory = ListMemory()
    memory.saved.append(Diagnosis("q", "cart cpu", [RootCause("cart", "cpu_saturation", 0.9)]))
    opened = threading.Event()

    def slow_open():
        opened.wait(2)  # RunStarted must not wait for this
        return memory

    brain = ScriptedBrain([Decision("", answer="done")])
    brain.wants_recall_first = True
    agent = Agent(brain, registry(), memory=slow_open)

    async def first_event_then_rest():
        gen = agent.run("why is cart slow?")
        first = await gen.__anext__()
        opened.set()
        return first, [e async for e in gen]

    first, rest = asyncio.run(first_event_then_rest())
    assert isinstance(first, RunStarted)
    assert isinstance(rest[0], MemoryRecalled)
    assert brain.seen[0].recalled[0]["id"] == "mem0"


def test_write_tools_need_approval():
    script = lambda: [Decision("fix", [call("restart", component="cart")]), Decision("", answer="done")]
    events = run(Agent(ScriptedBrain(script()), registry(), approver=DenyAll()))
    approval = next(e for e in events if isinstance(e, ApprovalRequested))
    obs = next(e for e in events if isinstance(e, Observation))
    assert approval.approved is False and obs.status == "denied" and "restarted" not in obs.output
    events = run(Agent(ScriptedBrain(script()), registry(), approver=AllowAll()))
    obs = next(e for e in events if isinstance(e, Observation))
    assert obs.status == "ok" and obs.output == "restarted cart"


def test_step_limit_and_empty_question():
    looping = ScriptedBrain([Decision("again", [call("scan", component="cart")]) for _ in range(10)])
    events = run(Agent(looping, registry(), budget=Budget(max_steps=3)))
    assert isinstance(events[-1], StepLimitReached) and events[-1].steps == 3
    assert sum(isinstance(e, ActionProposed) for e in events) == 3
    events = run(Agent(ScriptedBrain([]), registry()), "   ")
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFailed)


def test_unknown_tool_is_an_observation_not_a_crash():
    brain = ScriptedBrain([Decision("", [call("teleport")]), Decision("", answer="gave up")])
    events = run(Agent(brain, registry()))
    obs = next(e for e in events if isinstance(e, Observation))
    assert obs.status == "error" and "scan" in obs.output
    assert isinstance(events[-1], FinalAnswer)


def test_read_only_calls_to_distinct_tools_run_concurrently():
    import threading

    barrier = threading.Barrier(2, timeout=2)

    @tool
    def left() -> str:
        """Left."""
        barrier.wait()  # deadlocks (and times out) unless both run at once
        return "left done"

    @tool
    def right() -> str:
        """Right."""
        barrier.wait()
        return "right done"

    reg = ToolRegistry()
    reg.add(left)
    reg.add(right)
    brain = ScriptedBrain([Decision("both", [call("left"), call("right")], agent="metrics"), Decision("", answer="ok")])
    events = run(Agent(brain, reg))
    kinds = [e.kind for e in events if e.kind in ("action", "observation")]
    assert kinds == ["action", "action", "observation", "observation"]
    assert [e.output for e in events if isinstance(e, Observation)] == ["left done", "right done"]
