"""The memory protocol the agent loop uses: recall similar diagnoses, save new ones.

The LanceDB-backed implementation lives with the knowledge base; the loop only knows
this protocol, so a run without memory (or with memory disabled) works the same way.
"""

from __future__ import annotations

from typing import Any, Protocol

from .diagnosis import Diagnosis, Finding


class Memory(Protocol):
    def recall(self, question: str, findings: list[Finding] | None = None, k: int = 3) -> list[dict[str, Any]]:
        """Past diagnoses similar to this question (and these findings, when given):
        dicts with `id`, `summary`, `similarity` (0..1) and `diagnosis` (a dict)."""
        ...

    def save(self, diagnosis: Diagnosis) -> str:
        """Store a finished diagnosis; return its memory id."""
        ...

    @property
    def location(self) -> str: ...
