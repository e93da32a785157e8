"""Draft a workflow from an SOP (runbook Markdown), offline: each step of the SOP (its
list items) is matched by word search against the existing items (name, description,
meaning, examples); matched steps become workflow steps, a model step closes it, and the
steps that no item covers are listed. The draft is validated before it is shown."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CopilotError
from .match import words

MIN_OVERLAP = 2


@dataclass
class Draft:
    name: str
    text: str  # the workflow YAML
    mapped: list[tuple[str, str]] = field(default_factory=list)  # (SOP step, item)
    unmapped: list[str] = field(default_factory=list)


def sop_steps(markdown: str) -> tuple[str, list[str]]:
    """(title, steps): list items and numbered lines, front matter skipped."""
    text = re.sub(r"\A---\n.*?\n---\n", "", markdown, flags=re.S)
    title = next((m.group(1).strip() for m in re.finditer(r"^#\s+(.+)$", text, re.M)), "")
    steps = [m.group(1).strip() for m in re.finditer(r"^\s*(?:[-*+]|\d+[.)])\s+(.+)$", text, re.M)]
    return title, [s for s in steps if len(s) > 3]


def _item_words(item: Any) -> set[str]:
    parts = [item.name.replace("_", " "), item.description, item.result, " ".join(item.examples)]
    for attr in ("meaning_up", "meaning_down", "drilldown"):
        parts.append(str(getattr(item, attr, "") or ""))
    return words(" ".join(parts))


def draft_workflow(path: Path, catalog: Any) -> Draft:
    import yaml

    from .loader import parse_workflow
    from .yamlspec import parse_spec

    try:
        markdown = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CopilotError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    title, steps = sop_steps(markdown)
    if not steps:
        raise CopilotError(f"{path}: no steps found; write the SOP's steps as a Markdown list (- step)")
    candidates = {name: _item_words(item) for name, item in catalog.items.items()}
    draft = Draft(re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "drafted", "")
    chosen: list[str] = []
    for step in steps:
        said = words(step)
        scored = sorted(((len(said & w), name) for name, w in candidates.items()), reverse=True)
        if scored and scored[0][0] >= MIN_OVERLAP:
            draft.mapped.append((step, scored[0][1]))
            if scored[0][1] not in chosen:
                chosen.append(scored[0][1])
        else:
            draft.unmapped.append(step)
    params: dict[str, Any] = {}
    for name in chosen:
        for pname, p in catalog.items[name].params.items():
            if p.required and p.default is None:
                params.setdefault(pname, {"type": p.type, "required": True})
    body = {
        "name": draft.name,
        "description": f"{title or draft.name} (drafted from {path.name})",
        "params": params or None,
        "steps": [{"id": f"{name}_{i}", ("rules" if catalog.items[name].kind == "rules" else "item"): name}
                  for i, name in enumerate(chosen)] + [{"id": "infer", "model": True}],
    }
    if body["params"] is None:
        del body["params"]
    text = yaml.safe_dump(body, allow_unicode=True, sort_keys=False)
    notes = [f"# Drafted offline from {path}: review before use."]
    notes += [f"#   mapped: {step[:70]} -> {item}" for step, item in draft.mapped]
    notes += [f"#   NOT MAPPED (no item covers it): {step[:90]}" for step in draft.unmapped]
    draft.text = "\n".join(notes) + "\n" + text
    parse_workflow(parse_spec(draft.text, f"<draft of {path.name}>"), catalog)  # a draft that does not validate is a bug
    return draft
