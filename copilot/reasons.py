"""A root cause's reasons as codes with values, rendered in English and Chinese.

The ranking, the platform and database plugins, reflection, the team brain and label
learning say why they named a cause with `reason(code, **values)`. The result is a `Reason`:
a `str` (its English sentence, so `RootCause.reasons` stays a list of sentences in the JSON
output) that keeps its code and values, so a Chinese report renders the same facts from the
code (copilot/phrases/reasons.py holds both languages' templates) instead of reading the
English back. `RootCause.to_dict` adds `reason_codes` beside `reasons`; `from_dict` restores
them, so a stored or replayed diagnosis renders in either language as well.

A plain `str` among the reasons is text nothing here wrote (a model's sentence, a workflow's
note): it is shown as it is.
"""

from __future__ import annotations

from typing import Any, Mapping


class Reason(str):
    """One reason: its English sentence, with the code and values it was rendered from."""

    code: str
    values: dict[str, Any]

    def __new__(cls, code: str, values: Mapping[str, Any]) -> "Reason":
        from .phrases.reasons import render

        obj = super().__new__(cls, render(code, values, "en"))
        obj.code = code
        obj.values = dict(values)
        return obj

    def __reduce__(self) -> tuple[Any, ...]:  # pickle / deepcopy keep the code
        return (Reason, (self.code, self.values))

    def render(self, lang: str) -> str:
        from .phrases.reasons import render

        return render(self.code, self.values, lang)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "values": dict(self.values)}


def reason(code: str, **values: Any) -> Reason:
    """A reason from its code (a key of copilot/phrases/reasons.py `REASONS`) and values."""
    return Reason(code, values)


def cited(finding_id: str, summary: str) -> Reason:
    """A finding cited as a reason: its sentence and its id."""
    return Reason("finding", {"id": finding_id, "summary": summary})


def codes_of(reasons: list[str]) -> list[dict[str, Any] | None]:
    """`reason_codes` for the JSON output: one entry per reason, None for free text."""
    return [r.to_dict() if isinstance(r, Reason) else None for r in reasons]


def with_codes(reasons: list[Any], codes: list[Any] | None) -> list[str]:
    """Reasons read back from JSON, their codes restored where they were stored."""
    out: list[str] = []
    for i, text in enumerate(reasons):
        code = codes[i] if codes and i < len(codes) else None
        if isinstance(code, dict) and isinstance(code.get("code"), str) and isinstance(code.get("values"), dict):
            try:
                out.append(Reason(code["code"], code["values"]))
                continue
            except (KeyError, ValueError, TypeError):
                pass  # a code this version does not know: keep the stored sentence
        out.append(str(text))
    return out
