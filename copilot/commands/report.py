"""`copilot report SESSION_ID [--format markdown|json] [-o FILE]`: the incident report of a saved session."""

from __future__ import annotations

import json
from pathlib import Path
from copilot.terminal_text import terminal_safe


def register(sub) -> None:
    p = sub.add_parser("report", help="regenerate the incident report of a saved session")
    p.add_argument("session_id", help="session id (a unique prefix is enough; see `copilot sessions list`)")
    p.add_argument("--format", choices=("markdown", "json", "html"), default="markdown",
                   help="markdown, json, or html: one self-contained file with charts (use -o FILE)")
    p.add_argument("--lang", choices=("en", "zh"), help="report language (default: the question's language)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=_report)


@terminal_safe  # data reaches a terminal: no raw control characters
def _report(args) -> int:
    from copilot.config import load_settings
    from copilot.diagnosis import Diagnosis
    from copilot.errors import CopilotError
    from copilot.language import detect_language
    from copilot.report import build_report, render_markdown
    from copilot.timefmt import use_zone
    from copilot.timezones import local_zone
    from copilot.sessions.store import SessionStore

    settings = load_settings()
    use_zone(local_zone(settings))  # the report's times (onsets, verdict) in the configured zone
    store = SessionStore(settings.sessions_path())
    sid = store.resolve(args.session_id)
    data = store.last_diagnosis(sid)
    if data is None:
        raise CopilotError(f"session {sid} has no finished diagnosis to report on; run the investigation again")
    diagnosis = Diagnosis.from_dict(data)
    saved = diagnosis.report or {}
    lang = args.lang or saved.get("language") or detect_language(diagnosis.question)
    report = build_report(
        diagnosis,
        lang,
        reflection=saved.get("reflection"),
        recalled=saved.get("recalled"),
    )
    if saved.get("actions") and lang == saved.get("language"):
        report["actions"] = saved["actions"]  # keep the knowledge-base actions of the original run
    report["session_id"] = sid
    if args.format in ("markdown", "html"):  # sparklines beside the metric findings (ASCII on dumb terminals)
        from copilot.charts import finding_sparklines, load_telemetry, plain_terminal, session_data_dir

        telemetry = load_telemetry(session_data_dir(store.events(sid)))
        plain = plain_terminal() and args.format == "markdown"
        report["sparklines"] = finding_sparklines(data.get("findings", []), telemetry, plain=plain)
    if args.format == "json":
        from copilot.remediation import proposal

        report["remediation"] = proposal(data, sid)  # proposed only; `copilot remediate` runs it
    text = json.dumps(report, ensure_ascii=False, indent=2) if args.format == "json" else render_markdown(report)
    if args.format == "html":
        from copilot.html_report import render_html

        text = render_html(report, data, telemetry, text, sid)
    if args.output:
        Path(args.output).write_text(text + ("\n" if not text.endswith("\n") else ""), encoding="utf-8")
    else:
        print(text.rstrip("\n"))
    return 0
