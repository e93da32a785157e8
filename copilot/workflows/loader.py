"""Workflow files -> `Workflow`: typed parameters, steps (item, rules, tool, model), `if`,
`foreach`, `needs`. Every reference is checked at load time; a bad file is one line
`FILE:LINE: field: what to fix` and nothing of it is loaded.

    name: cluster-health
    description: 集群健康检查 — check a cluster's health
    examples: [帮我看看集群 c1 的状态, is cluster c1 healthy?]
    params:
      cluster: {type: string, required: true}
    window: 1h                      # how far back when the question names no time
    steps:
      - item: cluster_status        # id defaults to cluster_status_0
      - id: pods
        item: pending_pods
      - id: events
        item: pod_events
        foreach: steps.pods.drilldown
        with: {psm: "${each}"}
        if: len(steps.pods.findings) > 0
      - model: {prompt: prompts/pod-pending.md}   # root-cause inference over the outputs
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import expr
from .params import Param, parse_params
from .yamlspec import NAME, Spec, check_keys, need, parse_duration, placeholders, read_spec

STEP_KINDS = ("item", "rules", "tool", "model")
STEP_FIELDS = STEP_KINDS + ("id", "with", "if", "foreach", "needs", "description")
WORKFLOW_FIELDS = ("name", "description", "examples", "params", "window", "steps", "language")
BUNDLED = Path(__file__).resolve().parents[2] / "kb" / "bundled" / "workflows"


@dataclass
class Step:
    id: str
    kind: str  # item | rules | tool | model
    target: str  # item, rule group or tool name; for model: "" 
    with_: dict[str, Any] = field(default_factory=dict)
    when: ast.Expression | None = None
    when_text: str = ""
    foreach: ast.Expression | None = None
    foreach_text: str = ""
    needs: list[str] = field(default_factory=list)
    prompt: str = ""  # model step: template file (absolute), empty: the bundled one
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, self.kind: self.target or True}
        if self.with_:
            out["with"] = self.with_
        if self.when_text:
            out["if"] = self.when_text
        if self.foreach_text:
            out["foreach"] = self.foreach_text
        if self.needs:
            out["needs"] = self.needs
        return out


@dataclass
class Workflow:
    name: str
    description: str
    params: dict[str, Param]
    steps: list[Step]
    file: str
    examples: list[str] = field(default_factory=list)
    window_s: float = 3600.0
    language: str = ""
    bundled: bool = False  # a bundled example: chat-ops runs it only when the question names it

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "file": self.file, "examples": self.examples,
                "params": {k: p.to_dict() for k, p in self.params.items()}, "window_s": self.window_s,
                "steps": [s.to_dict() for s in self.steps]}


def parse_workflow(spec: Spec, catalog: Any = None, tool_names: set[str] | None = None) -> Workflow:
    data = spec.data
    check_keys(spec, (), data, WORKFLOW_FIELDS)
    name = need(spec, (), data, "name", str, "give the workflow a name such as cluster-health")
    if not NAME.match(name):
        raise spec.fail(("name",), "use letters, digits, _ and -, starting with a letter")
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise spec.fail(("description",), "missing; say what the workflow checks (chat-ops matches questions against it)")
    params = parse_params(spec, ("params",), data.get("params"))
    examples = data.get("examples") or []
    if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
        raise spec.fail(("examples",), "must be a list of example questions")
    window = parse_duration(data.get("window", "1h"))
    if window is None or window <= 0:
        raise spec.fail(("window",), "must be a duration such as 30m or 1h")
    raw_steps = need(spec, (), data, "steps", list, "a list of steps, e.g. [{item: cluster_status}]")
    if not raw_steps:
        raise spec.fail(("steps",), "add at least one step")
    steps: list[Step] = []
    for i, body in enumerate(raw_steps):
        steps.append(_parse_step(spec, i, body, params, steps, catalog, tool_names))
    return Workflow(name, description.strip(), params, steps, spec.file, list(examples), window,
                    str(data.get("language", "")))


def _parse_step(spec: Spec, i: int, body: Any, params: dict[str, Param], earlier: list[Step], catalog: Any,
                tool_names: set[str] | None) -> Step:
    where: tuple[Any, ...] = ("steps", i)
    body = _step_body(spec, where, body)
    kind = _step_kind(spec, where, body)
    target, prompt = _step_target(spec, where, kind, body[kind])
    step_id = _step_id(spec, where, body.get("id") or f"{target or 'model'}_{i}", earlier)
    with_ = _step_with(spec, where, body.get("with") or {}, params)
    earlier_ids = {s.id for s in earlier}
    step = Step(step_id, kind, target, dict(with_), prompt=prompt, description=str(body.get("description", "")))
    _step_conditions(spec, where, body, step, earlier_ids)
    step.needs = _step_needs(spec, where, body.get("needs") or [], earlier_ids)
    if kind in ("item", "rules") and catalog is not None:
        _check_item(spec, where, kind, target, catalog, with_, params)
    if kind == "tool" and tool_names is not None and target not in tool_names:
        raise spec.fail(where + ("tool",), f"no tool named {target!r}; `copilot plugins` lists them")
    return step


def _step_body(spec: Spec, where: tuple[Any, ...], body: Any) -> dict[str, Any]:
    """The step's mapping (a bare name is an item step), its fields checked."""
    if isinstance(body, str):
        body = {"item": body}
    if not isinstance(body, dict):
        raise spec.fail(where, "each step is a mapping such as {item: cluster_status}")
    check_keys(spec, where, body, STEP_FIELDS)
    return body


