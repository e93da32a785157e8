"""`copilot remediate SESSION_ID [--run [--yes --allow kubectl]]`: the remediation plan for
a saved session's root cause; with --run, after approval, a dry run and the change itself.

Approval is a y/N answer typed at the terminal, or `--yes` together with `--allow` naming
every tool the plan runs. Nothing else approves (not COPILOT_AUTO_APPROVE, not a model,
not a log line). Every proposal, approval, denial and result goes to the audit log.
"""

from __future__ import annotations

import json
import shlex
import sys


def register(sub) -> None:
    p = sub.add_parser("remediate", help="propose (and, approved, run) the fix for a saved session's root cause")
    p.add_argument("session_id", help="session id (a unique prefix is enough; see `copilot sessions list`)")
    p.add_argument("--run", action="store_true", help="run the plan after approval (dry run first)")
    p.add_argument("--yes", action="store_true", help="approve without asking; needs --allow for every tool it runs")
    p.add_argument("--allow", action="append", default=[], metavar="TOOL",
                   help="a tool --yes may run, e.g. --allow kubectl (repeat or comma-separate)")
    p.add_argument("--namespace", "-n", default="default", help="Kubernetes namespace (default: default)")
    p.add_argument("--replicas", type=int, metavar="N", help="replica count when the plan scales out (default 4)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=_remediate)


def render(rem) -> str:
    lines = [rem.title, "", f"Root cause: {rem.component}, {rem.fault_type} (evidence: {', '.join(rem.evidence[:8])})",
             f"Standard mitigation: {rem.mitigation}", f"What it changes: {rem.changes}", "", "Plan:"]
    for i, step in enumerate(rem.steps, 1):
        lines.append(f"  {i}. {shlex.join(step.argv)}")
        if step.dry_run:
            lines.append(f"     dry run first: {shlex.join(step.dry_run)}")
        if step.note:
            lines.append(f"     ({step.note})")
    lines += ["", "Check it worked:"] + [f"  {shlex.join(c)}" for c in rem.verify]
    lines += ["", "Undo:"] + [f"  {u}" for u in rem.undo]
    return "\n".join(lines)


def _approval(rem, args) -> tuple[bool, str, str]:
    """(approved, who, how) from the terminal or from --yes with an allowlist."""
    from copilot.audit import whoami

    who = whoami()
    if args.yes:
        allowed = {t.strip() for a in args.allow for t in a.split(",") if t.strip()}
        missing = [t for t in rem.tools if t not in allowed]
        if missing:
            return False, who, f"--yes without --allow {' --allow '.join(missing)}"
        return True, who, f"--yes --allow {','.join(sorted(allowed))}"
    if not sys.stdin.isatty():
        return False, who, "no terminal to ask and no --yes"
    try:
        answer = input(f"Run {len(rem.steps)} change(s) on {rem.component} in {rem.namespace}? [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes"), who, "terminal prompt"


def _remediate(args) -> int:
    from copilot.audit import AuditLog
    from copilot.config import load_settings
    from copilot.errors import EXIT_NO_CONCLUSION, CopilotError
    from copilot.remediation import NAME, execute, propose
    from copilot.sessions.store import SessionStore

    if not NAME.match(args.namespace):
        raise CopilotError(f"--namespace {args.namespace!r} is not a Kubernetes name (lowercase letters, digits, '-')")
    if args.replicas is not None and args.replicas < 1:
        raise CopilotError("--replicas must be at least 1")
    store = SessionStore(load_settings().sessions_path())
    sid = store.resolve(args.session_id)
    diagnosis = store.last_diagnosis(sid)
    if diagnosis is None:
        raise CopilotError(f"session {sid} has no finished diagnosis; run the investigation again")
    rem = propose(diagnosis, sid, args.namespace, args.replicas)
    if rem is None:
        causes = diagnosis.get("root_causes") or []
        what = f"{causes[0].get('component')} ({causes[0].get('fault_type')})" if causes else "no root cause"
        print(f"copilot: no remediation template fits {what}; follow the report's recommended actions",
              file=sys.stderr)
        return EXIT_NO_CONCLUSION
    audit = AuditLog()
    audit.record("proposed", rem.title, "shown", session_id=sid, commands=[shlex.join(s.argv) for s in rem.steps])
    print(json.dumps(rem.to_dict(), ensure_ascii=False, indent=2) if args.format == "json" else render(rem))
    if not args.run:
        if args.format == "text":
            print(f"\nTo run it: copilot remediate {sid} --run   (asks for approval; dry run first)")
        return 0
    approved, who, how = _approval(rem, args)
    audit.record("approved" if approved else "denied", rem.title, how, who=who, session_id=sid)
    if not approved:
        print(f"copilot: not run: approval denied ({how}); answer y at the prompt, or pass --yes --allow "
              f"{' --allow '.join(rem.tools)}", file=sys.stderr)
        return 1
    ok = execute(rem, audit, approved_by=who)
    last = audit.entries()[-1]
    print(f"\n{'done' if ok else 'stopped'}: {last['action']} `{last['what']}` -> {last['outcome']}"
          + (f"\n{last.get('output')}" if last.get("output") else ""))
    print(f"audit log: {audit.path}")
    return 0 if ok else 1
