"""Plain-text rendering of the event stream, for `--query` traces on stderr and for logs.

No UI library here: the TUI and the REPL have their own renderers in `tui/`.
"""

from __future__ import annotations

import json

from .terminal_text import sanitize_terminal

from .events import (
    ActionProposed,
    ApprovalRequested,
    DiagnosisSaved,
    Event,
    FindingReported,
    MemoryRecalled,
    Observation,
    RunFailed,
    RunStarted,
    StepLimitReached,
    Thought,
    Usage,
)

MAX_OBSERVATION_LINES = 12


def _indent(text: str, prefix: str = "    ") -> str:
    lines = text.splitlines() or [""]
    if len(lines) > MAX_OBSERVATION_LINES:
        lines = lines[:MAX_OBSERVATION_LINES] + [f"... ({len(lines) - MAX_OBSERVATION_LINES} more lines)"]
    return "\n".join(prefix + line for line in lines)


def trace_line(event: Event) -> str | None:
    """One block of plain text for a trace event, or None for events a trace skips;
    control characters from the data are escaped (copilot/terminal_text.py)."""
    line = _trace_line(event)
    return None if line is None else sanitize_terminal(line)


def _trace_line(event: Event) -> str | None:
    match event:
        case RunStarted(session_id=sid, question=q, model=model, max_steps=n, data=data, timezone=zone):
            head = f"» data: {data}" if data else ""
            head += (f"{' · ' if head else '» '}times in {zone}\n" if zone else ("\n" if head else ""))
            return f"{head}» session {sid} · model {model} · up to {n} steps\n» question: {q}"
        case MemoryRecalled(memory_id=mid, summary=summary, similarity=sim):
            return f"Memory: recalled {mid} (similarity {sim:.2f}): {summary}"
        case Thought(step=step, text=text, agent=agent):
            return f"[{step}] Thought ({agent}): {text}"
        case ActionProposed(step=step, tool=tool, arguments=args, agent=agent):
            return f"[{step}] Action ({agent}): {tool} {json.dumps(args, ensure_ascii=False)}"
        case ApprovalRequested(tool=tool, approved=ok):
            return f"    approval for {tool}: {'granted' if ok else 'denied'}"
        case Observation(step=step, tool=tool, status=status, output=output, elapsed_ms=ms):
            return f"[{step}] Observation ({tool}, {status}, {ms:.0f} ms):\n{_indent(output)}"
        case FindingReported():
            return None  # findings are part of the observation text
        case DiagnosisSaved(memory_id=mid, where=where):
            return f"» diagnosis saved to memory as {mid} ({where})"
        case StepLimitReached(steps=n, reason=reason):
            return f"» stopped after {n} steps: {reason}"
        case RunFailed(error=error):
            return f"» error: {error}"
        case Usage(total_tokens=total):
            return None if total == 0 else f"    tokens: {total}"
        case _:
            return None
