"""Chat-ops with a model: a workflow's parameters read from the question by structured
output (a JSON schema made from the workflow's typed parameters), then validated: each
value is coerced to its type (int, enum) and must be written in the question, so a value
the model invents is dropped. Offline extraction (match.py) fills what the model left out,
and stands in entirely when the model fails."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import CopilotError
from .loader import Workflow
from .params import Param


@dataclass
class Extraction:
    values: dict[str, Any] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)  # parameter -> why the model's value was dropped
    raw: str = ""  # the model's reply


def param_schema(workflow: Workflow) -> dict[str, Any]:
    """The JSON schema of the workflow's parameters: every one present, null when not given."""
    props: dict[str, Any] = {}
    for name, p in workflow.params.items():
        if p.type == "enum":
            props[name] = {"type": ["string", "null"], "enum": [*p.values, None]}
        else:
            props[name] = {"type": ["integer" if p.type == "int" else "string", "null"]}
        if p.description:
            props[name]["description"] = p.description
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _described(p: Param) -> str:
    kind = f"one of {', '.join(p.values)}" if p.type == "enum" else ("a whole number" if p.type == "int" else "text")
    also = [w for w in p.words() if w != p.name]
    text = f"- {p.name}: {kind}{', required' if p.required else ''}"
    if also:
        text += f" (also called {', '.join(also)})"
    if p.description:
        text += f"; {p.description}"
    return text


def build_prompt(workflow: Workflow, question: str) -> str:
    from ..prompts import load_prompt
    from .model_step import render_prompt

    example = json.dumps({name: None for name in workflow.params}, ensure_ascii=False)
    return render_prompt(load_prompt("workflow_params"), workflow=workflow.name, description=workflow.description,
                         params="\n".join(_described(p) for p in workflow.params.values()) or "(none)",
                         question=question, example=example)


def validate(workflow: Workflow, data: Any, question: str) -> Extraction:
    """The model's values that are real: of the declared parameters, of their type, and
    written in the question (enum values and numbers included)."""
    out = Extraction()
    if not isinstance(data, dict):
        raise CopilotError("the model's reply is not a JSON object of parameters")
    low = question.lower()
    for name, value in data.items():
        p = workflow.params.get(name)
        if p is None or value is None or value == "":
            continue
        try:
            typed = p.coerce(value)
        except CopilotError as exc:
            out.rejected[name] = str(exc)
            continue
        text = str(typed)
        if p.type != "enum" and not re.search(rf"(?<![A-Za-z0-9_]){re.escape(text.lower())}(?![A-Za-z0-9_])", low):
            out.rejected[name] = f"{text!r} is not in the question"
            continue
        out.values[name] = typed
    return out


async def model_params(workflow: Workflow, question: str, settings: Any) -> Extraction:
    """Ask the configured model; raises CopilotError (one line) when it fails or answers no object."""
    from ..brains.team_model import Reply, RoleModel

    if dataclasses.is_dataclass(settings) and not isinstance(settings, type):
        # Structured output always (the client drops response_format when a server rejects it).
        settings = dataclasses.replace(settings, response_format=True)
    reply = None
    async for item in RoleModel(settings).ask(0, "params", [{"role": "user", "content": build_prompt(workflow, question)}],
                                              schema=param_schema(workflow), stream_as="none"):
        if isinstance(item, Reply):
            reply = item
    if reply is None or reply.data is None:
        raise CopilotError(f"the model's parameters could not be read ({reply.problem if reply else 'no reply'})")
    out = validate(workflow, reply.data, question)
    out.raw = reply.text
    return out
