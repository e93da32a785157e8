"""The host's chat-ops door: when a question matches one of the team's workflows, echo
what was understood ("I'll run cluster-health for cluster c1, 16:10–17:10") and run it.

The user's workflows (config dir and `workflows_paths`) match by search; the bundled
examples only when the question names them ("为什么有 pod pending").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, AsyncIterator, Callable

from ..errors import CopilotError
from ..events import Event, Thought
from .match import WorkflowMatch, match_workflow


def find_match(question: str, settings: Any, *, complete_only: bool = True) -> tuple[WorkflowMatch | None, Any, str]:
    """(match, catalog, problem): problem is one line when the team's files do not load."""
    from ..language import detect_language
    from ..timezones import local_zone
    from .loader import load_workflows

    language = settings.language if getattr(settings, "language", "auto") in ("en", "zh") else detect_language(question)
    try:
        from copilot.plugins.items.catalog import load_catalog

        catalog = load_catalog(settings)
        workflows = load_workflows(settings, catalog)
    except CopilotError as exc:
        return None, None, str(exc)
    if not workflows:
        return None, catalog, ""
    match = match_workflow(question, workflows, language, reference=datetime.now(local_zone(settings)),
                           complete_only=complete_only)
    return match, catalog, ""


async def workflow_events(question: str, settings: Any, *, session_id: str = "",
                          data_dir: Callable[[], Any] | None = None,
                          on_finish: Callable[[Any], None] | None = None) -> AsyncIterator[Event]:
    """The matched workflow's events, or nothing at all when no workflow matches."""
    from .run import run_workflow

    use_llm = bool(getattr(settings, "use_llm", False))
    match, catalog, problem = find_match(question, settings, complete_only=not use_llm)
    if problem:
        yield Thought(0, f"Team workflows were not loaded: {problem}", agent="host")
        return
    if match is None:
        return
    note = ""
    if use_llm and match.workflow.params:
        match, note = await _model_params(match, question, settings)
    if not match.complete:
        return
    if on_finish is None:
        from .history import recorder

        on_finish = recorder(settings, question)
    tool_data = data_dir() if data_dir is not None and any(s.kind == "tool" for s in match.workflow.steps) else None
    async for event in run_workflow(match.workflow, match.params, settings=settings, catalog=catalog,
                                    window=match.window, question=question, language=match.language,
                                    session_id=session_id, data_dir=tool_data, on_finish=on_finish, note=note):
        yield event


async def _model_params(match: WorkflowMatch, question: str, settings: Any) -> tuple[WorkflowMatch, str]:
    """The model's structured reading of the parameters over the offline one; (match, what the trace says)."""
    from .extract import model_params

    zh = match.language == "zh"
    try:
        got = await model_params(match.workflow, question, settings)
    except CopilotError as exc:
        return match, (f"模型未能读出参数（{exc}），改用离线解析。" if zh
                       else f"The model could not read the parameters ({exc}); read offline instead.")
    match.params = {**match.params, **got.values}
    wf = match.workflow
    match.complete = all(name in match.params or not p.required or p.default is not None for name, p in wf.params.items())
    shown = ", ".join(f"{k}={v}" for k, v in got.values.items()) or ("无" if zh else "none")
    note = f"参数由模型按结构化输出读出并校验：{shown}。" if zh else f"Parameters read by the model (structured output), validated: {shown}."
    if got.rejected:
        dropped = "; ".join(f"{k}: {why}" for k, why in got.rejected.items())
        note += f" 丢弃：{dropped}。" if zh else f" Dropped: {dropped}."
    return match, note
