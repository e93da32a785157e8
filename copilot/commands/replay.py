"""`copilot replay ID [--prompts DIR] [--kb URI] [--data DIR]`: re-run a past investigation
(a session id) or a workflow run (a run id from `copilot runs list`) with edited prompts,
items, workflows or another knowledge base, and print the outcome beside the original
(copilot/replay.py, copilot/workflows/replay_run.py)."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("replay", help="re-run a past investigation or workflow run with edited prompts or knowledge; "
                       "compare outcomes")
    p.add_argument("session_id", metavar="ID", help="session id (`copilot sessions list`) or workflow run id "
                   "(`copilot runs list`); a unique prefix is enough")
    p.add_argument("--prompts", default="", metavar="DIR",
                   help="prompt override folder (files named like copilot/prompts/*.md)")
    p.add_argument("--kb", default="", metavar="URI", help="another knowledge base (LanceDB URI) to consult")
    p.add_argument("--data", default="", metavar="DIR", help="read this folder instead of the run's own data")
    p.add_argument("--offline", action="store_true", help="replay with the rules only")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=_replay)


def _replay(args: argparse.Namespace) -> int:
    import asyncio

    from copilot.config import load_settings
    from copilot.errors import CopilotError
    from copilot.replay import original_investigation, prompts_folder, replay_investigation, replay_settings
    from copilot.sessions.store import SessionStore

    base = load_settings({"offline": True} if args.offline else {})
    try:
        original = original_investigation(SessionStore(base.sessions_path()), args.session_id)
    except CopilotError as not_session:
        return _replay_run(args, base, not_session)
    settings = replay_settings(base, original, data=args.data, kb_uri=args.kb)
    with prompts_folder(args.prompts) as replaced:
        again, _ = asyncio.run(replay_investigation(original, settings))
    return _show(args, original, again, replaced, settings, f"session {original.session_id}",
                 f"the replay is session {again.session_id}")


def _replay_run(args: argparse.Namespace, base, not_session) -> int:
    """The id is no session: a workflow run from the run history, or neither (one line)."""
    import asyncio
    from dataclasses import replace
    from pathlib import Path

    from copilot.errors import CopilotError
    from copilot.replay import prompts_folder
    from copilot.workflows.history import RunHistory
    from copilot.workflows.replay_run import recorded_run, replay_run

    history = RunHistory()
    try:
        history.resolve(args.session_id)
    except CopilotError:
        raise CopilotError(f"{not_session}; nor is {args.session_id!r} a workflow run (`copilot runs list`)") from None
    run = recorded_run(history, args.session_id)
    settings = replace(base, memory=False, **({"kb_uri": args.kb} if args.kb else {}))
    data_dir = None
    if args.data:
        if not Path(args.data).expanduser().is_dir():
            raise CopilotError(f"--data {args.data}: no such directory")
        settings = replace(settings, data=args.data)
        data_dir = Path(args.data).expanduser()
    with prompts_folder(args.prompts) as replaced:
        again, _ = asyncio.run(replay_run(run, settings, data_dir))
    params = ", ".join(f"{k}={v}" for k, v in run.params.items())
    return _show(args, run.outcome, again, replaced, settings, f"workflow run {run.run_id} ({run.workflow}: {params})",
                 "the replay is not recorded in the run history")


def _show(args: argparse.Namespace, original, again, replaced, settings, what: str, tail: str) -> int:
    from copilot.replay import differences

    changed = differences(original, again)
    if args.format == "json":
        print(json.dumps({"original": original.to_dict(), "replay": again.to_dict(), "prompts_replaced": replaced,
                          "kb": settings.kb_location(), "memory": False, "changed": changed},
                         ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"replay of {what}: {original.question}")
    print(f"data: {again.data}")
    print(f"prompts: {', '.join(replaced) + ' overridden' if replaced else 'bundled'} · knowledge: "
          f"{settings.kb_location()} · memory off (a replay neither recalls nor saves)")
    rows = [("root cause 1", original.cause(0), again.cause(0)), ("root cause 2", original.cause(1), again.cause(1)),
            ("root cause 3", original.cause(2), again.cause(2)),
            ("verdict", original.verdict or "—", again.verdict or "—"),
            ("findings", str(original.findings), str(again.findings))]
    width = max(len(r[1]) for r in rows) + 2
    print(f"\n{'':<14}{'original':<{width}}replay")
    for name, a, b in rows:
        print(f"{name:<14}{a:<{width}}{b}")
    print("\n" + ("changed: " + "; ".join(changed) if changed else "same outcome"))
    print(tail)
    return 0
