"""Slash commands shared by the TUI and the REPL: /help, /model, /offline, /window,
/sessions, /resume, /kb, /new, /clear, /exit.

`run_command()` changes the session (model, offline, resumed history) and returns an
`Outcome`: the text to show and, for what only a front end can do (clear the screen,
quit, open the sessions picker or the knowledge screen), an action name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from copilot.errors import CopilotError

COMMANDS: tuple[tuple[str, str], ...] = (
    ("/help", "show this help"),
    ("/model NAME", "ask NAME on the OpenAI-compatible endpoint (no name: show the current one)"),
    ("/offline [off]", "use the rule-based brain, no model (/offline off: back to the model)"),
    ("/window [SINCE[..UNTIL]]", "the time window of the next questions, like --since/--until: "
                                 "/window 14:05..14:40, /window 30 minutes ago; /window off: from each question"),
    ("/sessions", "list saved sessions"),
    ("/resume ID", "continue a saved session (a unique prefix of the id is enough)"),
    ("/kb", "the knowledge base: experiences and runbooks (a screen in the TUI, also F2)"),
    ("/runs", "workflow run history: runs, their steps, labels (a screen in the TUI, also F3)"),
    ("/new", "start over: the next question opens a new investigation (follow-ups are about the current one)"),
    ("/clear", "clear the screen"),
    ("/exit", "quit (also Ctrl+D in the REPL, Ctrl+Q in the TUI)"),
)


KB_HINT = ("the knowledge base: `copilot kb list`, `copilot kb search QUERY`, `copilot kb add`, "
           "`copilot kb edit ID`, `copilot kb rm ID`; the TUI (`copilot`) has a knowledge screen (F2)")


RUNS_HINT = ("workflow run history: `copilot runs list`, `copilot runs show RUN_ID`, `copilot runs label RUN_ID STEP "
             "LABEL`; the TUI (`copilot`) has a run-history screen (F3)")


def help_text() -> str:
    width = max(len(name) for name, _ in COMMANDS)
    lines = [f"{name:<{width}}  {what}" for name, what in COMMANDS]
    lines.append("Anything else is a question, e.g. why is checkout slow since 14:05?")
    lines.append("Ctrl+C cancels a running investigation.")
    return "\n".join(lines)


@dataclass
class Outcome:
    text: str = ""
    action: str = ""  # "" | clear | exit | sessions | resumed | knowledge | runs | new
    error: bool = False
    sessions: list[Any] = field(default_factory=list)  # SessionSummary rows for /sessions


def is_command(line: str) -> bool:
    return line.strip().startswith("/")


def session_line(row: Any, settings: Any = None) -> str:
    """One saved session, worded like `copilot sessions list` (times in the configured zone)."""
    from copilot.timezones import format_time

    when = format_time(row.started, settings) if row.started else "?"
    cause = f" -> {row.root_cause}" if row.root_cause else ""
    return f"{row.id}  {when}  {row.model:<10} {row.outcome:<10} {row.question[:60]}{cause}"


def _model(session: Any, arg: str) -> Outcome:
    settings = session.settings
    if not arg:
        endpoint = f" at {settings.base_url}" if settings.base_url else ""
        return Outcome(f"model: {session.model_label}{endpoint}")
    settings.model = arg
    settings.offline = False
    endpoint = settings.base_url or "the default OpenAI endpoint (set OPENAI_BASE_URL for a local one)"
    return Outcome(f"model set to {arg} on {endpoint}")


def _offline(session: Any, arg: str) -> Outcome:
    settings = session.settings
    if arg.lower() in ("off", "no", "false", "0"):
        settings.offline = False
        if not settings.use_llm:
            return Outcome("no model is configured, so the rule-based brain stays on; use /model NAME", error=True)
        return Outcome(f"offline mode off; model: {session.model_label}")
    if arg and arg.lower() not in ("on", "yes", "true", "1"):
        return Outcome(f"/offline takes on or off, not {arg!r}", error=True)
    settings.offline = True
    return Outcome("offline: the rule-based brain investigates, no model is asked")


def _window(session: Any, arg: str) -> Outcome:
    from datetime import datetime

    from copilot.intent import flag_window
    from copilot.timezones import local_zone, zone_label

    settings = session.settings
    zone = zone_label(settings)
    if not arg:
        if not (settings.since or settings.until):
            return Outcome(f"window: read from each question (else the last hour); times in {zone}")
        return Outcome(f"window: since {settings.since or 'an hour before'}"
                       f"{' until ' + settings.until if settings.until else ''} ({zone}); /window off clears it")
    if arg.lower() in ("off", "none", "clear"):
        settings.since = settings.until = ""
        return Outcome("window cleared: read from each question again")
    since, _, until = (part.strip() for part in arg.partition(".."))
    if not (since or until):
        return _window(session, "off")
    now = datetime.now(local_zone(settings))
    checks = [(since, "", f"/window: {since!r} is not a time; use HH:MM, 'YYYY-MM-DD HH:MM' or '30 minutes ago'"),
              ("", until, f"/window: {until!r} (after '..') is not a time; use HH:MM or 'YYYY-MM-DD HH:MM'"),
              (since, until, f"/window: the end must be after the start (got {since}..{until})")]
    for start, end, problem in checks:
        if not (start or end) or (start and end and not (since and until)):
            continue
        try:
            flag_window(start, end, now)
        except CopilotError:
            return Outcome(problem, error=True)
    settings.since, settings.until = since, until
    return Outcome(f"window set: since {since or 'an hour before'}{' until ' + until if until else ''} ({zone}); "
                   "the next questions read it")


def _sessions(session: Any) -> Outcome:
    rows = session.store.list()
    if not rows:
        return Outcome("no saved sessions yet", action="sessions")
    return Outcome("\n".join(session_line(r, session.settings) for r in rows), action="sessions", sessions=rows)


def _resume(session: Any, arg: str) -> Outcome:
    if not arg:
        return Outcome("/resume needs a session id; /sessions lists them", error=True)
    try:
        data = session.resume(arg)
    except CopilotError as exc:
        return Outcome(str(exc), error=True)
    questions = [t["content"] for t in session.history if t.get("role") == "user"]
    last = f"; last question: {questions[-1]}" if questions else ""
    return Outcome(
        f"resumed session {session.id} ({len(questions)} earlier question{'' if len(questions) == 1 else 's'}{last})"
        + (f"\n{data}" if data else ""),
        action="resumed",
    )


def run_command(session: Any, line: str) -> Outcome:
    name, _, arg = line.strip().partition(" ")
    name, arg = name.lower(), arg.strip()
    if name in ("/help", "/?"):
        return Outcome(help_text())
    if name == "/model":
        return _model(session, arg)
    if name == "/offline":
        return _offline(session, arg)
    if name == "/window":
        return _window(session, arg)
    if name == "/sessions":
        return _sessions(session)
    if name == "/resume":
        return _resume(session, arg)
    if name == "/kb":
        return Outcome(KB_HINT, action="knowledge")
    if name == "/runs":
        return Outcome(RUNS_HINT, action="runs")
    if name == "/new":
        session.start_over()
        return Outcome(f"new session {session.id}: the next question starts a new investigation", action="new")
    if name == "/clear":
        return Outcome(action="clear")
    if name in ("/exit", "/quit"):
        return Outcome(action="exit")
    return Outcome(f"unknown command {name}; /help lists the commands", error=True)
