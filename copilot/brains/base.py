"""The Brain protocol: decide the next step of the one agent loop from the history.

A brain's `step()` is an async generator. While it thinks it may yield streaming events
(`ThoughtDelta`, `AnswerDelta`, `Usage`); it ends by yielding exactly one `Decision`:
either tool calls to run, or a final answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Protocol

from ..diagnosis import Diagnosis
from ..events import Event, ThoughtDelta
from ..tools import ToolContext, ToolRegistry, ToolResult

if TYPE_CHECKING:
    from .offline import AgentPlan


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]
    agent: str = ""  # the role making this call, when it differs from the step's


@dataclass
class StepRecord:
    index: int
    thought: str
    calls: list[ToolCall] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    agent: str = "host"


@dataclass
class Decision:
    thought: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    answer: str | None = None  # set when the brain concludes
    diagnosis: Diagnosis | None = None  # optional structured conclusion
    agent: str = "host"  # the role that took this step


@dataclass
class RunState:
    """One run: everything a brain may read to decide the next step, and what it decided
    for the run's control flow (the phases of copilot/pipeline.py). Tool-result caches that
    tools share (telemetry, data, services) stay in `ctx.cache`."""

    question: str
    tools: ToolRegistry
    ctx: ToolContext
    max_steps: int
    steps: list[StepRecord] = field(default_factory=list)
    recalled: list[dict[str, Any]] = field(default_factory=list)  # similar past diagnoses
    language: str = "en"  # the user's language: en | zh
    history: list[dict[str, str]] = field(default_factory=list)  # earlier turns of a conversation
    context: dict[str, Any] | None = None  # the current investigation's diagnosis: a follow-up question
    intent_kind: str = ""  # set at the first step ("understand"): followup, knowledge, diagnose, ...
    agent_plan: AgentPlan | None = None  # the host's choice of data-source agents, once described
    data_notes: list[str] = field(default_factory=list)  # what the question asked that the data lacks
    memory: Any = None  # the brain's own memory of this run (TeamBrain: its _Run); one brain per run

    @property
    def step_index(self) -> int:
        return len(self.steps) + 1

    def results_of(self, tool_name: str) -> list[ToolResult]:
        return [r for s in self.steps for c, r in zip(s.calls, s.results) if c.name == tool_name]


class StreamedThought:
    """One step's thought, as streamed: what was sent as ThoughtDelta is the thought."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.text = ""

    def say(self, text: str) -> ThoughtDelta | None:
        text = text.strip()
        if not text:
            return None
        sep = " " if self.text and not self.text.endswith((" ", "\n")) else ""
        self.text += sep + text
        return ThoughtDelta(self.index, sep + text)

    def streamed(self, delta: ThoughtDelta, first: bool) -> ThoughtDelta:
        """A delta of model text; the first one of a call is set off from what came before."""
        if first and self.text and not self.text.endswith((" ", "\n")):
            delta = ThoughtDelta(delta.step, " " + delta.text)
        self.text += delta.text
        return delta


class Brain(Protocol):
    label: str  # model name, or "offline"

    def step(self, state: RunState) -> AsyncIterator[Event | Decision]: ...
