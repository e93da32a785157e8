"""One role of the team brain as a bounded ReAct loop over its own tools.

A role (the data-source agents, the RCA agent) talks to the model in its own chat: a
system prompt that says its job, an opening message with what the investigation knows,
then every tool call it made with the tool's result. Each model reply is one step of the
one agent loop: the calls it chose run there (concurrently when read-only), and their
results go back to the model in the role's next request (`role: tool` messages natively,
"Observation:" in the text protocol). The protocol handling is LLMBrain's: native tool
calls first, the text protocol when the model writes its calls as text, remembered per
model for the process (so every later role and run starts in the protocol that worked).

Budgets: a step cap (the last step offers no tools and asks for the conclusion), a token
cap and a time cap; a spent loop stops and the team goes on with what it has.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import AsyncIterator

from ..config import Settings
from ..events import AnswerDelta, Event, ThoughtDelta, Usage
from ..tools import Tool, ToolRegistry, ToolResult
from .base import Decision, RunState, StepRecord
from .llm import LLMBrain, observation_text
from .llm_client import ChatClient
from .team_model import FieldStreamer

OBSERVATION_CHARS = 1500  # a tool result as a role's model reads it (small models, 8k context)


class _Plain:
    """A reply that is not JSON streams as it comes."""

    @staticmethod
    def feed(text: str) -> str:
        return text


@dataclass
class LoopBudget:
    steps: int
    tokens: int = 24_000
    seconds: float = 300.0


class RoleBrain(LLMBrain):
    """LLMBrain with a role's own system prompt and opening message."""

    retry_plain_answers = False  # answering at once ("enough", the ranking) is legitimate here
    writes_report = False  # the team brain writes the report
    wants_recall_first = False

    def __init__(self, settings: Settings, client: ChatClient, model: str, system: str, opening: str) -> None:
        super().__init__(settings, client=client)
        self.model = model
        self.label = model
        self._system = system
        self._opening = opening
        self._remembered()

    def system_prompt(self, state: RunState) -> str:
        return self._system

    def opening(self, state: RunState) -> str:
        return self._opening

    def observation(self, result: ToolResult) -> str:
        text = observation_text(result)
        return text if len(text) <= OBSERVATION_CHARS else text[:OBSERVATION_CHARS] + " ... (cut)"


@dataclass
class RoleLoop:
    """A role's chat across the steps of one run."""

    role: str
    brain: RoleBrain
    state: RunState  # the role's own run state: its tools, its steps
    budget: LoopBudget
    main_steps: list[int] = field(default_factory=list)  # the agent-loop steps this role took
    thoughts: dict[int, str] = field(default_factory=dict)  # main step -> the model's own thought
    synced: int = 0
    tokens: int = 0
    seconds: float = 0.0
    calls: int = 0  # model requests
    tool_calls: int = 0
    closed: bool = False

    @classmethod
    def open(cls, role: str, parent: RunState, tools: list[Tool], brain: RoleBrain, budget: LoopBudget) -> "RoleLoop":
        registry = ToolRegistry()
        for t in tools:
            registry.add(t)
        state = RunState(question=parent.question, tools=registry, ctx=parent.ctx, max_steps=max(1, budget.steps),
                         language=parent.language)
        return cls(role, brain, state, budget)

    @property
    def tool_names(self) -> set[str]:
        return set(self.state.tools.names())

    def sync(self, parent: RunState) -> None:
        """Copy the agent-loop steps this role took (with their tool results) into its chat."""
        by_index = {s.index: s for s in parent.steps}
        while self.synced < len(self.main_steps):
            record = by_index.get(self.main_steps[self.synced])
            if record is None:
                break
            self.state.steps.append(StepRecord(len(self.state.steps) + 1, self.thoughts.get(record.index, ""),
                                               list(record.calls), list(record.results), record.agent))
            self.synced += 1

    def spent(self) -> str:
        """Why the loop may not ask again ("" while it may)."""
        if self.closed:
            return "closed"
        if len(self.state.steps) >= self.budget.steps:
            return f"its {self.budget.steps} steps are used"
        if self.tokens >= self.budget.tokens:
            return f"its budget of {self.budget.tokens} tokens is spent"
        if self.seconds >= self.budget.seconds:
            return f"its {self.budget.seconds:.0f}s are spent"
        return ""

    async def step(self, parent: RunState, index: int) -> AsyncIterator[Event | Decision]:
        """One model call of this role; ThoughtDelta/AnswerDelta come out as thought of step
        `index`; ends with the brain's Decision (raises ModelError when the model fails)."""
        self.sync(parent)
        started = time.monotonic()
        self.calls += 1
        raw = ""
        field: FieldStreamer | _Plain | None = None  # a JSON reply shows its "thought" field, not raw JSON
        try:
            async for item in self.brain.step(self.state):
                if isinstance(item, Decision):
                    self.tool_calls += len(item.calls)
                    yield item
                elif isinstance(item, (ThoughtDelta, AnswerDelta)):
                    if field is not None:
                        text = field.feed(item.text)
                    else:
                        raw += item.text
                        if not raw.strip():
                            continue
                        if raw.lstrip().startswith(("{", "```")):
                            field = FieldStreamer("thought")
                            text = field.feed(raw)
                        else:
                            field = _Plain()
                            text = raw
                    if text:
                        yield ThoughtDelta(index, text)
                else:
                    if isinstance(item, Usage):
                        self.tokens += item.total_tokens
                    yield item
        finally:
            self.seconds += time.monotonic() - started

    def took(self, index: int, thought: str) -> None:
        """The agent loop's step `index` runs this role's calls."""
        self.main_steps.append(index)
        self.thoughts[index] = thought
