"""Fakes for what lies outside the engine: a scripted brain (a model stand-in) and toy tools."""

from __future__ import annotations

from typing import Any, AsyncIterator

from copilot.brains.base import Decision, RunState, ToolCall
from copilot.events import Event, ThoughtDelta


class ScriptedBrain:
    """Plays back a list of decisions; a function-backed fake model."""

    label = "scripted"

    def __init__(self, decisions: list[Decision]) -> None:
        self.decisions = list(decisions)
        self.seen: list[RunState] = []

    async def step(self, state: RunState) -> AsyncIterator[Event | Decision]:
        self.seen.append(state)
        decision = self.decisions.pop(0) if self.decisions else Decision(thought="done", answer="no more script")
        if decision.thought:
            yield ThoughtDelta(state.step_index, decision.thought[: len(decision.thought) // 2])
        yield decision


def call(name: str, **arguments: Any) -> ToolCall:
    return ToolCall("", name, arguments)
