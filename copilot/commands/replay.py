"""`copilot replay SESSION_ID [--prompts DIR] [--kb URI] [--data DIR]`: re-run a past
investigation with edited prompts or another knowledge base and print the outcome beside
the original (copilot/replay.py)."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("replay", help="re-run a past investigation with edited prompts or knowledge; compare outcomes")
    p.add_argument("session_id", help="session id (a unique prefix is enough; see `copilot sessions list`)")
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
    from copilot.replay import differences, original_investigation, prompts_folder, replay_investigation, replay_settings
    from sessions.store import SessionStore

    base = load_settings({"offline": True} if args.offline else {})
    original = original_investigation(SessionStore(base.sessions_path()), args.session_id)
    settings = replay_settings(base, original, data=args.data, kb_uri=args.kb)
    with prompts_folder(args.prompts) as replaced:
        again, _ = asyncio.run(replay_investigation(original, settings))
    changed = differences(original, again)
    if args.format == "json":
        print(json.dumps({"original": original.to_dict(), "replay": again.to_dict(), "prompts_replaced": replaced,
                          "kb": settings.kb_location(), "memory": False, "changed": changed},
                         ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"replay of session {original.session_id}: {original.question}")
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
    print(f"the replay is session {again.session_id}")
    return 0