def _step_kind(spec: Spec, where: tuple[Any, ...], body: dict[str, Any]) -> str:
    kinds = [k for k in STEP_KINDS if k in body]
    if len(kinds) != 1:
        raise spec.fail(where, f"a step has exactly one of: {', '.join(STEP_KINDS)}")
    return kinds[0]


def _step_target(spec: Spec, where: tuple[Any, ...], kind: str, value: Any) -> tuple[str, str]:
    """(what the step runs, its prompt template): a model step runs no named target."""
    if kind == "model":
        return "", _model_prompt(spec, where, value)
    if not isinstance(value, str) or not value:
        raise spec.fail(where + (kind,), f"name the {kind} this step runs")
    return value, ""


def _model_prompt(spec: Spec, where: tuple[Any, ...], value: Any) -> str:
    """The model step's prompt template (absolute path), '' for the bundled one."""
    if value not in (True, None) and not isinstance(value, dict):
        raise spec.fail(where + ("model",), "write model: true, or model: {prompt: FILE}")
    if not isinstance(value, dict):
        return ""
    check_keys(spec, where + ("model",), value, ("prompt",))
    if not value.get("prompt"):
        return ""
    path = (Path(spec.file).parent / str(value["prompt"])).resolve()
    if not path.is_file():
        raise spec.fail(where + ("model", "prompt"), f"no prompt template at {path}; fix the path")
    return str(path)


def _step_id(spec: Spec, where: tuple[Any, ...], step_id: Any, earlier: list[Step]) -> str:
    if not isinstance(step_id, str) or not NAME.match(step_id):
        raise spec.fail(where + ("id",), "use letters, digits, _ and -, starting with a letter")
    if any(s.id == step_id for s in earlier):
        raise spec.fail(where + ("id",), f"another step is already {step_id!r}; ids are unique")
    return step_id


def _step_with(spec: Spec, where: tuple[Any, ...], with_: Any, params: dict[str, Param]) -> dict[str, Any]:
    """The step's arguments; each ${placeholder} names a workflow parameter (or start, end, each)."""
    if not isinstance(with_, dict):
        raise spec.fail(where + ("with",), "must be a mapping of parameter: value")
    for key, val in with_.items():
        for is_env, ph in placeholders(val):
            if not is_env and ph not in params and ph not in ("start", "end", "each"):
                raise spec.fail(where + ("with", key), f"${{{ph}}} is not a workflow parameter; declare it under params")
    return with_


