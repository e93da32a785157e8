"""What an investigation produces: findings, ranked root causes, and the diagnosis.

Fault kinds have one canonical spelling everywhere (flags, JSON, knowledge, benchmarks).
Kinds may be added, never renamed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .evidence import Details, Evidence, OtherEvidence, evidence_from_dict

FAULT_KINDS: tuple[str, ...] = (
    "cpu_saturation",
    "memory_leak",
    "disk_full",
    "network_delay",
    "network_loss",
    "traffic_surge",
    "jvm_gc",
    "code_exception",
    "unknown",
)

SIGNAL_SOURCES: tuple[str, ...] = ("metrics", "logs", "traces", "changes", "alerts")


def check_fault_kind(kind: str) -> str:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of: {', '.join(FAULT_KINDS)}")
    return kind


@dataclass
class Finding:
    """What one detector saw: structured fields plus one plain sentence with numbers.

    `id` is stable within a run ("M1", "L2", "T3", "C1") so claims can link to it.
    `onset` is a unix timestamp in seconds (None when the detector cannot tell).
    `score` is the anomaly strength in robust sigmas (or an equivalent scale).
    `details` is the evidence as data, one class per kind (copilot/evidence.py); a plain
    dict (a third-party plugin's, an old memory record's) becomes the class of `source`.
    """

    id: str
    source: str  # metrics | logs | traces | changes | alerts
    component: str
    signal: str  # metric name, log template, call edge "caller->callee", change id
    kind: str  # e.g. spike, drop, level_shift, trend, new_template, error_surge, latency, errors, lost_spans, deploy
    summary: str
    score: float = 0.0
    onset: float | None = None
    details: Details = field(default_factory=OtherEvidence)

    def __post_init__(self) -> None:
        given: Any = self.details
        if not isinstance(given, Evidence):  # a plain dict (or None)
            self.details = evidence_from_dict(self.source, given)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["details"] = self.details.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Finding":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


SIGNIFICANT_RATIO = 0.2


def significant(findings: list[Finding], ratio: float = SIGNIFICANT_RATIO) -> list[Finding]:
    """Findings strong enough to date an incident by: at least `ratio` of the strongest
    finding of the same source (scores are comparable within a source, not across)."""
    strongest: dict[str, float] = {}
    for f in findings:
        strongest[f.source] = max(strongest.get(f.source, 0.0), f.score)
    return [f for f in findings if f.score >= ratio * strongest.get(f.source, 0.0)]


@dataclass
class RootCause:
    component: str
    fault_type: str  # canonical fault kind
    confidence: float  # 0..1
    evidence: list[str] = field(default_factory=list)  # finding ids / tool call ids
    reasons: list[str] = field(default_factory=list)  # plain sentences
    category: str = ""  # the fault kind's category (copilot/kinds.py); filled from the kind when empty
    experience: str = ""  # the expert experience this diagnosis matched (a knowledge-base id), if any

    def __post_init__(self) -> None:
        if not self.category:
            from .kinds import category_of

            self.category = category_of(self.fault_type)

    def to_dict(self) -> dict[str, Any]:
        from .reasons import codes_of

        out = asdict(self)
        out["reasons"] = [str(r) for r in self.reasons]
        out["reason_codes"] = codes_of(self.reasons)  # an addition: what each reason says, as data
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RootCause":
        from .reasons import with_codes

        rc = cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        rc.reasons = with_codes(list(rc.reasons), data.get("reason_codes"))
        return rc


@dataclass
class Diagnosis:
    """The unit memory stores and `--format json` prints."""

    question: str
    answer: str
    root_causes: list[RootCause] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    window: tuple[float, float] | None = None
    mitigation: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    steps: int = 0
    model: str = "offline"
    session_id: str = ""
    verdict: str = ""  # fault | recovered | healthy (copilot/verdict.py); "" for knowledge answers
    verdict_detail: dict[str, Any] = field(default_factory=dict)  # since, reasons, ruled_out
    # Which kinds of signal the data held (metrics, logs, traces, ...); {} when unknown.
    data_held: dict[str, bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.verdict:
            extra = {"verdict": self.verdict, "verdict_since": self.verdict_detail.get("since"),
                     "verdict_reasons": list(self.verdict_detail.get("reasons", [])),
                     "ruled_out": list(self.verdict_detail.get("ruled_out", []))}
        if self.data_held:
            extra["data_held"] = dict(self.data_held)
        return {**extra,
            "question": self.question,
            "answer": self.answer,
            "root_causes": [rc.to_dict() for rc in self.root_causes],
            "findings": [f.to_dict() for f in self.findings],
            "window": list(self.window) if self.window else None,
            "mitigation": list(self.mitigation),
            "report": self.report,
            "steps": self.steps,
            "model": self.model,
            "session_id": self.session_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Diagnosis":
        window = data.get("window")
        return cls(
            question=data.get("question", ""),
            answer=data.get("answer", ""),
            root_causes=[RootCause.from_dict(r) for r in data.get("root_causes", [])],
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
            window=tuple(window) if window else None,
            mitigation=list(data.get("mitigation", [])),
            report=dict(data.get("report", {})),
            steps=int(data.get("steps", 0)),
            model=data.get("model", "offline"),
            session_id=data.get("session_id", ""),
            verdict=str(data.get("verdict") or ""),
            verdict_detail={"since": data.get("verdict_since"), "reasons": list(data.get("verdict_reasons") or []),
                            "ruled_out": list(data.get("ruled_out") or [])} if data.get("verdict") else {},
            data_held={str(k): bool(v) for k, v in (data.get("data_held") or {}).items()},
        )
