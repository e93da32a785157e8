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


def find_match(question: str, settings: Any) -> tuple[WorkflowMatch | None, Any, str]:
    """(match, catalog, problem): problem is one line when the team's files do not load."""
    from ..language import detect_language
    from ..timezones import local_zone
    from .loader import load_workflows

    language = settings.language if getattr(settings, "language", "auto") in ("en", "zh") else detect_language(question)
    try:
        from plugins.items.catalog import load_catalog

        catalog = load_catalog(settings)
        workflows = load_workflows(settings, catalog)
    except CopilotError as exc:
        return None, None, str(exc)
    if not workflows:
        return None, catalog, ""
    match = match_workflow(question, workflows, language, reference=datetime.now(local_zone(settings)))
    return match, catalog, ""


async def workflow_events(question: str, settings: Any, *, session_id: str = "",
                          data_dir: Callable[[], Any] | None = None,
                          on_finish: Callable[[Any], None] | None = None) -> AsyncIterator[Event]:
    """The matched workflow's events, or nothing at all when no workflow matches."""
    from .run import run_workflow

    match, catalog, problem = find_match(question, settings)
    if problem:
        yield Thought(0, f"Team workflows were not loaded: {problem}", agent="host")
        return
    if match is None:
        return
    if on_finish is None:
        from .history import recorder

        on_finish = recorder(settings, question)
    tool_data = data_dir() if data_dir is not None and any(s.kind == "tool" for s in match.workflow.steps) else None
    async for event in run_workflow(match.workflow, match.params, settings=settings, catalog=catalog,
                                    window=match.window, question=question, language=match.language,
                                    session_id=session_id, data_dir=tool_data, on_finish=on_finish):
        yield event
