"""`copilot chatlog FILE`: an incident chat log (Slack export JSON, Lark/Feishu export,
plain text) -> key facts, shown; then the matching team workflow, or an investigation;
then the report."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

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
    from pathlib import Path

    from copilot.cli import settings_from_args
    from copilot.errors import CopilotError
    from copilot.language import detect_language
    from copilot.timezones import local_zone
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
    final, session_id = _investigate(args, settings, question, messages, facts, language)
    _print_report(args, settings, question, final, session_id, facts)
    return 0


def _investigate(args: argparse.Namespace, settings: Any, question: str, messages: list[Any], facts: Any,
                 language: str) -> tuple[dict[str, Any], str]:
    """The team workflow the question matches, run over the incident's window, or else an
    investigation; (its final answer, the session id)."""
    import asyncio

    from copilot.approval import DenyAll
    from copilot.errors import CopilotError
    from copilot.session import Session
    from copilot.workflows.chatops import find_match
    from copilot.workflows.run import run_workflow

    session = Session(settings, approver=DenyAll())
    match, catalog, _ = find_match(question, settings)
    if match is not None and facts.start is not None:
        match.window = _incident_window(messages, facts.start)

    def events() -> Any:
        if match is None:
            return session.ask(question)
        return run_workflow(match.workflow, match.params, settings=settings, catalog=catalog, window=match.window,
                            question=question, language=language, session_id=session.id)

    final, failure = asyncio.run(_consume(events, args.quiet))
    if final is None:
        raise CopilotError(failure or "the investigation reached no conclusion")
    return final, session.id


def _incident_window(messages: list[Any], start: float) -> tuple[float, float]:
    """From before the first symptom (to catch the onset) to after the last message (not in the future)."""
    import time

    last = max((m.at for m in messages if m.at is not None), default=start)
    return (start - ONSET_PADDING_S, min(time.time(), max(last, start) + AFTER_S))


async def _consume(events: Callable[[], Any], quiet: bool) -> tuple[dict[str, Any] | None, str]:
    """The run's trace on stderr (unless quiet); (its final answer or None, why it failed)."""
    from copilot.events import FinalAnswer, RunFailed
    from copilot.trace import trace_line

    final: dict[str, Any] | None = None
    failure = ""
    async for event in events():
        if not quiet:
            line = trace_line(event)
            if line:
                print(line, file=sys.stderr, flush=True)
        if isinstance(event, FinalAnswer):
            final = event.to_dict()
        elif isinstance(event, RunFailed) and final is None:
            failure = event.error
    return final, failure


def _print_report(args: argparse.Namespace, settings: Any, question: str, final: dict[str, Any], session_id: str,
                  facts: Any) -> None:
    from copilot.cli import plain_text, query_result

    if args.format == "json":
        result = query_result(question, final, session_id, settings.model_label, final["steps"])
        result["facts"] = facts.to_dict()
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        print()
        print(plain_text(final["answer"]))
