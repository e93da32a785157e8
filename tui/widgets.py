"""The TUI's widgets: the conversation pane and the blocks an investigation streams into.

`Conversation.show(event)` turns each event into widgets: a collapsible block per step
(thought streaming in, actions, observations collapsed to a one-line summary, findings
highlighted), notices, and the answer as Markdown (streamed when the brain streams it).
Wording comes from `copilot.tui.render`, so the TUI and the REPL say the same things.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Collapsible, Input, Markdown

from copilot.events import (
    ActionProposed,
    AnswerDelta,
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
    ThoughtDelta,
)

from .render import (
    CANCELLED_TEXT,
    action_text,
    approval_text,
    failed_text,
    finding_text,
    limit_text,
    memory_text,
    observation_summary,
    run_started_text,
    saved_text,
    step_title,
)
from .safe import PlainText, safe_markdown, safe_title


class QuestionLine(PlainText):
    def __init__(self, question: str) -> None:
        super().__init__(f"› {question}", classes="question")


class Notice(PlainText):
    """A line outside the steps: session start, memory, errors, command output."""

    def __init__(self, text: str, kind: str = "info") -> None:
        super().__init__(text, classes=f"notice -{kind}")


class ActionLine(PlainText):
    def __init__(self, tool: str, arguments: dict[str, Any]) -> None:
        super().__init__(action_text(tool, arguments), classes="action")


class FindingLine(PlainText):
    def __init__(self, finding: dict[str, Any]) -> None:
        super().__init__(finding_text(finding), classes="finding")


class ObservationBlock(Collapsible):
    """A tool's output, collapsed to its summary line: tool, status, elapsed."""

    def __init__(self, event: Observation) -> None:
        summary = observation_summary(event.tool, event.status, event.elapsed_ms, event.output, event.truncated)
        body = PlainText(event.output or "(no output)", classes="output")
        super().__init__(body, title=safe_title(summary), collapsed=True, classes=f"observation -{event.status}")
        self.call_id = event.call_id
        self.status = event.status


class StepBlock(Collapsible):
    """One step of the investigation; its thought streams in while it is open."""

    def __init__(self, step: int, agent: str = "") -> None:
        self.thought = PlainText("", classes="thought")
        super().__init__(self.thought, title=safe_title(step_title(step, agent)), collapsed=False, classes="step")
        self.step = step
        self.text = ""

    def add_delta(self, text: str) -> None:
        self.text += text
        self.thought.update(self.text)

    def set_thought(self, text: str, agent: str) -> None:
        self.text = text
        self.thought.update(text)
        self.title = safe_title(step_title(self.step, agent))

    async def add(self, widget: Widget) -> None:
        await self.query_one(Collapsible.Contents).mount(widget)


class Conversation(VerticalScroll):
    """The conversation pane: questions, step blocks, notices and answers."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.steps: dict[int, StepBlock] = {}
        self.answer: Markdown | None = None
        self._stream: Any = None

    def on_mount(self) -> None:
        self.anchor()

    async def say(self, text: str, kind: str = "info") -> None:
        await self.mount(Notice(text, kind))

    async def ask(self, question: str) -> None:
        self.steps, self.answer, self._stream = {}, None, None
        await self.mount(QuestionLine(question))

    async def clear(self) -> None:
        await self._stop_stream()
        self.steps, self.answer = {}, None
        await self.remove_children()

    async def show_markdown(self, text: str) -> None:
        await self.mount(Markdown(safe_markdown(text), classes="answer"))

    async def _step(self, step: int, agent: str = "") -> StepBlock:
        block = self.steps.get(step)
        if block is None:
            block = self.steps[step] = StepBlock(step, agent)
            # A thought that arrives after a streamed answer still reads before it.
            if self.answer is not None:
                await self.mount(block, before=self.answer)
            else:
                await self.mount(block)
        return block

    async def _stop_stream(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.stop()

    async def finish(self, note: str = "", kind: str = "warning") -> None:
        """The run ended outside the event stream (cancelled, crashed)."""
        await self._stop_stream()
        if note:
            await self.say(note, kind)

    async def cancelled(self) -> None:
        await self.finish(CANCELLED_TEXT)

    async def show(self, event: Event) -> None:
        match event:
            case RunStarted(session_id=sid, model=model, max_steps=n, data=data, timezone=zone):
                await self.say(run_started_text(sid, model, n, data, zone), "dim")
            case MemoryRecalled(memory_id=mid, summary=summary, similarity=sim):
                await self.say(memory_text(mid, summary, sim), "memory")
            case ThoughtDelta(step=step, text=text):
                (await self._step(step)).add_delta(text)
            case Thought(step=step, text=text, agent=agent):
                (await self._step(step, agent)).set_thought(text, agent)
            case ActionProposed(step=step, tool=tool, arguments=args):
                await (await self._step(step)).add(ActionLine(tool, args))
            case ApprovalRequested(step=step, tool=tool, approved=ok):
                block = await self._step(step)
                await block.add(PlainText(approval_text(tool, ok),
                                          classes=f"approval -{'granted' if ok else 'denied'}"))
            case Observation(step=step):
                await (await self._step(step)).add(ObservationBlock(event))
            case FindingReported(step=step, finding=finding):
                await (await self._step(step)).add(FindingLine(finding))
            case AnswerDelta(text=text):
                await self._answer_delta(text)
            case FinalAnswer(answer=answer):
                await self._final_answer(answer)
            case DiagnosisSaved(memory_id=mid, where=where):
                await self.say(saved_text(mid, where), "dim")
            case StepLimitReached(steps=n, reason=reason):
                await self.finish(limit_text(n, reason), "warning")
            case RunFailed(error=error):
                await self.finish(failed_text(error), "error")
            case _:
                pass

    async def _answer_delta(self, text: str) -> None:
        """The answer as it streams, in one Markdown widget."""
        if self.answer is None:
            self.answer = Markdown(classes="answer")
            await self.mount(self.answer)
            self._stream = Markdown.get_stream(self.answer)
        if self._stream is not None:
            await self._stream.write(safe_markdown(text))

    async def _final_answer(self, answer: str) -> None:
        """The whole answer replaces what streamed (or is shown, when nothing did)."""
        await self._stop_stream()
        if self.answer is None:
            self.answer = Markdown(safe_markdown(answer), classes="answer")
            await self.mount(self.answer)
        else:
            await self.answer.update(safe_markdown(answer))


class HistoryInput(Input):
    """An Input that remembers what was submitted; up and down walk through it."""

    BINDINGS = [
        Binding("up", "history_back", "Previous", show=False),
        Binding("down", "history_forward", "Next", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history: list[str] = []
        self._index: int | None = None
        self._draft = ""

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._index = None

    def _show(self, text: str) -> None:
        self.value = text
        self.cursor_position = len(text)

    def action_history_back(self) -> None:
        if not self.history:
            return
        if self._index is None:
            self._draft, self._index = self.value, len(self.history)
        self._index = max(0, self._index - 1)
        self._show(self.history[self._index])

    def action_history_forward(self) -> None:
        if self._index is None:
            return
        self._index += 1
        if self._index >= len(self.history):
            self._index = None
            self._show(self._draft)
        else:
            self._show(self.history[self._index])


class StatusBar(PlainText):
    """One line: model or offline, step n/max, tokens, elapsed, state."""
