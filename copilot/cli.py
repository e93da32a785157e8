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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from .events import ModelFailed

from . import commands as _commands_pkg
from .errors import EXIT_ERROR, EXIT_NO_CONCLUSION, EXIT_OK, CopilotError

FORMATS = ("text", "json", "markdown")


def add_settings_flags(p: argparse.ArgumentParser, *, nested: bool = False) -> None:
    """Flags that override settings; shared by the TUI, the REPL and --query. On a subcommand
    (`nested`), a flag left out keeps what was given before the subcommand
    (`copilot --data DIR repl` and `copilot repl --data DIR` both work)."""
    keep: dict[str, Any] = {"default": argparse.SUPPRESS} if nested else {}
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
    from .timefmt import use_zone
    from .timezones import local_zone

    settings = load_settings({k: getattr(args, k, None) for k in SETTINGS_FLAGS})
    use_zone(local_zone(settings))  # the front end prints (trace, report) in the configured zone
    return settings


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sre-copilot")
    except PackageNotFoundError:
        return "unknown"


def build_parser(loaded: Any = None, settings: Any = None) -> argparse.ArgumentParser:
    """The parser; with `loaded` plugins (copilot.plugins.LoadedPlugins), their commands too,
    each given the Settings (its options in `args.copilot_settings.plugins[<plugin>]`)."""
    parser = argparse.ArgumentParser(
        prog="copilot",
        description="SRE Copilot: ask what is wrong, in English or Chinese; it investigates metrics, logs, "
        "traces and changes, ranks root causes and writes the incident report. With no model configured "
        "it runs a rule-based investigation offline.",
        epilog="examples:\n  copilot                     open the TUI\n  copilot repl                plain REPL "
        "(dumb terminals, flaky SSH)\n  copilot --query \"why is checkout slow since 14:05?\" --format json\n\n"
        "plugins may add commands of their own: `copilot plugins` lists them.",
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
    if loaded is not None:
        _add_plugin_commands(sub, loaded, settings)
    return parser


def _add_plugin_commands(sub: Any, loaded: Any, settings: Any) -> None:
    """Each plugin's subcommands; one that fails to register is left out with one line."""
    for plugin in loaded.plugins:
        for register in plugin.commands:
            before = set(sub.choices)
            try:
                register(sub)
            except (Exception, SystemExit) as exc:
                print(f"copilot: warning: plugin {plugin.name!r}: a command failed to register: "
                      f"{type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
                for name in set(sub.choices) - before:  # nothing half-registered stays
                    del sub.choices[name]
                continue
            for name in set(sub.choices) - before:
                sub.choices[name].set_defaults(_plugin=plugin.name, copilot_settings=settings)


def _first_word(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """The subcommand word in argv (the first argument that is neither an option nor its value)."""
    takes_value = {opt for action in parser._actions if action.nargs != 0 for opt in action.option_strings}
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--":
            return None
        elif arg.startswith("-"):
            skip = arg in takes_value  # "--data DIR"; "--data=DIR" carries its value
        else:
            return arg
    return None


def _with_plugin_commands(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """Plugins are loaded only for a word that is not a built-in command (or for shell
    completion), so `copilot --help` and the built-in commands stay fast."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    word = _first_word(parser, argv)
    if "_ARGCOMPLETE" not in os.environ and (word is None or word in sub.choices):
        return parser
    from .config import load_settings
    from .plugin_manager import load_plugins

    settings = load_settings()
    loaded = load_plugins(disabled=set(settings.disabled_plugins), settings=settings)
    for err in loaded.errors:
        print(f"copilot: warning: {err}", file=sys.stderr)
    return build_parser(loaded, settings)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("LANCE_LOG", "error")
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        parser = _with_plugin_commands(parser, argv)
    except CopilotError as exc:  # a wrong value in a plugin's settings section
        print(f"copilot: error: {exc}", file=sys.stderr)
        return exc.exit_code
    if "_ARGCOMPLETE" in os.environ:  # a shell asking for completions (copilot completion bash|zsh|fish)
        import argcomplete

        argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    try:
        if getattr(args, "_plugin", None) is not None and getattr(args, "func", None) is not None:
            return _run_plugin_command(args)
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


def _run_plugin_command(args: argparse.Namespace) -> int:
    """A plugin's command: its crash is one line naming the plugin, not a traceback."""
    try:
        return int(args.func(args) or 0)
    except (CopilotError, KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:
        print(f"copilot: error: plugin {args._plugin!r} command {args.command!r} failed: "
              f"{type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_ERROR


def _run_tui(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CopilotError("the TUI needs a terminal; use `copilot --query \"...\"` in scripts or `copilot repl`")
    from copilot.tui.app import run_app

    question = None
    if args.demo:
        from .demo import ensure_demo

        question = (ensure_demo() / "question.txt").read_text(encoding="utf-8").strip()
    return run_app(settings, question=question)


def _run_repl(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    from copilot.tui.repl import run_repl

    return run_repl(settings)


def plain_text(markdown: str) -> str:
    text = re.sub(r"^#+\s*", "", markdown, flags=re.M)
    text = text.replace("**", "").replace("`", "")
    return re.sub(r"^\*(.+)\*:", r"\1:", text, flags=re.M)


def _zone(settings: Any) -> str:
    from .timezones import zone_label

    return zone_label(settings)


def _iso_window(window: Any, settings: Any) -> list[str | None] | None:
    """The window as ISO-8601 with the configured zone's offset (`window` stays epoch seconds)."""
    from .timezones import iso_time

    return [iso_time(float(t), settings) for t in window] if window else None


def query_result(question: str, final: dict[str, Any] | None, session_id: str, model: str, steps: int,
                 data: dict[str, Any] | None = None, settings: Any = None) -> dict[str, Any]:
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
        "window_iso": _iso_window(diagnosis.get("window"), settings),
        "timezone": _zone(settings),
        "findings": diagnosis.get("findings", []),
        "mitigation": diagnosis.get("mitigation", []),
        "report": diagnosis.get("report", {}),
        **({k: diagnosis.get(k) for k in ("verdict", "verdict_since", "verdict_reasons", "ruled_out")}
           if diagnosis.get("verdict") else {}),
        **({"data_held": diagnosis["data_held"]} if diagnosis.get("data_held") else {}),
        "remediation": _remediation(diagnosis, session_id),
    }
    if diagnosis.get("workflow"):  # the question ran one of the team's workflows (chat-ops)
        result["workflow"] = diagnosis["workflow"]
    return result


def _remediation(diagnosis: dict[str, Any], session_id: str) -> dict[str, Any] | None:
    from .remediation import proposal

    return proposal(diagnosis, session_id)


def model_failure_warning(event: ModelFailed) -> str:
    """--quiet and JSON output carry a model that dropped out mid-run as one warning."""
    return f"the model failed mid-run ({event.error}); the result below is the rule-based one"


@dataclass
class _QueryOutcome:
    """What `copilot --query` keeps from the run's events."""

    final: dict[str, Any] | None = None
    failure: str | None = None
    limited: bool = False
    steps: int = 0
    warnings: list[str] = field(default_factory=list)

    def take(self, event: Any) -> None:
        from .events import ActionProposed, FinalAnswer, ModelFailed, RunFailed, StepLimitReached, Thought

        if isinstance(event, ModelFailed):
            self.warnings.append(model_failure_warning(event))
        if isinstance(event, (Thought, ActionProposed)):
            self.steps = max(self.steps, event.step)
        if isinstance(event, FinalAnswer):
            self.final = event.to_dict()
            self.steps = event.steps
        elif isinstance(event, RunFailed) and self.final is None:
            self.failure = event.error
        elif isinstance(event, StepLimitReached):
            self.limited = True


def _check_telemetry(session: Any, settings: Any) -> None:
    """Malformed telemetry: one line naming the file, exit 1, before any investigation
    (every source reading part of the directory: the files, saved AWS CLI output, ...)."""
    from pathlib import Path

    if settings.data and Path(settings.data).expanduser().exists():
        from .sources import SourceQuery

        for source in session.select_data().sources:
            source.collect(SourceQuery(0.0, float("inf")))


def _show_event(event: Any, args: argparse.Namespace, show_trace: bool) -> None:
    """--events: every event as a JSON line on stdout; otherwise the trace on stderr."""
    from .trace import trace_line

    if args.events:
        sys.stdout.write(json.dumps(event.to_dict(), ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
    elif show_trace:
        line = trace_line(event)
        if line:
            print(line, file=sys.stderr, flush=True)


def _print_result(args: argparse.Namespace, outcome: _QueryOutcome, session: Any, settings: Any) -> None:
    if args.events:
        return
    final = outcome.final
    if args.format == "json":
        result = query_result(args.query, final, session.id, settings.model_label, outcome.steps,
                              (session.run_selection or session.select_data()).to_dict(), settings)
        result["warnings"] = list(dict.fromkeys(outcome.warnings))
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    elif final is not None:
        answer = final["answer"]
        print(answer if args.format == "markdown" else plain_text(answer))


def _conclusion_code(query: str, final: dict[str, Any] | None, limited: bool) -> int:
    """The exit code of a run that did not fail: no conclusion, or no root cause for a diagnosis."""
    if final is None:
        reason = "the step limit was reached" if limited else "the investigation reached no conclusion"
        print(f"copilot: {reason}; raise --max-steps or narrow the question", file=sys.stderr)
        return EXIT_NO_CONCLUSION
    from .intent import classify

    if (final.get("diagnosis") or {}).get("verdict") == "healthy":
        return EXIT_OK  # nothing is wrong, and the report says why
    if classify(query) == "diagnose" and not (final.get("diagnosis") or {}).get("root_causes"):
        print("copilot: no root cause was found; raise --max-steps, widen the time window or check --data",
              file=sys.stderr)
        return EXIT_NO_CONCLUSION
    return EXIT_OK


def run_query(args: argparse.Namespace) -> int:
    from .approval import query_approver
    from .session import Session

    settings = settings_from_args(args)
    session = Session(settings, approver=query_approver(bool(settings.auto_approve), settings.approved_tools))
    _check_telemetry(session, settings)
    show_trace = not args.quiet and not args.events
    for err in session.plugins.errors:  # a broken plugin is left out, and said so in one line
        print(f"copilot: warning: {err}", file=sys.stderr)
    outcome = _QueryOutcome()

    async def consume() -> None:
        async for event in session.ask(args.query):
            outcome.take(event)
            _show_event(event, args, show_trace)

    asyncio.run(consume())
    if outcome.failure is not None:
        print(f"copilot: error: {outcome.failure}", file=sys.stderr)
        return EXIT_ERROR
    if outcome.warnings and not show_trace:  # the trace already said it; said once either way
        print(f"copilot: warning: {outcome.warnings[0]}", file=sys.stderr)
    _print_result(args, outcome, session, settings)
    return _conclusion_code(args.query, outcome.final, outcome.limited)


if __name__ == "__main__":
    sys.exit(main())