def _step_conditions(spec: Spec, where: tuple[Any, ...], body: dict[str, Any], step: Step,
                     earlier_ids: set[str]) -> None:
    """The step's `if` and `foreach` expressions, parsed onto the step; they may read earlier steps only."""
    for key in ("if", "foreach"):
        if key not in body:
            continue
        try:
            tree = expr.parse(str(body[key]))
        except expr.ExprError as exc:
            raise spec.fail(where + (key,), str(exc)) from None
        for ref in expr.step_refs(tree):
            if ref not in earlier_ids:
                raise spec.fail(where + (key,), f"steps.{ref} is not an earlier step; known: {', '.join(sorted(earlier_ids)) or 'none'}")
        if key == "if":
            step.when, step.when_text = tree, str(body[key])
        else:
            step.foreach, step.foreach_text = tree, str(body[key])


def _step_needs(spec: Spec, where: tuple[Any, ...], needs: Any, earlier_ids: set[str]) -> list[str]:
    if isinstance(needs, str):
        needs = [needs]
    for n in needs:
        if n not in earlier_ids:
            raise spec.fail(where + ("needs",), f"{n!r} is not an earlier step; known: {', '.join(sorted(earlier_ids)) or 'none'}")
    return list(needs)


def _check_item(spec: Spec, where: tuple[Any, ...], kind: str, target: str, catalog: Any, with_: dict[str, Any],
                params: dict[str, Param]) -> None:
    """An item (or rules) step names one in the catalog and gives it every required parameter."""
    item = catalog.items.get(target)
    if item is None or (kind == "rules") != (item.kind == "rules"):
        wanted = "rule group" if kind == "rules" else "item"
        names = sorted(n for n, it in catalog.items.items() if (it.kind == "rules") == (kind == "rules"))
        raise spec.fail(where + (kind,), f"no {wanted} named {target!r}; known: {', '.join(names) or 'none'}")
    for pname, p in item.params.items():
        if p.required and p.default is None and pname not in with_ and pname not in params:
            raise spec.fail(where, f"{kind} {target} needs parameter {pname}; add with: {{{pname}: ...}} or a workflow param {pname}")


def validate_workflow_file(path: Path, catalog: Any = None, tool_names: set[str] | None = None) -> Workflow:
    return parse_workflow(read_spec(path), catalog, tool_names)


def load_workflows(settings: Any, catalog: Any = None, *, bundled: bool = True,
                   tool_names: set[str] | None = None) -> dict[str, Workflow]:
    """Workflows by name: bundled examples, then the user's (which override them)."""
    from copilot.plugins.items.catalog import user_dirs, yaml_files

    out: dict[str, Workflow] = {}
    if bundled:
        for path in yaml_files([BUNDLED]):
            wf = validate_workflow_file(path, catalog, tool_names)
            wf.bundled = True
            out[wf.name] = wf
    seen: dict[str, str] = {}
    for path in yaml_files(user_dirs(settings, "workflows", "workflows_paths")):
        spec = read_spec(path)
        wf = parse_workflow(spec, catalog, tool_names)
        if wf.name in seen:
            raise spec.fail(("name",), f"another workflow is already named {wf.name!r} ({seen[wf.name]}); rename one")
        seen[wf.name] = str(path)
        out[wf.name] = wf
    return out


def user_workflow_names(settings: Any) -> set[str]:
    """Names of workflows the user configured (chat-ops matches these, not the bundled examples)."""
    from copilot.plugins.items.catalog import user_dirs, yaml_files

    names = set()
    for path in yaml_files(user_dirs(settings, "workflows", "workflows_paths")):
        name = read_spec(path).data.get("name")
        if isinstance(name, str):
            names.add(name)
    return names
