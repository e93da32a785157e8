"""`copilot workflows list | show | run NAME --param k=v | validate FILE | draft RUNBOOK`:
the team's diagnosis workflows (YAML under <config dir>/workflows/, the workflows_paths
setting, and bundled examples)."""

from __future__ import annotations

import argparse
import json
import sys

from .items import add_window_flags, window_from_args


def register(sub) -> None:
    p = sub.add_parser("workflows", help="diagnosis workflows: list, show, run, validate, draft")
    s = p.add_subparsers(dest="workflows_command", metavar="ACTION", required=True)
    ls = s.add_parser("list", help="every workflow and where it comes from")
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.set_defaults(func=_list)
    show = s.add_parser("show", help="one workflow's definition")
    show.add_argument("name")
    show.set_defaults(func=_show)
    run = s.add_parser("run", help="run a workflow: findings, root causes and the report")
    run.add_argument("name")
    add_window_flags(run)
    run.add_argument("--offline", action="store_true", default=None, help="no model: the rule ranking stands in")
    run.add_argument("--quiet", action="store_true", help="no live trace on stderr")
    run.add_argument("--language", choices=("en", "zh"), help="the report's language (default: the workflow's or en)")
    run.add_argument("--data", metavar="DIR", help="telemetry directory for tool steps (a recorded incident: the window "
                     "is the data's last hour unless --since/--until say otherwise)")
    run.set_defaults(func=_run)
    val = s.add_parser("validate", help="check a workflow file; exit 1 with FILE:LINE: field: what to fix")
    val.add_argument("file", nargs="+")
    val.set_defaults(func=_validate)
    dr = s.add_parser("draft", help="draft a workflow from an SOP (Markdown): its steps mapped onto existing items")
    dr.add_argument("runbook")
    dr.add_argument("--out", metavar="FILE", help="write the draft here (never overwrites) instead of stdout")
    dr.set_defaults(func=_draft)


def load_all(settings, *, tools: bool = False):
    from copilot.workflows.loader import load_workflows
    from copilot.plugins.items.catalog import load_catalog

    catalog = load_catalog(settings)
    names = None
    if tools:
        from copilot.plugin_manager import load_plugins

        names = set(load_plugins(settings=settings).registry.names())
    return catalog, load_workflows(settings, catalog, tool_names=names)


def _list(args: argparse.Namespace) -> int:
    from copilot.config import load_settings
    from copilot.workflows.loader import BUNDLED

    _, workflows = load_all(load_settings())
    rows = [dict(wf.summary(), bundled=wf.file.startswith(str(BUNDLED))) for _, wf in sorted(workflows.items())]
    if args.format == "json":
        print(json.dumps({"workflows": rows}, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        params = ", ".join(f"{k}{'*' if v['required'] else ''}" for k, v in r["params"].items())
        print(f"{r['name']:<22} {len(r['steps'])} steps  {r['description']}  ({params or 'no params'})"
              f"{'  [bundled]' if r['bundled'] else ''}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from pathlib import Path

    from copilot.config import load_settings
    from copilot.errors import CopilotError

    _, workflows = load_all(load_settings())
    if args.name not in workflows:
        raise CopilotError(f"no workflow named {args.name!r}; known: {', '.join(sorted(workflows)) or 'none'}")
    wf = workflows[args.name]
    print(f"# {wf.file}")
    print(Path(wf.file).read_text(encoding="utf-8").rstrip())
    return 0


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from copilot.cli import plain_text, query_result
    from copilot.config import load_settings
    from copilot.errors import CopilotError
    from copilot.events import FinalAnswer, RunFailed
    from copilot.trace import trace_line
    from copilot.workflows.params import parse_assignments
    from copilot.workflows.run import run_workflow

    settings = load_settings({"offline": args.offline})
    catalog, workflows = load_all(settings, tools=False)
    if args.name not in workflows:
        raise CopilotError(f"no workflow named {args.name!r}; known: {', '.join(sorted(workflows)) or 'none'}")
    wf = workflows[args.name]
    given = parse_assignments(args.param)
    window = window_from_args(args, settings, wf.window_s) if (args.since or args.until) else None
    data_dir = None
    if args.data:
        from copilot.session import resolve_data_dir

        settings.data = args.data
        data_dir = resolve_data_dir(settings)
        if window is None:
            from copilot.plugins.telemetry.files import load_directory

            span = load_directory(data_dir).time_range()
            if span is not None:
                window = (max(span[0], span[1] - wf.window_s), span[1])
    language = args.language or wf.language or "en"
    final: dict | None = None
    failure = ""

    async def consume() -> None:
        nonlocal final, failure
        recorder = _recorder(settings)
        async for event in run_workflow(wf, given, settings=settings, catalog=catalog, window=window,
                                        language=language, data_dir=data_dir, on_finish=recorder):
            if not args.quiet:
                line = trace_line(event)
                if line:
                    print(line, file=sys.stderr, flush=True)
            if isinstance(event, FinalAnswer):
                final = event.to_dict()
            elif isinstance(event, RunFailed):
                failure = event.error

    asyncio.run(consume())
    if failure or final is None:
        raise CopilotError(failure or f"workflow {wf.name} produced no result")
    if args.format == "json":
        result = query_result(f"workflow {wf.name}", final, final["diagnosis"].get("session_id", ""),
                              settings.model_label, final["steps"])
        result["workflow"] = final["diagnosis"]["workflow"]
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        print(plain_text(final["answer"]))
    return 0


def _recorder(settings):
    """Record the run's steps in the run history when it is available."""
    try:
        from copilot.workflows.history import recorder
    except ImportError:
        return None
    return recorder(settings)


def _validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from copilot.config import load_settings
    from copilot.workflows.loader import validate_workflow_file
    from copilot.plugins.items.catalog import load_catalog

    settings = load_settings()
    catalog = load_catalog(settings)
    from copilot.plugin_manager import load_plugins

    tools = set(load_plugins(settings=settings).registry.names())
    for name in args.file:
        wf = validate_workflow_file(Path(name), catalog, tools)
        print(f"{name}: ok (workflow {wf.name}, {len(wf.steps)} steps)")
    return 0


def _draft(args: argparse.Namespace) -> int:
    from pathlib import Path

    from copilot.config import load_settings
    from copilot.errors import CopilotError
    from copilot.workflows.draft import draft_workflow
    from copilot.plugins.items.catalog import load_catalog

    draft = draft_workflow(Path(args.runbook), load_catalog(load_settings()))
    if args.out:
        out = Path(args.out)
        if out.exists():
            raise CopilotError(f"{out} exists; pick another --out or remove it")
        out.write_text(draft.text, encoding="utf-8")
        print(f"wrote {out}: {len(draft.mapped)} steps mapped, {len(draft.unmapped)} not")
    else:
        print(draft.text, end="")
    for step in draft.unmapped:
        print(f"not mapped: {step}", file=sys.stderr)
    return 0
