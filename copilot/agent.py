"""The one agent loop: an async generator of events. It never prints and imports no UI.

    async for event in Agent(brain, registry, ctx).run(question):
        ...

Each step: the brain decides (streaming thought/answer deltas), the loop runs the tool
calls it chose (asking the approver first for tools that change systems), records the
observations and findings, and goes on until the brain answers, the step limit or a
budget is reached, or the run is cancelled.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

from .approval import Approver, DenyAll, WriteGuard
from .brains.base import Brain, Decision, RunState, StepRecord, ToolCall
from .diagnosis import Diagnosis, Finding, RootCause
from .errors import CopilotError
from .faults import fault_kind_from_text
from .events import (
    ActionProposed,
    ApprovalRequested,
    DiagnosisSaved,
    Event,
    FinalAnswer,
    FindingReported,
    MemoryRecalled,
    Observation,
    RunFailed,
    RunStarted,
    StepLimitReached,
    Thought,
    Usage,
)
from .language import detect_language
from .memory import Memory
from .tools import ToolContext, ToolRegistry, ToolResult


QUESTION_RECALL_MIN = 0.97  # question embeddings barely tell incidents apart: only re-asks


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


@dataclass
class Budget:
    max_steps: int = 16
    tokens: int = 200_000
    seconds: float = 900.0


class _Recall:
    """The question's memory recall: run in the background, its items shown once."""

    def __init__(self, task: asyncio.Task[list[dict[str, Any]]], state: RunState) -> None:
        self.task = task
        self.state = state
        self.shown = False

    def due(self, needed_now: Callable[[], bool]) -> bool:
        """Not shown yet, and either finished or needed now by the brain."""
        return not self.shown and (self.task.done() or needed_now())

    async def show(self) -> list[Event]:
        """Wait for the recall; its items not already recalled, as events (and on the run state)."""
        await self.task
        self.shown = True
        items = [i for i in self.task.result() if all(r.get("id") != i.get("id") for r in self.state.recalled)]
        self.state.recalled.extend(items)
        return [MemoryRecalled(i["id"], i.get("summary", ""), float(i.get("similarity", 0.0))) for i in items]

    def close(self) -> None:
        if not self.task.done():
            self.task.cancel()
        elif not self.task.cancelled():
            self.task.exception()  # retrieved: a failure here was already reported or is moot


