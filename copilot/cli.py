"""`copilot`: the TUI by default, `copilot repl`, or `copilot --query "..."` for scripts.

This module is on the `--help` path: it imports nothing heavy (no lancedb, textual,
openai, numpy). Subcommands live in `copilot/commands/`, one module each.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import pkgutil
import re
import sys
from typing import Any, Sequence

from . import commands as _commands_pkg
from .errors import EXIT_ERROR, EXIT_NO_CONCLUSION, EXIT_OK, CopilotError

FORMATS = ("text", "json", "markdown")


def add_settings_flags(p: argparse.ArgumentParser, *, nested: bool = False) -> None:
    """Flags that override settings; shared by the TUI, the REPL and --query. On a subcommand
    (`nested`), a flag left out keeps what was given before the subcommand
    (`copilot --data DIR repl` and `copilot repl --data DIR` both work)."""
    keep = {"default": argparse.SUPPRESS} if nested else {}
    g = p.add_argument_group("model and data")
    g.add_argument("--data", metavar="PATH", help="telemetry directory (beats configured sources)", **keep)
    g.add_argument("--demo", action="store_true", default=argparse.SUPPRESS if nested else None,
                   help="investigate the bundled demo incident (in the TUI: ask its question)")
    g.add_argument("--since", metavar="TIME", help="window start: HH:MM, 'YYYY-MM-DD HH:MM' or '30 minutes ago'", **keep)
    g.add_argument("--until", metavar="TIME", help="window end (default: now, or the end of the data)", **keep)
    g.add_argument("--offline", action="store_true", default=argparse.SUPPRESS if nested else None,
                   help="use the rule-based brain, no model")
    g.add_argument("--model", help="model name on the OpenAI-compatible endpoint", **keep)
    g.add_argument("--base-url", dest="base_url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8088/v1", **keep)
    g.add_argument("--tool-protocol", dest="tool_protocol", choices=("auto", "native", "text"),
                   help="how tools are offered to the model (default auto)", **keep)
    g.add_argument("--max-steps", dest="max_steps", type=int, metavar="N", help="step limit of the investigation", **keep)
    g.add_argument("--yes", dest="auto_approve", action="store_true", default=argparse.SUPPRESS if nested else None,
                   help="approve, without asking, the tools named by --allow-tool (others are denied)")
    g.add_argument("--allow-tool", dest="approved_tools", action="append", metavar="NAME",
                   default=argparse.SUPPRESS if nested else None,
                   help="a tool that changes systems which --yes approves (repeatable; config: approved_tools)")
    g.add_argument("--no-memory", dest="memory", action="store_false", default=argparse.SUPPRESS if nested else None,
                   help="neither recall nor save diagnoses")


SETTINGS_FLAGS = ("data", "demo", "since", "until", "offline", "model", "base_url", "tool_protocol", "max_steps",
                  "auto_approve", "memory", "approved_tools")


def settings_from_args(args: argparse.Namespace):
    from .config import load_settings

    return load_settings({k: getattr(args, k, None) for k in SETTINGS_FLAGS})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sre-copilot")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copilot",
        description="SRE Copilot: ask what is wrong, in English or Chinese; it investigates metrics, logs, "
        "traces and changes, ranks root causes and writes the incident report. With no model configured "
        "it runs a rule-based investigation offline.",
        epilog="examples:\n  copilot                     open the TUI\n  copilot repl                plain REPL "
        "(dumb terminals, flaky SSH)\n  copilot --query \"why is checkout slow since 14:05?\" --format json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--query", "-q", metavar="TEXT", help="ask once, print the answer, exit")
    parser.add_argument("--format", choices=FORMATS, default="text", help="answer format on stdout (default text)")
    parser.add_argument("--events", action="store_true", help="print every event as a JSON line on stdout")
    parser.add_argument("--quiet", action="store_true", help="no live trace on stderr")
    add_settings_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    repl = sub.add_parser("repl", help="plain prompt-toolkit REPL (for dumb terminals and flaky SSH)")
    add_settings_flags(repl, nested=True)
    repl.set_defaults(func=_run_repl)

    for info in sorted(pkgutil.iter_modules(_commands_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{_commands_pkg.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("LANCE_LOG", "error")
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # a shell asking for completions (copilot completion bash|zsh|fish)
        import argcomplete

        argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    try:
        if getattr(args, "func", None) is not None:
            return int(args.func(args) or 0)
        if args.query is not None:
            from .terminal_text import terminal_safe_output

            with terminal_safe_output():  # telemetry reaches the screen: no raw control characters
                return run_query(args)
        return _run_tui(args)
    except CopilotError as exc:
        from .terminal_text import sanitize_terminal

        print(f"copilot: error: {sanitize_terminal(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("copilot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


def _run_tui(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CopilotError("the TUI needs a terminal; use `copilot --query \"...\"` in scripts or `copilot repl`")
    from tui.app import run_app

    question = None
    if args.demo:
        from .demo import ensure_demo

        question = (ensure_demo() / "question.txt").read_text(encoding="utf-8").strip()
    return run_app(settings, question=question)


def _run_repl(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    from tui.repl import run_repl

    return run_repl(settings)


def plain_text(markdown: str) -> str:
    text = re.sub(r"^#+\s*", "", markdown, flags=re.M)
    text = text.replace("**", "").replace("`", "")
    return re.sub(r"^\*(.+)\*:", r"\1:", text, flags=re.M)


def query_result(question: str, final: dict[str, Any] | None, session_id: str, model: str, steps: int,
                 data: dict[str, Any] | None = None) -> dict[str, Any]:
    diagnosis = (final or {}).get("diagnosis") or {}
    result = {
        "data": data or {},
        "question": question,
        "answer": (final or {}).get("answer", ""),
        "root_causes": diagnosis.get("root_causes", []),
        "steps": steps,
        "model": model,
        "session_id": session_id,
        "window": diagnosis.get("window"),
        "findings": diagnosis.get("findings", []),
        "mitigation": diagnosis.get("mitigation", []),
        "report": diagnosis.get("report", {}),
        "remediation": _remediation(diagnosis, session_id),
    }
    if diagnosis.get("workflow"):  # the question ran one of the team's workflows (chat-ops)
        result["workflow"] = diagnosis["workflow"]
    return result


def _remediation(diagnosis: dict[str, Any], session_id: str) -> dict[str, Any] | None:
    from .remediation import proposal

    return proposal(diagnosis, session_id)


def run_query(args: argparse.Namespace) -> int:
    from .approval import query_approver
    from .events import FinalAnswer, RunFailed, StepLimitReached, Thought, ActionProposed
    from .session import Session
    from .trace import trace_line

    settings = settings_from_args(args)
    from pathlib import Path

    session = Session(settings, approver=query_approver(bool(settings.auto_approve), settings.approved_tools))
    if settings.data and Path(settings.data).expanduser().exists():
        # malformed telemetry: one line naming the file, exit 1, before any investigation
        # (every source reading part of the directory: the files, saved AWS CLI output, ...)
        from .sources import SourceQuery

        for source in session.select_data().sources:
            source.collect(SourceQuery(0.0, float("inf")))
    show_trace = not args.quiet and not args.events
    final: dict[str, Any] | None = None
    failure: str | None = None
    limited = False
    steps = 0

    async def consume() -> None:
        nonlocal final, failure, limited, steps
        async for event in session.ask(args.query):
            if args.events:
                sys.stdout.write(json.dumps(event.to_dict(), ensure_ascii=False, default=str) + "\n")
                sys.stdout.flush()
            elif show_trace:
                line = trace_line(event)
                if line:
                    print(line, file=sys.stderr, flush=True)
            if isinstance(event, (Thought, ActionProposed)):
                steps = max(steps, event.step)
            if isinstance(event, FinalAnswer):
                final = event.to_dict()
                steps = event.steps
            elif isinstance(event, RunFailed) and final is None:
                failure = event.error
            elif isinstance(event, StepLimitReached):
                limited = True

    asyncio.run(consume())
    if failure is not None:
        print(f"copilot: error: {failure}", file=sys.stderr)
        return EXIT_ERROR
    if not args.events:
        if args.format == "json":
            result = query_result(args.query, final, session.id, settings.model_label, steps,
                                  session.select_data().to_dict())
            print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        elif final is not None:
            answer = final["answer"]
            print(answer if args.format == "markdown" else plain_text(answer))
    if final is None:
        reason = "the step limit was reached" if limited else "the investigation reached no conclusion"
        print(f"copilot: {reason}; raise --max-steps or narrow the question", file=sys.stderr)
        return EXIT_NO_CONCLUSION
    from .intent import classify

    if classify(args.query) == "diagnose" and not (final.get("diagnosis") or {}).get("root_causes"):
        print("copilot: no root cause was found; raise --max-steps, widen the time window or check --data",
              file=sys.stderr)
        return EXIT_NO_CONCLUSION
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
