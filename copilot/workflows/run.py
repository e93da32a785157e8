"""The workflow engine: run the steps (concurrently where independent, bounded), apply
`if` and `foreach`, and yield the project's events; the last is a `FinalAnswer` whose
diagnosis carries the standard five-section report and a `workflow` field.

Dependencies: a step waits for the steps its `needs`, `if` and `foreach` name; a model
step waits for every step before it. Everything else starts at once (at most
MAX_CONCURRENCY requests in flight).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

from ..diagnosis import Diagnosis, Finding, RootCause
from ..errors import CopilotError
from ..events import ActionProposed, Event, FinalAnswer, FindingReported, Observation, RunFailed, RunStarted, Thought
from . import expr
from .loader import Step, Workflow
from .params import bind
from .yamlspec import render

MAX_CONCURRENCY = 16
ID_PREFIX = {"metrics": "M", "logs": "L", "traces": "T", "changes": "C", "alerts": "A"}


@dataclass
class StepOutcome:
    id: str
    kind: str
    target: str
    status: str = "ok"  # ok | error | skipped
    input: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    output: list[Any] = field(default_factory=list)
    drilldown: list[str] = field(default_factory=list)
    raw: str = ""
    error: str = ""
    elapsed_ms: float = 0.0

    def scope(self) -> dict[str, Any]:
        return {"status": self.status, "findings": [f.to_dict() for f in self.findings], "output": self.output,
                "drilldown": self.drilldown, "count": len(self.findings), "error": self.error}

    def text(self) -> str:
        if self.status == "skipped":
            return self.error
        if self.status == "error":
            return self.error
        if self.findings:
            return "\n".join(f"[{f.id}] {f.component}: {f.summary}" for f in self.findings)
        return "no problem found" if not self.output else json.dumps(self.output, ensure_ascii=False)[:2000]


@dataclass
class WorkflowRun:
    """What a finished run leaves behind (the CLI prints it; the history records it)."""

    run_id: str
    workflow: str
    params: dict[str, Any]
    window: tuple[float, float]
    outcomes: list[StepOutcome] = field(default_factory=list)
    diagnosis: Diagnosis | None = None


class _Engine:
    def __init__(self, workflow: Workflow, values: dict[str, Any], window: tuple[float, float], *, settings: Any,
                 catalog: Any, language: str, registry: Any, data_dir: Any, session_id: str,
                 concurrency: int) -> None:
        self.wf, self.values, self.window = workflow, values, window
        self.settings, self.catalog, self.language = settings, catalog, language
        self.registry, self.data_dir, self.session_id = registry, data_dir, session_id
        self.sem = asyncio.Semaphore(concurrency)
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.findings: list[Finding] = []
        self.outcomes: dict[str, StepOutcome] = {}
        self.done: dict[str, asyncio.Event] = {s.id: asyncio.Event() for s in workflow.steps}
        self.index = {s.id: i + 1 for i, s in enumerate(workflow.steps)}
        self.model_causes: list[RootCause] | None = None
        self.experiences: list[dict[str, Any]] = []

    def deps(self, step: Step) -> list[str]:
        ids = [s.id for s in self.wf.steps]
        mine = ids.index(step.id)
        if step.kind == "model":
            return ids[:mine]
        out = set(step.needs)
        for tree in (step.when, step.foreach):
            if tree is not None:
                out |= expr.step_refs(tree)
        return [i for i in ids[:mine] if i in out]

    def scope(self, each: Any = None) -> dict[str, Any]:
        return {"steps": {k: o.scope() for k, o in self.outcomes.items()}, "params": dict(self.values), "each": each}

    def add_findings(self, found: list[Finding]) -> list[Finding]:
        for f in found:
            taken = {x.id for x in self.findings}
            if not f.id or f.id in taken:
                prefix = ID_PREFIX.get(f.source, "F")
                n = sum(1 for x in self.findings if x.id.startswith(prefix)) + 1
                while f"{prefix}{n}" in taken:
                    n += 1
                f.id = f"{prefix}{n}"
            self.findings.append(f)
        return found

    async def run_step(self, step: Step) -> None:
        n = self.index[step.id]
        try:
            for dep in self.deps(step):
                await self.done[dep].wait()
            outcome = StepOutcome(step.id, step.kind, step.target)
            if step.when is not None and not expr.evaluate(step.when, self.scope()):
                outcome.status, outcome.error = "skipped", f"skipped: `{step.when_text}` is false"
                self.outcomes[step.id] = outcome
                await self.queue.put(Observation(n, step.id, self.tool_name(step), "no_data", outcome.error))
                return
            if step.kind == "model":
                await self.model_step(step, n, outcome)
                return
            each_values: list[Any] = [None]
            if step.foreach is not None:
                got = expr.evaluate(step.foreach, self.scope())
                each_values = list(got) if isinstance(got, (list, tuple)) else ([] if got in (None, "") else [got])
            started = time.perf_counter()
            results = await asyncio.gather(*(self.run_one(step, n, each) for each in each_values))
            outcome.elapsed_ms = (time.perf_counter() - started) * 1000
            errors = [r.error for r in results if r.status == "error"]
            for r in results:
                outcome.findings += r.findings
                outcome.output += r.output
                outcome.drilldown += [d for d in r.drilldown if d not in outcome.drilldown]
                outcome.raw += r.raw
            outcome.input = results[0].input if len(results) == 1 else {"foreach": [r.input for r in results]}
            if errors and len(errors) == len(results):
                outcome.status, outcome.error = "error", errors[0]
            elif not each_values:
                outcome.status, outcome.error = "skipped", f"skipped: `{step.foreach_text}` is empty"
            self.add_findings(outcome.findings)
            self.outcomes[step.id] = outcome
            status = {"ok": "ok", "error": "error", "skipped": "no_data"}[outcome.status]
            await self.queue.put(Observation(n, step.id, self.tool_name(step), status, outcome.text(),
                                             elapsed_ms=outcome.elapsed_ms))
            for f in outcome.findings:
                await self.queue.put(FindingReported(n, f.to_dict()))
        except CopilotError as exc:
            self.outcomes[step.id] = StepOutcome(step.id, step.kind, step.target, "error", error=str(exc))
            await self.queue.put(Observation(n, step.id, self.tool_name(step), "error", str(exc)))
        finally:
            self.done[step.id].set()

    def tool_name(self, step: Step) -> str:
        return f"{step.kind}:{step.target}" if step.target else step.kind

    def step_args(self, step: Step, each: Any) -> dict[str, Any]:
        base = dict(self.values, each=each, start=f"{self.window[0]:.0f}", end=f"{self.window[1]:.0f}")
        return {k: render(v, base) for k, v in step.with_.items()}

    async def run_one(self, step: Step, n: int, each: Any) -> StepOutcome:
        out = StepOutcome(step.id, step.kind, step.target)
        try:
            args = self.step_args(step, each)
            if step.kind in ("item", "rules"):
                from copilot.plugins.items.catalog import run_item

                item = self.catalog.get(step.target)
                given = {k: v for k, v in self.values.items() if k in item.params}
                given.update(args)
                out.input = given
                await self.queue.put(ActionProposed(n, step.id, self.tool_name(step), given, agent="workflow"))
                async with self.sem:
                    started = time.perf_counter()
                    result = await run_item(item, given, self.window, settings=self.settings, catalog=self.catalog)
                    out.elapsed_ms = (time.perf_counter() - started) * 1000
                out.findings, out.output, out.drilldown, out.raw = result.findings, result.output, result.drilldown, result.raw
            else:
                out.input = args
                await self.queue.put(ActionProposed(n, step.id, step.target, args, agent="workflow"))
                async with self.sem:
                    out.findings, out.output, out.raw = await self.run_tool(step.target, args)
        except CopilotError as exc:
            out.status, out.error = "error", str(exc)
        return out

    async def run_tool(self, name: str, args: dict[str, Any]) -> tuple[list[Finding], list[Any], str]:
        from ..tools import ToolContext

        if self.registry is None:
            from ..plugin_manager import load_plugins

            self.registry = load_plugins(settings=self.settings).registry
        ctx = ToolContext(data_dir=self.data_dir, window=self.window, settings=self.settings,
                          session_id=self.session_id, findings=list(self.findings))
        result = await self.registry.invoke(name, args, ctx)
        if result.status == "error":
            raise CopilotError(result.output)
        return [Finding.from_dict(f.to_dict()) for f in result.findings], [result.output], result.output

    async def model_step(self, step: Step, n: int, outcome: StepOutcome) -> None:
        from .model_step import build_prompt, causes_from_reply, retrieve_experiences, rule_causes

        text = " ".join([self.wf.name, self.wf.description] + [f.summary for f in self.findings])
        self.experiences = retrieve_experiences(text, self.language)
        ranking = rule_causes(self.findings, self.experiences, self.language)
        causes, note = ranking, ""
        use_llm = bool(getattr(self.settings, "use_llm", False))
        if use_llm:
            from ..brains.team_model import Reply, RoleModel

            prompt = build_prompt(self.wf, self.findings, self.experiences, ranking, self.language, step.prompt)
            outcome.input = {"prompt": prompt}
            reply = None
            try:
                async for item in RoleModel(self.settings).ask(n, "rca", [{"role": "user", "content": prompt}],
                                                                schema={"type": "object"}, stream_as="none"):
                    if isinstance(item, Reply):
                        reply = item
            except CopilotError as exc:
                note = f"the model failed ({exc}); the rule ranking stands in"
            if reply is not None:
                outcome.raw = reply.text
                picked = causes_from_reply(reply.data, self.findings)
                causes = picked or ranking
                if not picked:
                    note = "the model's answer cited no real finding; the rule ranking stands in"
        else:
            note = ("没有配置模型：由规则排序代替模型推理步骤" if self.language == "zh"
                    else "no model is configured: the rule ranking stands in for the model step")
        self.model_causes = causes
        outcome.output = [c.to_dict() for c in causes]
        outcome.input = outcome.input or {"findings": [f.id for f in self.findings],
                                          "experiences": [e.get("id") for e in self.experiences]}
        self.outcomes[step.id] = outcome
        head = "; ".join(f"{c.component} / {c.fault_type} ({c.confidence:.2f})" for c in causes) or "no cause"
        await self.queue.put(Thought(n, f"{note + '. ' if note else ''}Root cause inference: {head}", agent="rca"))
        await self.queue.put(Observation(n, step.id, "model", "ok", json.dumps(outcome.output, ensure_ascii=False)))


def echo_line(workflow: Workflow, values: dict[str, Any], window: tuple[float, float], language: str, tz: Any) -> str:
    """The QAProxy-style echo: "I'll run cluster-health for cluster c1, 16:10–17:10"."""
    from ..timeparse import Window

    span = Window(window[0], window[1], "").describe(tz)
    def word(name: str) -> str:
        param = workflow.params.get(name)
        cjk = [w for w in (param.words() if param else []) if re.search(r"[\u4e00-\u9fff]", w)]
        return cjk[0] if language == "zh" and cjk else name

    shown = ", ".join(f"{word(k)} {v}" for k, v in values.items())
    if language == "zh":
        return f"我将运行工作流 {workflow.name}：{shown.replace(', ', '，') or '无参数'}，时间 {span}"
    return f"I'll run {workflow.name}{' for ' + shown if shown else ''}, {span}"


async def run_workflow(
    workflow: Workflow,
    given: dict[str, Any],
    *,
    settings: Any,
    catalog: Any,
    window: tuple[float, float] | None = None,
    question: str = "",
    language: str = "en",
    registry: Any = None,
    data_dir: Any = None,
    session_id: str = "",
    echo: bool = True,
    concurrency: int = MAX_CONCURRENCY,
    on_finish: Callable[[WorkflowRun], None] | None = None,
    note: str = "",
) -> AsyncIterator[Event]:
    """Run a workflow; yield RunStarted, the echo, each step's action/observation/findings,
    the model step's thought, and a FinalAnswer with the report."""
    from ..report import build_report, render_markdown
    from ..timezones import local_zone, zone_label

    run_id = uuid.uuid4().hex[:12]
    session_id = session_id or run_id
    try:
        values = bind(workflow.params, given, f"workflow {workflow.name}")
    except CopilotError as exc:
        yield RunFailed(str(exc))
        return
    if window is None:
        end = time.time()
        window = (end - workflow.window_s, end)
    label = getattr(settings, "model_label", "offline")
    yield RunStarted(session_id, question or f"workflow {workflow.name}", label, len(workflow.steps),
                     data=f"workflow {workflow.name}", timezone=zone_label(settings))
    if echo:
        yield Thought(0, echo_line(workflow, values, window, language, local_zone(settings)), agent="host")
    if note:  # how the parameters were read (chat-ops with a model)
        yield Thought(0, note, agent="host")
    engine = _Engine(workflow, values, window, settings=settings, catalog=catalog, language=language,
                     registry=registry, data_dir=data_dir, session_id=session_id, concurrency=concurrency)

    async def drive() -> None:
        try:
            await asyncio.gather(*(engine.run_step(s) for s in workflow.steps))
        finally:
            await engine.queue.put(None)

    task = asyncio.create_task(drive())
    while (event := await engine.queue.get()) is not None:
        yield event
    await task
    if engine.model_causes is None:  # no model step: the rule ranking decides
        from .model_step import retrieve_experiences, rule_causes

        text = " ".join([workflow.name, workflow.description] + [f.summary for f in engine.findings])
        engine.experiences = retrieve_experiences(text, language)
        causes = rule_causes(engine.findings, engine.experiences, language)
    else:
        causes = engine.model_causes
    diagnosis = Diagnosis(question=question or f"workflow {workflow.name}", answer="", root_causes=causes,
                          findings=list(engine.findings), window=window, model=label, session_id=session_id,
                          steps=len(workflow.steps))
    knowledge = [e for e in engine.experiences if e.get("mitigation")]
    if causes and causes[0].fault_type == "unknown":
        from .model_step import closest_experience

        best = closest_experience(engine.findings, engine.experiences)
        if best is not None:  # the team's experience for this kind of incident gives the action
            knowledge = [dict(best, fault_kind="unknown")]
            causes[0].reasons.append(
                (f"最接近的专家经验：{best.get('id')}（{best.get('fault_name')}）：{best.get('root_cause')}" if language == "zh"
                 else f"closest expert experience: {best.get('id')} ({best.get('fault_name')}): {best.get('root_cause')}"))
    diagnosis.report = build_report(diagnosis, language, knowledge=knowledge)
    diagnosis.answer = render_markdown(diagnosis.report)
    if causes:
        diagnosis.mitigation = [a["text"] for a in diagnosis.report["actions"]["now"]]
    ordered = [engine.outcomes[s.id] for s in workflow.steps if s.id in engine.outcomes]
    run = WorkflowRun(run_id, workflow.name, values, window, ordered, diagnosis)
    if on_finish is not None:
        on_finish(run)
    data = diagnosis.to_dict()
    data["workflow"] = {"name": workflow.name, "params": values, "run_id": run_id, "file": workflow.file,
                        "steps": [{"id": o.id, "kind": o.kind, "target": o.target, "status": o.status,
                                   "findings": [f.id for f in o.findings], "error": o.error} for o in ordered]}
    yield FinalAnswer(diagnosis.answer, data, len(workflow.steps))
