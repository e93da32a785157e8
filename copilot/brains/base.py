"""The Brain protocol: decide the next step of the one agent loop from the history.

A brain's `step()` is an async generator. While it thinks it may yield streaming events
(`ThoughtDelta`, `AnswerDelta`, `Usage`); it ends by yielding exactly one `Decision`:
either tool calls to run, or a final answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Protocol

from ..diagnosis import Diagnosis
from ..events import Event
from ..tools import ToolContext, ToolRegistry, ToolResult


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
    """Everything a brain may read to decide the next step."""

    question: str
    tools: ToolRegistry
    ctx: ToolContext
    max_steps: int
    steps: list[StepRecord] = field(default_factory=list)
    recalled: list[dict[str, Any]] = field(default_factory=list)  # similar past diagnoses
    language: str = "en"  # the user's language: en | zh
    history: list[dict[str, str]] = field(default_factory=list)  # earlier turns of a conversation
    context: dict[str, Any] | None = None  # the current investigation's diagnosis: a follow-up question

    @property
    def step_index(self) -> int:
        return len(self.steps) + 1

    def results_of(self, tool_name: str) -> list[ToolResult]:
        return [r for s in self.steps for c, r in zip(s.calls, s.results) if c.name == tool_name]


class Brain(Protocol):
    label: str  # model name, or "offline"

    def step(self, state: RunState) -> AsyncIterator[Event | Decision]: ...