class Agent:
    def __init__(
        self,
        brain: Brain,
        tools: ToolRegistry,
        ctx: ToolContext | None = None,
        *,
        budget: Budget | None = None,
        approver: Approver | None = None,
        memory: Memory | Callable[[], Memory | None] | None = None,
        session_id: str | None = None,
        data_label: str = "",
        prepare: Callable[[], Any] | None = None,
    ) -> None:
        self.brain = brain
        self.tools = tools
        self.ctx = ctx or ToolContext()
        self.budget = budget or Budget()
        self.approver = WriteGuard(approver or DenyAll())  # dedupe and cap writes per run
        # Opening memory may cost seconds (LanceDB); a callable is opened in the background.
        self._memory_source = memory
        self.memory: Memory | None = None if callable(memory) and not hasattr(memory, "recall") else memory  # type: ignore[assignment]
        self.session_id = session_id or new_session_id()
        self.ctx.session_id = self.session_id
        self.data_label = data_label
        self.prepare = prepare  # e.g. collect the telemetry: a source that cannot be read ends the run here
        self.tokens_used = 0
        self.recalled: list[dict[str, Any]] = []  # the run's recalled diagnoses (RunState.recalled)

    def _zone(self) -> str:
        """The run's zone, named once for the trace ('Asia/Shanghai (UTC+08:00)'); every
        time the run's texts print is in it (copilot/timefmt.py)."""
        from .timefmt import use_zone, zone_header
        from .timezones import local_zone

        try:
            tz = local_zone(self.ctx.settings)
        except CopilotError:
            from datetime import timezone

            tz = timezone.utc
        use_zone(tz)
        return zone_header(tz)

    async def run(self, question: str, history: list[dict[str, str]] | None = None,
                  context: dict[str, Any] | None = None) -> AsyncIterator[Event]:
        """`context`: the diagnosis of the investigation a follow-up question is about."""
        question = question.strip()
        problem = await self._brain_problem(question)
        yield RunStarted(self.session_id, question, self.brain.label, self.budget.max_steps, self.data_label,
                         selection=dict(self.ctx.cache.get("data") or {}), timezone=self._zone())
        problem = problem or self._question_problem(question) or await self._prepare_problem(context)
        if problem:
            yield RunFailed(problem)
            return
        state = self._new_state(question, history, context)
        recall = _Recall(asyncio.create_task(asyncio.to_thread(self._recall, question)), state)
        started = time.monotonic()
        try:
            while len(state.steps) < self.budget.max_steps:
                spent = self._budget_spent(started)
                if spent:
                    yield StepLimitReached(len(state.steps), spent)
                    return
                if recall.due(lambda: self._needs_recall_now(state)):
                    for event in await recall.show():
                        yield event
                decision: Decision | None = None
                async for item in self._step_brain(state):
                    if isinstance(item, Decision):
                        decision = item
                    else:
                        yield item
                assert decision is not None  # _step_brain raises without one
                if decision.thought:
                    yield Thought(state.step_index, decision.thought, decision.agent)
                if decision.answer is not None and not decision.calls:
                    async for event in self._finish_after_recall(state, decision, recall):
                        yield event
                    return
                async for event in self._run_calls(state, decision):
                    yield event
            yield StepLimitReached(len(state.steps))
        except CopilotError as exc:
            yield RunFailed(str(exc), len(state.steps))
        finally:
            recall.close()

    async def _brain_problem(self, question: str) -> str:
        """Why the brain cannot run ('' when it can): a model brain names the model it found."""
        ready = getattr(self.brain, "ready", None)
        if ready is None or not question:
            return ""
        try:
            await ready()
        except CopilotError as exc:
            return str(exc)
        return ""

    @staticmethod
    def _question_problem(question: str) -> str:
        if question:
            return ""
        return "the question is empty; ask what to investigate, e.g. 'why is checkout slow since 14:05?'"

    async def _prepare_problem(self, context: dict[str, Any] | None) -> str:
        """Prepare the run's data (not for a follow-up); a source that cannot be read ends the run."""
        if self.prepare is None or context is not None:
            return ""
        try:
            await asyncio.to_thread(self.prepare)
        except CopilotError as exc:
            return str(exc)
        return ""

    def _new_state(self, question: str, history: list[dict[str, str]] | None,
                   context: dict[str, Any] | None) -> RunState:
        state = RunState(
            question=question,
            tools=self.tools,
            ctx=self.ctx,
            max_steps=self.budget.max_steps,
            language=detect_language(question),
            history=list(history or []),
            context=context,
        )
        self.recalled = state.recalled
        return state

    def _budget_spent(self, started: float) -> str:
        """Which budget is spent ('' when none): time, then tokens."""
        if time.monotonic() - started > self.budget.seconds:
            return f"time budget of {self.budget.seconds:.0f}s spent"
        if self.tokens_used > self.budget.tokens:
            return f"token budget of {self.budget.tokens} spent"
        return ""

    async def _step_brain(self, state: RunState) -> AsyncIterator[Event | Decision]:
        """The brain's step: its events (tokens counted), then its decision, last."""
        decision: Decision | None = None
        async for item in self.brain.step(state):
            if isinstance(item, Decision):
                decision = item
                continue
            if isinstance(item, Usage):
                self.tokens_used += item.total_tokens
            yield item
        if decision is None:
            raise CopilotError(f"the brain {self.brain.label!r} returned no decision at step {state.step_index}")
        yield decision

    async def _finish_after_recall(self, state: RunState, decision: Decision, recall: _Recall) -> AsyncIterator[Event]:
        """The answer: recalled memory is shown before it if it was not yet."""
        if not recall.shown:
            for event in await recall.show():
                yield event
        async for event in self._finish(state, decision):
            yield event

    async def _run_calls(self, state: RunState, decision: Decision) -> AsyncIterator[Event]:
        """Run the step's tool calls (concurrently when they are all reads) and record the step."""
        index = state.step_index
        record = StepRecord(index, decision.thought, agent=decision.agent)
        if self._parallel(decision.calls):
            async for event in self._run_parallel(index, decision.calls, record, decision.agent):
                yield event
        else:
            for call in decision.calls:
                async for event in self._run_call(index, call, record, decision.agent):
                    yield event
        state.steps.append(record)

    def _needs_recall_now(self, state: RunState) -> bool:
        """A model-driven brain reads recalled memory in its prompt; rules read it at the end."""
        return bool(getattr(self.brain, "wants_recall_first", False)) and not state.steps

    def _open_memory(self) -> Memory | None:
        if self.memory is None and callable(self._memory_source):
            self.memory = self._memory_source()
        return self.memory

    def _recall(self, question: str) -> list[dict[str, Any]]:
        try:
            memory = self._open_memory()
            if memory is None:
                return []
            # By the words of the question alone only near-repeats are worth showing; the
            # RCA agent recalls by symptom signature once there are findings.
            return [r for r in memory.recall(question, None, 3) if float(r.get("similarity", 0)) >= QUESTION_RECALL_MIN]
        except CopilotError:
            raise
        except Exception:  # memory is a help, never a reason to fail an investigation
            return []

    def _parallel(self, calls: list[ToolCall]) -> bool:
        """Read-only calls to distinct tools run concurrently (the data-source agents)."""
        names = [c.name for c in calls]
        if len(calls) < 2 or len(set(names)) != len(names):
            return False
        return all((t := self.tools.get(n)) is not None and t.risk == "read" for n in names)

    async def _timed_invoke(self, call: ToolCall) -> tuple[ToolResult, float]:
        started = time.perf_counter()
        result = await self.tools.invoke(call.name, call.arguments, self.ctx)
        return result, (time.perf_counter() - started) * 1000

    async def _run_parallel(self, index: int, calls: list[ToolCall], record: StepRecord, agent: str) -> AsyncIterator[Event]:
        for n, call in enumerate(calls, 1):
            call.id = call.id or f"call_{index}_{n}"
            yield ActionProposed(index, call.id, call.name, dict(call.arguments), call.agent or agent)
        outcomes = await asyncio.gather(*(self._timed_invoke(c) for c in calls))
        for call, (result, elapsed) in zip(calls, outcomes):
            for event in self._observe(index, call, result, elapsed, record):
                yield event

    async def _run_call(self, index: int, call: ToolCall, record: StepRecord, agent: str) -> AsyncIterator[Event]:
        if not call.id:
            call.id = f"call_{index}_{len(record.calls) + 1}"
        yield ActionProposed(index, call.id, call.name, dict(call.arguments), call.agent or agent)
        tool = self.tools.get(call.name)
        if tool is not None and tool.risk == "write":
            approved = await self.approver.approve(call.name, dict(call.arguments), tool.description)
            yield ApprovalRequested(index, call.id, call.name, dict(call.arguments), approved)
            if not approved:
                why = getattr(self.approver, "reason", "") or f"the user did not approve {call.name}"
                denied = ToolResult("denied", f"{why}; propose the change as a plan instead of running it")
                for event in self._observe(index, call, denied, 0.0, record):
                    yield event
                return
        result, elapsed = await self._timed_invoke(call)
        for event in self._observe(index, call, result, elapsed, record):
            yield event

    def _observe(self, index: int, call: ToolCall, result: ToolResult, elapsed: float, record: StepRecord) -> list[Event]:
        record.calls.append(call)
        record.results.append(result)
        events: list[Event] = [
            Observation(index, call.id, call.name, result.status, result.output, result.truncated, round(elapsed, 1))
        ]
        for finding in result.findings:
            if all(f.id != finding.id for f in self.ctx.findings):
                self.ctx.findings.append(finding)
            events.append(FindingReported(index, finding.to_dict()))
        for item in result.recalled:
            if item.get("id") and all(r.get("id") != item["id"] for r in self.recalled):
                self.recalled.append(item)
                events.append(MemoryRecalled(item["id"], item.get("summary", ""), float(item.get("similarity", 0.0))))
        return events

    async def _finish(self, state: RunState, decision: Decision) -> AsyncIterator[Event]:
        diagnosis = decision.diagnosis or derive_diagnosis(state, decision.answer or "")
        diagnosis.question = state.question
        diagnosis.answer = decision.answer or diagnosis.answer
        diagnosis.steps = len(state.steps)
        diagnosis.model = self.brain.label
        diagnosis.session_id = self.session_id
        if not diagnosis.findings:
            diagnosis.findings = list(self.ctx.findings)
        if diagnosis.window is None and self.ctx.window:
            diagnosis.window = self.ctx.window
        yield FinalAnswer(diagnosis.answer, diagnosis.to_dict(), len(state.steps))
        if self.memory is not None and diagnosis.root_causes:
            try:
                memory_id = await asyncio.to_thread(self.memory.save, diagnosis)
            except CopilotError as exc:
                yield RunFailed(f"the diagnosis was not saved to memory: {exc}", len(state.steps))
                return
            yield DiagnosisSaved(memory_id, self.memory.location)


