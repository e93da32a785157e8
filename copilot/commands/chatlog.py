"""`copilot chatlog FILE`: an incident chat log (Slack export JSON, Lark/Feishu export,
plain text) -> key facts, shown; then the matching team workflow, or an investigation;
then the report."""

from __future__ import annotations

import argparse
import json
import sys

ONSET_PADDING_S = 15 * 60  # start the window before the first symptom, to catch the onset
AFTER_S = 30 * 60  # and end it after the last message


def register(sub) -> None:
    from copilot.cli import add_settings_flags

    p = sub.add_parser("chatlog", help="read an incident chat log: key facts, then the matching workflow or an investigation")
    p.add_argument("file", help="Slack export (JSON file or folder), Lark/Feishu export JSON, or plain text")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--facts-only", action="store_true", help="show the key facts and stop")
    p.add_argument("--quiet", action="store_true", help="no live trace on stderr")
    add_settings_flags(p)
    p.set_defaults(func=_run)


def _facts_text(facts, language: str, tz) -> str:
    from datetime import datetime

    zh = language == "zh"
    start = datetime.fromtimestamp(facts.start, tz).strftime("%Y-%m-%d %H:%M") if facts.start else ("未知" if zh else "unknown")
    rows = [
        ("集群" if zh else "Clusters", ", ".join(facts.clusters) or "-"),
        ("服务" if zh else "Services", ", ".join(facts.services) or "-"),
        ("开始时间" if zh else "Started", start),
    ]
    out = ["关键信息" if zh else "Key facts"] + [f"  {k}: {v}" for k, v in rows]
    for title_zh, title_en, items in (("现象", "Symptoms", facts.symptoms), ("已排除", "Ruled out", facts.ruled_out),
                                      ("已采取的措施", "Actions taken", facts.actions)):
        out.append(f"  {title_zh if zh else title_en}:")
        out += [f"    - {x}" for x in items[:8]] or ["    -"]
    return "\n".join(out)


def _run(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from copilot.approval import DenyAll
    from copilot.cli import plain_text, query_result, settings_from_args
    from copilot.errors import CopilotError
    from copilot.events import FinalAnswer, RunFailed
    from copilot.language import detect_language
    from copilot.session import Session
    from copilot.timezones import local_zone
    from copilot.trace import trace_line
    from copilot.workflows.chatlog import extract_facts, parse_messages

    path = Path(args.file)
    if not path.exists():
        raise CopilotError(f"{args.file}: no such file; pass the exported chat log")
    settings = settings_from_args(args)
    messages = parse_messages(path, local_zone(settings))
    if not messages:
        raise CopilotError(f"{args.file}: no messages found")
    facts = extract_facts(messages)
    language = settings.language if settings.language in ("en", "zh") else detect_language(" ".join(m.text for m in messages))
    if args.format == "text":
        print(_facts_text(facts, language, local_zone(settings)), flush=True)
    if args.facts_only:
        if args.format == "json":
            print(json.dumps({"facts": facts.to_dict()}, ensure_ascii=False, indent=2))
        return 0
    if not facts.symptoms and not facts.clusters and not facts.services:
        raise CopilotError(f"{args.file}: no symptom, cluster or service found in {facts.messages} messages; nothing to investigate")
    question = facts.question(language)
    session = Session(settings, approver=DenyAll())
    final: dict | None = None
    failure = ""

    from copilot.workflows.chatops import find_match
    from copilot.workflows.run import run_workflow

    match, catalog, _ = find_match(question, settings)
    if match is not None and facts.start is not None:
        import time

        last = max((m.at for m in messages if m.at is not None), default=facts.start)
        match.window = (facts.start - ONSET_PADDING_S, min(time.time(), max(last, facts.start) + AFTER_S))

    def events():
        if match is None:
            return session.ask(question)
        return run_workflow(match.workflow, match.params, settings=settings, catalog=catalog, window=match.window,
                            question=question, language=language, session_id=session.id)

    async def consume() -> None:
        nonlocal final, failure
        async for event in events():
            if not args.quiet:
                line = trace_line(event)
                if line:
                    print(line, file=sys.stderr, flush=True)
            if isinstance(event, FinalAnswer):
                final = event.to_dict()
            elif isinstance(event, RunFailed) and final is None:
                failure = event.error

    asyncio.run(consume())
    if final is None:
        raise CopilotError(failure or "the investigation reached no conclusion")
    if args.format == "json":
        result = query_result(question, final, session.id, settings.model_label, final["steps"])
        result["facts"] = facts.to_dict()
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        print()
        print(plain_text(final["answer"]))
    return 0
