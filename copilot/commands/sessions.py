"""`copilot sessions list|show ID`: saved investigation transcripts."""

from __future__ import annotations

import json
from copilot.terminal_text import terminal_safe


def register(sub) -> None:
    p = sub.add_parser("sessions", help="list or show saved sessions")
    ss = p.add_subparsers(dest="sessions_command", metavar="ACTION")
    lst = ss.add_parser("list", help="recent sessions, newest first")
    lst.add_argument("-n", type=int, default=20, help="how many (default 20)")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=_list)
    show = ss.add_parser("show", help="replay one session's trace and answer")
    show.add_argument("id", help="session id (a unique prefix is enough)")
    show.add_argument("--events", action="store_true", help="print the raw JSON-lines events")
    show.set_defaults(func=_show)
    p.set_defaults(func=_list, n=20, json=False)


def _store():
    from copilot.config import load_settings
    from copilot.sessions.store import SessionStore

    return SessionStore(load_settings().sessions_path())


@terminal_safe  # data reaches a terminal: no raw control characters
def _list(args) -> int:
    from copilot.config import load_settings
    from copilot.timezones import format_time, iso_time

    settings = load_settings()
    rows = _store().list(args.n)
    if args.json:
        print(json.dumps([{**r.to_dict(), "started_at": iso_time(r.started or None, settings)} for r in rows],
                         ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no sessions yet; ask something with `copilot --query \"...\"` or open `copilot`")
        return 0
    for r in rows:
        when = format_time(r.started, settings) if r.started else "?"
        cause = f" -> {r.root_cause}" if r.root_cause else ""
        print(f"{r.id}  {when}  {r.model:<10} {r.outcome:<10} {r.question[:60]}{cause}")
    return 0


@terminal_safe  # data reaches a terminal: no raw control characters
def _show(args) -> int:
    from copilot.events import event_from_dict
    from copilot.trace import trace_line

    store = _store()
    sid = store.resolve(args.id)
    for data in store.events(sid):
        if args.events:
            print(json.dumps(data, ensure_ascii=False))
            continue
        if data.get("kind") == "final_answer":
            print("\n" + data.get("answer", ""))
            continue
        try:
            line = trace_line(event_from_dict(data))
        except (TypeError, ValueError):
            continue
        if line:
            print(line)
    return 0