def derive_diagnosis(state: RunState, answer: str) -> Diagnosis:
    """Build the structured diagnosis from the latest ranking a tool produced."""
    root_causes: list[RootCause] = []
    mitigation: list[str] = []
    for step in reversed(state.steps):
        for result in reversed(step.results):
            data = result.data if isinstance(result.data, dict) else None
            if data and "root_causes" in data:
                root_causes = [RootCause.from_dict(r) for r in data["root_causes"]]
                mitigation = list(data.get("mitigation", []))
                break
        if root_causes:
            break
    findings: list[Finding] = list(state.ctx.findings)
    if not root_causes and answer:
        named = _named_root_cause(answer, state)
        if named is not None:
            root_causes = [named]
    return Diagnosis(question=state.question, answer=answer, root_causes=root_causes, findings=findings, mitigation=mitigation)


def _known_components(state: RunState) -> list[str]:
    names = {f.component for f in state.ctx.findings}
    for result in state.results_of("describe_telemetry"):
        if isinstance(result.data, dict):
            names.update(str(c) for c in result.data.get("components", []))
    return sorted(n for n in names if n)


def _named_root_cause(answer: str, state: RunState) -> RootCause | None:
    """A model that answered without a ranking tool: the component its answer names first."""
    import re

    low = answer.lower()
    hits = []
    for comp in _known_components(state):
        m = re.search(rf"(?<![\w-]){re.escape(comp.lower())}(?![\w-])", low)
        if m:
            hits.append((m.start(), comp))
    if not hits:
        return None
    component = min(hits)[1]
    evidence = [f.id for f in state.ctx.findings if f.component == component][:6]
    return RootCause(component, fault_kind_from_text(answer), 0.5, evidence,
                     ["named in the model's answer; no ranking tool was run"])
