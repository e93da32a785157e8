"""The typed event stream every front end consumes.

`Agent.run()` yields these and nothing else; the TUI, the REPL and `--query` render them.
Each event is a frozen dataclass with a `kind` literal and `to_dict()` for JSON lines.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {"kind": self.kind, **data}


@dataclass(frozen=True)
class RunStarted(Event):
    kind: ClassVar[Literal["run_started"]] = "run_started"
    session_id: str
    question: str
    model: str  # model name, or "offline"
    max_steps: int
    data: str = ""
    # What the run reads, saved so `/resume` can restore it: DataSelection.to_dict().
    selection: dict[str, Any] = field(default_factory=dict)
    timezone: str = ""  # the zone every time in the run's texts is printed in ("UTC", "Asia/Shanghai")
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class ThoughtDelta(Event):
    """A fragment of a thought while the model streams it."""

    kind: ClassVar[Literal["thought_delta"]] = "thought_delta"
    step: int
    text: str


@dataclass(frozen=True)
class Thought(Event):
    kind: ClassVar[Literal["thought"]] = "thought"
    step: int
    text: str
    agent: str = "host"  # which role thought it: host, metrics, logs, traces, changes, rca, report


@dataclass(frozen=True)
class ActionProposed(Event):
    kind: ClassVar[Literal["action"]] = "action"
    step: int
    call_id: str
    tool: str
    arguments: dict[str, Any]
    agent: str = "host"


@dataclass(frozen=True)
class ApprovalRequested(Event):
    kind: ClassVar[Literal["approval_requested"]] = "approval_requested"
    step: int
    call_id: str
    tool: str
    arguments: dict[str, Any]
    approved: bool  # the approver's decision, recorded for the transcript


@dataclass(frozen=True)
class Observation(Event):
    kind: ClassVar[Literal["observation"]] = "observation"
    step: int
    call_id: str
    tool: str
    status: str  # ok | error | no_data | denied
    output: str
    truncated: bool = False
    elapsed_ms: float = 0.0


@dataclass(frozen=True)
class FindingReported(Event):
    """A detector's finding (structured + one plain sentence)."""

    kind: ClassVar[Literal["finding"]] = "finding"
    step: int
    finding: dict[str, Any]


@dataclass(frozen=True)
class AnswerDelta(Event):
    kind: ClassVar[Literal["answer_delta"]] = "answer_delta"
    text: str


@dataclass(frozen=True)
class FinalAnswer(Event):
    kind: ClassVar[Literal["final_answer"]] = "final_answer"
    answer: str
    diagnosis: dict[str, Any]
    steps: int


@dataclass(frozen=True)
class DiagnosisSaved(Event):
    kind: ClassVar[Literal["diagnosis_saved"]] = "diagnosis_saved"
    memory_id: str
    where: str


@dataclass(frozen=True)
class MemoryRecalled(Event):
    kind: ClassVar[Literal["memory_recalled"]] = "memory_recalled"
    memory_id: str
    summary: str
    similarity: float


@dataclass(frozen=True)
class StepLimitReached(Event):
    kind: ClassVar[Literal["step_limit"]] = "step_limit"
    steps: int
    reason: str = "step limit"


@dataclass(frozen=True)
class RunFailed(Event):
    kind: ClassVar[Literal["run_failed"]] = "run_failed"
    error: str  # one line that says what to do
    step: int = 0


@dataclass(frozen=True)
class ModelFailed(Event):
    """The model dropped out mid-run; the rules finish it (the answer is the rules' result)."""

    kind: ClassVar[Literal["model_failed"]] = "model_failed"
    error: str  # what the model endpoint said, redacted
    step: int = 0
    fallback: str = "rules"


@dataclass(frozen=True)
class Usage(Event):
    kind: ClassVar[Literal["usage"]] = "usage"
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        RunStarted,
        ThoughtDelta,
        Thought,
        ActionProposed,
        ApprovalRequested,
        Observation,
        FindingReported,
        AnswerDelta,
        FinalAnswer,
        DiagnosisSaved,
        MemoryRecalled,
        StepLimitReached,
        RunFailed,
        ModelFailed,
        Usage,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its JSON-lines form (used by `sessions show` and `/resume`)."""
    cls = EVENT_TYPES.get(data.get("kind", ""))
    if cls is None:
        raise ValueError(f"unknown event kind {data.get('kind')!r}")
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
