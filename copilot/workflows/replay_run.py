"""Replay a recorded workflow run (run history) with the team's current items, workflow,
prompts and knowledge: the same workflow, parameters and window, run again, its outcome set
beside the original's (copilot/replay.py compares the two).

The original outcome comes from the recorded steps: its findings are the steps' findings;
its root causes are the model step's recorded output, or, for a workflow without a model
step, the rule ranking over those recorded findings (what the run itself did).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import CopilotError
from ..language import detect_language
from ..replay import Outcome


@dataclass
class RecordedRun:
    run_id: str
    workflow: str
    params: dict[str, Any]
    window: tuple[float, float]
    question: str
    outcome: Outcome


def recorded_run(history: Any, run_id: str) -> RecordedRun:
    from ..diagnosis import Finding
    from .model_step import retrieve_experiences, rule_causes

    steps = history.steps(run_id)
    if not steps:
        raise CopilotError(f"run {run_id} has no recorded steps to replay")
    first = steps[0]
    given = first["input"] if isinstance(first["input"], dict) else {}
    window = given.get("window") or []
    if len(window) != 2:
        raise CopilotError(f"run {first['run_id']} did not record its window; it cannot be replayed")
    findings = [Finding.from_dict(f) for s in steps if s["kind"] in ("item", "rules", "tool")
                for f in (s["output"] if isinstance(s["output"], list) else []) if isinstance(f, dict) and "summary" in f]
    model = [s for s in steps if s["kind"] == "model" and isinstance(s["output"], list)]
    if model:
        causes = [c for c in model[-1]["output"] if isinstance(c, dict)]
    else:
        text = " ".join([first["workflow"]] + [f.summary for f in findings])
        language = detect_language(first["question"] or text)
        causes = [c.to_dict() for c in rule_causes(findings, retrieve_experiences(text, language), language)]
    label = f"workflow {first['workflow']}"
    outcome = Outcome(first["run_id"], first["question"] or label, label, (float(window[0]), float(window[1])),
                      causes, len(findings))
    return RecordedRun(first["run_id"], first["workflow"], dict(given.get("params") or {}),
                       (float(window[0]), float(window[1])), first["question"], outcome)


async def replay_run(run: RecordedRun, settings: Any, data_dir: Any = None) -> tuple[Outcome, list[Any]]:
    """Run the workflow again (not recorded: the history keeps what really ran)."""
    from ..events import FinalAnswer, RunFailed
    from .loader import load_workflows
    from .run import run_workflow
    from copilot.plugins.items.catalog import load_catalog

    catalog = load_catalog(settings)
    workflows = load_workflows(settings, catalog)
    if run.workflow not in workflows:
        raise CopilotError(f"run {run.run_id} ran workflow {run.workflow!r}, which no longer exists; "
                           f"known workflows: {', '.join(sorted(workflows)) or 'none'}")
    events: list[Any] = []
    final: dict[str, Any] | None = None
    language = detect_language(run.question or workflows[run.workflow].description)
    async for event in run_workflow(workflows[run.workflow], run.params, settings=settings, catalog=catalog,
                                    window=run.window, question=run.question, language=language,
                                    data_dir=data_dir, on_finish=lambda r: None):
        events.append(event)
        if isinstance(event, FinalAnswer):
            final = event.diagnosis or {}
        elif isinstance(event, RunFailed):
            raise CopilotError(f"the replay failed: {event.error}")
    if final is None:
        raise CopilotError("the replay reached no conclusion")
    label = f"workflow {run.workflow}"
    again = Outcome(str(final.get("workflow", {}).get("run_id", "")), run.question or label, label, run.window,
                    list(final.get("root_causes") or []), len(final.get("findings") or []))
    return again, events
