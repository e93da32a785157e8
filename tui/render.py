"""How the event stream reads on screen: one wording for the TUI and the REPL.

The wording helpers (`action_text`, `observation_summary`, `finding_text`, ...) and
`RunStatus` (the status line) are shared by the TUI's widgets and the REPL. `Renderer`
prints events for the REPL: styled with rich when colour is on, plain text otherwise
(NO_COLOR, TERM=dumb, or output that is not a terminal). rich is imported only when
colour is on, so the plain REPL starts light.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from copilot.terminal_text import sanitize_terminal
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
    Usage,
)

OBSERVATION_PREVIEW_LINES = 8


# ---------------------------------------------------------------- wording


def step_title(step: int, agent: str = "") -> str:
    return f"Step {step} · {agent}" if agent else f"Step {step}"


def action_text(tool: str, arguments: dict[str, Any]) -> str:
    if not arguments:
        return f"→ {tool}"
    return f"→ {tool} {json.dumps(arguments, ensure_ascii=False, default=str)}"


def _count_lines(output: str) -> int:
    return len(output.splitlines()) if output else 0


def observation_summary(tool: str, status: str, elapsed_ms: float, output: str = "", truncated: bool = False) -> str:
    """The one line an observation shows while collapsed: tool, status, elapsed."""
    parts = [tool, status, f"{elapsed_ms:.0f} ms"]
    lines = _count_lines(output)
    parts.append(f"{lines} line{'' if lines == 1 else 's'}")
    if truncated:
        parts.append("truncated")
    return " · ".join(parts)


def finding_text(finding: dict[str, Any]) -> str:
    fid = finding.get("id", "")
    summary = finding.get("summary") or f"{finding.get('component', '?')}: {finding.get('signal', '')}"
    return " ".join(part for part in ("◆", fid, summary) if part)


def approval_text(tool: str, approved: bool) -> str:
    return f"approval for {tool}: {'granted' if approved else 'denied'}"


def memory_text(memory_id: str, summary: str, similarity: float) -> str:
    return f"Recalled from memory: {memory_id} (similarity {similarity:.2f}): {summary}"


def saved_text(memory_id: str, where: str) -> str:
    return f"Diagnosis saved to memory as {memory_id} ({where})"


def limit_text(steps: int, reason: str) -> str:
    return f"Stopped after {steps} steps: {reason}. Raise the step limit or narrow the question."


def failed_text(error: str) -> str:
    return f"Error: {error}"


CANCELLED_TEXT = "Investigation cancelled."


def run_started_text(session_id: str, model: str, max_steps: int, data: str = "", zone: str = "") -> str:
    text = f"session {session_id} · {model} · up to {max_steps} steps"
    text += f"\ndata: {data}" if data else ""
    return text + (f"{' · ' if data else chr(10)}times in {zone}" if zone else "")


def format_tokens(n: int) -> str:
    return f"{n:,} tokens"


def format_elapsed(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


# ---------------------------------------------------------------- status line


@dataclass
class RunStatus:
    """What the status line shows: model or offline, step n/max, tokens, elapsed, state."""

    model: str
    max_steps: int
    step: int = 0
    tokens: int = 0
    started: float | None = None
    ended: float | None = None
    state: str = "idle"  # idle | running | answered | stopped | failed | cancelled
    data: str = ""  # what the run reads: "bundled demo (...)", "Prometheus at ..."

    def begin(self, now: float) -> None:
        self.step, self.tokens, self.started, self.ended, self.state = 0, 0, now, None, "running"

    def finish(self, state: str, now: float) -> None:
        if self.state == "running" or state == "cancelled":
            self.state = state
        if self.ended is None:
            self.ended = now

    def apply(self, event: Event, now: float) -> None:
        match event:
            case RunStarted(model=model, max_steps=n, data=data):
                if self.state != "running":  # a front end may have started the clock when asked
                    self.begin(now)
                self.model, self.max_steps = model, n
                self.data = data or self.data
            case Thought(step=step) | ThoughtDelta(step=step) | ActionProposed(step=step) | Observation(step=step):
                self.step = max(self.step, step)
            case Usage(total_tokens=total):
                self.tokens += total
            case FinalAnswer(steps=steps):
                self.step = max(self.step, steps)
                self.finish("answered", now)
            case StepLimitReached():
                self.finish("stopped", now)
            case RunFailed():
                self.finish("failed", now)
            case _:
                pass

    def elapsed(self, now: float) -> float:
        if self.started is None:
            return 0.0
        return (self.ended if self.ended is not None else now) - self.started

    def text(self, now: float) -> str:
        parts = [self.model, f"step {self.step}/{self.max_steps}", format_tokens(self.tokens)]
        parts.append(format_elapsed(self.elapsed(now)))
        if self.data:
            parts.append(short_data_label(self.data))
        parts.append(self.state)
        return " · ".join(parts)


def short_data_label(label: str, limit: int = 48) -> str:
    """The data label for a one-line status: 'bundled demo' stays readable in a narrow terminal."""
    if label.startswith("bundled demo"):
        return "bundled demo"
    return label if len(label) <= limit else label[: limit - 1] + "…"


# ---------------------------------------------------------------- the REPL renderer


def wants_color(stream: TextIO, env: dict[str, str] | None = None) -> bool:
    """Colour only on a real terminal, and never with NO_COLOR or TERM=dumb."""
    env = dict(os.environ if env is None else env)
    if env.get("NO_COLOR") or env.get("TERM", "") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def plain_markdown(markdown: str) -> str:
    from copilot.cli import plain_text

    return plain_text(markdown)


def _indent(text: str, prefix: str = "    ", limit: int = OBSERVATION_PREVIEW_LINES) -> str:
    lines = text.splitlines() or [""]
    if len(lines) > limit:
        lines = lines[:limit] + [f"… ({len(lines) - limit} more lines)"]
    return "\n".join(prefix + line for line in lines)


class Renderer:
    """Prints the event stream for the REPL; `color=False` writes plain text only.

    Thought deltas stream into one line. A streamed answer is shown live: as raw text
    when plain, or as a transient rich Markdown view replaced by the final rendering.
    """

    def __init__(self, stream: TextIO, color: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.color = color
        self.clock = clock
        self.status = RunStatus("offline", 0)
        self._console: Any = None
        self._partial = False  # the last write left a line open
        self._thought_step: int | None = None  # the step whose thought is streaming
        self._answer = ""  # answer text streamed so far
        self._live: Any = None
        if color:
            from rich.console import Console

            self._console = Console(file=stream, force_terminal=True, highlight=False)

    # low-level output
    def _write(self, text: str, style: str = "") -> None:
        if not text:
            return
        text = sanitize_terminal(text)  # data from telemetry: no raw control characters
        if self._console is not None:
            from rich.text import Text

            self._console.print(Text(text, style=style), end="")
        else:
            self.stream.write(text)
        self.stream.flush()
        self._partial = not text.endswith("\n")

    def end_line(self) -> None:
        """Close a line left open by streamed text."""
        self._thought_step = None
        if self._partial:
            self._write("\n")

    def line(self, text: str = "", style: str = "") -> None:
        self.end_line()
        self._write(text + "\n", style)

    def markdown(self, text: str) -> None:
        if self._console is not None:
            from rich.markdown import Markdown

            self.line()
            self._console.print(Markdown(sanitize_terminal(text)))
        else:
            self.line()
            self.line(plain_markdown(text).rstrip("\n"))

    # events
    def handle(self, event: Event) -> None:
        self.status.apply(event, self.clock())
        match event:
            case RunStarted(session_id=sid, model=model, max_steps=n, data=data, timezone=zone):
                self._answer = ""
                self._data = event.data
                self.line(run_started_text(sid, model, n, data, zone), "dim")
            case MemoryRecalled(memory_id=mid, summary=summary, similarity=sim):
                self.line(memory_text(mid, summary, sim), "magenta")
            case ThoughtDelta(step=step, text=text):
                self._thought_delta(step, text)
            case Thought(step=step, text=text, agent=agent):
                self._thought(step, text, agent)
            case ActionProposed(tool=tool, arguments=args):
                self.line("  " + action_text(tool, args), "bold cyan")
            case ApprovalRequested(tool=tool, approved=ok):
                self.line("  " + approval_text(tool, ok), "green" if ok else "yellow")
            case Observation(tool=tool, status=status, output=output, truncated=cut, elapsed_ms=ms):
                self._observation(tool, status, output, cut, ms)
            case FindingReported(finding=finding):
                self.line("  " + finding_text(finding) + self._spark(finding), "bold yellow")
            case AnswerDelta(text=text):
                self._answer_delta(text)
            case FinalAnswer(answer=answer):
                self._final(answer)
            case DiagnosisSaved(memory_id=mid, where=where):
                self.line(saved_text(mid, where), "dim")
            case StepLimitReached(steps=n, reason=reason):
                self._stop_live()
                self.line(limit_text(n, reason), "yellow")
            case RunFailed(error=error):
                self._stop_live()
                self.line(failed_text(error), "bold red")
            case _:
                pass

    def _thought_delta(self, step: int, text: str) -> None:
        """Streamed thought: the step's title once, then the text as it comes."""
        if self._thought_step != step:
            self.end_line()
            self._write(f"{step_title(step)}  ", "bold")
            self._thought_step = step
        self._write(text, "italic")

    def _thought(self, step: int, text: str, agent: str) -> None:
        """The whole thought: after its streamed text only the agent is added."""
        if self._thought_step == step:
            self._write(f"  ({agent})", "dim")
            self.end_line()
        else:
            self.line(f"{step_title(step, agent)}  {text}", "italic")

    def _observation(self, tool: str, status: str, output: str, cut: bool, ms: float) -> None:
        style = "dim" if status == "ok" else "yellow"
        self.line("  " + observation_summary(tool, status, ms, output, cut), style)
        if output.strip():
            self.line(_indent(output), "dim")

    def _spark(self, finding: dict[str, Any]) -> str:
        """A sparkline of the finding's series (ASCII when plain), when the run's data is a directory."""
        if finding.get("source") != "metrics":
            return ""
        from copilot.charts import finding_sparklines, load_telemetry

        line = finding_sparklines([finding], load_telemetry(getattr(self, "_data", "")), plain=not self.color)
        return f"  {line[finding['id']]}" if finding.get("id") in line else ""

    def _answer_delta(self, text: str) -> None:
        first = not self._answer
        self._answer += text
        if self._console is None:
            if first:
                self.line()
            self._write(text)
            return
        from rich.markdown import Markdown

        if self._live is None:
            from rich.live import Live

            self._live = Live(Markdown(sanitize_terminal(self._answer)), console=self._console, transient=True, auto_refresh=False)
            self._live.start()
        self._live.update(Markdown(sanitize_terminal(self._answer)), refresh=True)

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _final(self, answer: str) -> None:
        streamed, self._answer = self._answer, ""
        self._stop_live()
        if self._console is None and streamed and answer.startswith(streamed):
            self._write(answer[len(streamed):])
            self.end_line()
            return
        self.markdown(answer)

    def cancelled(self) -> None:
        self._stop_live()
        self.status.finish("cancelled", self.clock())
        self.line(CANCELLED_TEXT, "yellow")

    def failed(self, error: str) -> None:
        """A failure outside the event stream (e.g. a --data directory that is missing)."""
        now = self.clock()
        self.status.begin(now)
        self.status.finish("failed", now)
        self.line(failed_text(error), "bold red")

    def summary(self) -> None:
        """The status line once a run is over (nothing when no run started)."""
        if self.status.started is not None:
            self.line(self.status.text(self.clock()), "dim")
