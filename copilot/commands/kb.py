"""`copilot kb`: manage the knowledge base (expert experiences, SOP runbooks).

add (interactive or by flags), import FILE|DIR, list, show, edit ($EDITOR on YAML), rm,
search and export. `--json` prints a JSON array of entries with id, kind and fields."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from copilot.errors import CopilotError
from copilot.terminal_text import terminal_safe

KINDS = ("experience", "document", "incident")
HIDDEN = ("origin", "edited", "updated_at", "score", "similarity")


def _settings(args: argparse.Namespace) -> Any:
    from copilot.config import load_settings

    return getattr(args, "settings", None) or load_settings()


def _store(args: argparse.Namespace) -> Any:
    from copilot.kb.store import open_store

    return open_store(_settings(args))


def _view(args: argparse.Namespace) -> Any:
    """The store for commands that only read: a snapshot while it is current (kb/snapshot.py)."""
    from copilot.kb.snapshot import StoreView

    settings = _settings(args)
    return StoreView(settings, lambda: _store(args))


def _yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def _line(e: dict[str, Any]) -> str:
    if e["kind"] == "experience":
        name = f"{e['fault_name']}: {e['root_cause']}"
    elif e["kind"] == "document":
        section = e["section"]
        name = section if section.startswith(e["title"]) else f"{e['title']} > {section}"
    else:
        name = f"{e['question']} -> {e.get('verdict_root_cause') or e.get('root_cause')}"
    name = " ".join(name.split())
    return f"{e['id']:<34} {e['kind']:<10} {name[:90]}"


def _print_entries(entries: list[dict[str, Any]], as_json: bool, score: bool = False) -> None:
    if as_json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    if not entries:
        print("(no entries)")
    for e in entries:
        prefix = f"{e['score']:.4f}  " if score else ""
        print(prefix + _line(e))


@terminal_safe  # data reaches a terminal: no raw control characters
def cmd_list(args: argparse.Namespace) -> int:
    entries = _view(args).list(args.kind)
    _print_entries(entries, args.json)
    return 0


@terminal_safe  # data reaches a terminal: no raw control characters
def cmd_search(args: argparse.Namespace) -> int:
    from copilot.kb.search import search
    from copilot.kb.snapshot import refresh
    from copilot.kb.snapshot_search import snapshot_index

    if args.k < 1:
        raise CopilotError("-k must be at least 1")
    opts = dict(kind=args.kind, k=args.k, service=args.service, fault_kind=args.fault_kind)
    index, store = snapshot_index(_settings(args), args.query)
    if index is not None:  # the store is unchanged since its snapshot: no LanceDB import
        hits = search(store, args.query, index=index, **opts)
    else:
        store = _store(args)
        hits = search(store, args.query, **opts)
        refresh(store)  # the next search (and list) reads the snapshot
    _print_entries(hits, args.json, score=True)
    return 0


def _get(store: Any, entry_id: str) -> dict[str, Any]:
    entry = store.get(entry_id)
    if entry is None:
        raise CopilotError(f"no entry {entry_id!r}; run `copilot kb list` to see the ids")
    return entry


@terminal_safe  # data reaches a terminal: no raw control characters
def cmd_show(args: argparse.Namespace) -> int:
    store = _view(args)
    if args.id.startswith("sop-") and "#" not in args.id:
        chunks = store.runbook(args.id)
        if not chunks:
            raise CopilotError(f"no runbook {args.id!r}; run `copilot kb list --kind document`")
        if args.json:
            print(json.dumps(chunks, ensure_ascii=False, indent=2))
        else:
            print(f"# {chunks[0]['title']}  [{args.id}]\n")
            for c in chunks:
                print(f"## {c['section']}  [{c['id']}]\n{c['body']}\n")
        return 0
    entry = _get(store, args.id)
    print(json.dumps(entry, ensure_ascii=False, indent=2) if args.json else _yaml(entry), end="" if not args.json else "\n")
    return 0


def _editable(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in HIDDEN and k not in ("kind", "created_at")}


def _save_fields(store: Any, kind: str, fields: dict[str, Any], old_row: dict[str, Any] | None, origin: str) -> str:
    from copilot.kb.schema import now_iso

    row = dict(fields)
    if old_row:
        for key in ("id", "created_at", "origin", "bundled_version", "bundled_hash"):
            row[key] = old_row.get(key, "")
    row["origin"] = row.get("origin") or origin
    row["updated_at"] = now_iso()
    return store.put(kind, [row])[0]


def cmd_add(args: argparse.Namespace) -> int:
    from copilot.kb.validate import normalize

    raw: dict[str, Any] = {
        "fault_name": args.fault_name, "root_cause": args.root_cause, "mitigation": args.mitigation,
        "fault_kind": args.fault_kind, "services": args.service, "tags": args.tag,
        "language": args.language, "source": args.source, "author": args.author or _whoami(),
        "symptoms": {"metrics": args.metrics or "", "logs": args.logs or "", "traces": args.traces or ""},
    }
    prompts = {"fault_name": "Fault name", "root_cause": "Root cause", "mitigation": "Mitigation"}
    missing = [k for k in prompts if not raw[k]]
    if missing and sys.stdin.isatty() and not args.no_input:
        for key, label in prompts.items():
            while not raw[key]:
                raw[key] = input(f"{label}: ").strip()
        for key in ("metrics", "logs", "traces"):
            if not raw["symptoms"][key]:
                raw["symptoms"][key] = input(f"Symptoms in {key} (optional): ").strip()
        if not raw["fault_kind"]:
            raw["fault_kind"] = input("Fault kind (optional, e.g. disk_full): ").strip()
    elif missing:
        flags = ", ".join("--" + k.replace("_", "-") for k in missing)
        raise CopilotError(f"missing {flags}; give them as flags or run `copilot kb add` in a terminal")
    fields, problems = normalize("experience", {k: v for k, v in raw.items() if v is not None})
    if problems:
        name, message = problems[0]
        raise CopilotError(f"{name}: {message}")
    entry_id = _save_fields(_store(args), "experience", fields, None, "user")
    print(f"added {entry_id}")
    return 0


@terminal_safe  # data reaches a terminal: no raw control characters
def cmd_import(args: argparse.Namespace) -> int:
    from copilot.kb.importer import apply_plan, plan_import

    plan = plan_import([Path(p) for p in args.paths])
    if len(plan.problems) > 1:  # one problem is the error line itself
        for problem in plan.problems:
            print(problem, file=sys.stderr)
    store = _store(args)
    ids = apply_plan(store, plan, replace=args.replace)
    print(f"imported {len(plan.experiences)} experiences and {len(plan.documents)} runbooks "
          f"({len(ids)} entries) from {plan.files} files into {store.location}")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    import yaml

    from copilot.kb.store import kind_of
    from copilot.kb.validate import normalize

    store = _store(args)
    kind = kind_of(args.id)
    if kind == "incident":
        raise CopilotError("incidents are memory; label them with `copilot memory label`")
    old = store.get_row(args.id)
    if old is None:
        raise CopilotError(f"no entry {args.id!r}; run `copilot kb list` to see the ids")
    entry = _get(store, args.id)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix=f"{args.id.replace('#', '-')}-", delete=False,
                                     encoding="utf-8") as fh:
        fh.write(_yaml(_editable(entry)))
        path = fh.name
    rc = subprocess.call(f'{editor} "{path}"', shell=True)
    if rc != 0:
        raise CopilotError(f"the editor ({editor}) exited with status {rc}; nothing changed (draft: {path})")
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CopilotError(f"{path}: not valid YAML ({getattr(exc, 'problem', exc)}); nothing changed") from None
    if not isinstance(data, dict):
        raise CopilotError(f"{path}: expected a mapping of fields; nothing changed")
    if data.get("id", args.id) != args.id:
        raise CopilotError("the id cannot be changed; add a new entry instead")
    data["id"] = args.id
    fields, problems = normalize(kind, data)
    if problems:
        name, message = problems[0]
        raise CopilotError(f"{path}: {name}: {message}; nothing changed (your edit is kept in that file)")
    os.unlink(path)
    _save_fields(store, kind, fields, old, "user")
    print(f"updated {args.id}")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    from copilot.kb.seed import forget_bundled

    store = _store(args)
    rows = store.runbook(args.id) if args.id.startswith("sop-") and "#" not in args.id else []
    row = store.get_row(args.id)
    bundled = any(r.get("origin") == "bundled" for r in rows) or (row or {}).get("origin") == "bundled"
    removed = store.delete(args.id)
    if not removed:
        raise CopilotError(f"no entry {args.id!r}; run `copilot kb list` to see the ids")
    if bundled:
        forget_bundled(store, args.id)
    print(f"removed {args.id} ({removed} row{'s' if removed != 1 else ''})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    store = _view(args)
    kinds = [args.kind] if args.kind else ["experience", "document"]
    entries = []
    for kind in kinds:
        for e in store.list(kind):
            entries.append({k: v for k, v in e.items() if k not in HIDDEN})
    text = json.dumps(entries, ensure_ascii=False, indent=2) + "\n" if args.json else _yaml({"entries": entries})
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"exported {len(entries)} entries to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _whoami() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("kb", help="manage the knowledge base: experiences and SOP runbooks",
                              description=__doc__)
    sub = p.add_subparsers(dest="kb_command", metavar="COMMAND")
    sub.required = True

    a = sub.add_parser("add", help="add an expert experience (prompts for what is missing in a terminal)")
    a.add_argument("--fault-name")
    a.add_argument("--root-cause")
    a.add_argument("--mitigation")
    a.add_argument("--fault-kind", default="", help="a canonical fault kind, e.g. disk_full")
    a.add_argument("--metrics", help="how it shows in metrics")
    a.add_argument("--logs", help="how it shows in logs")
    a.add_argument("--traces", help="how it shows in traces")
    a.add_argument("--service", action="append", default=[], help="a service it concerns (repeatable)")
    a.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    a.add_argument("--language", default="", help="en or zh (detected when omitted)")
    a.add_argument("--source", default="manual")
    a.add_argument("--author", default="")
    a.add_argument("--no-input", action="store_true", help="never prompt")
    a.set_defaults(func=cmd_add)

    i = sub.add_parser("import", help="import YAML/JSON/CSV experiences and Markdown/text runbooks")
    i.add_argument("paths", nargs="+", metavar="FILE|DIR")
    i.add_argument("--replace", action="store_true",
                   help="overwrite entries that already exist with other content (bundled ones included)")
    i.set_defaults(func=cmd_import)

    ls = sub.add_parser("list", help="list entries")
    ls.add_argument("--kind", choices=KINDS)
    ls.add_argument("--json", action="store_true", help="print a JSON array of entries")
    ls.set_defaults(func=cmd_list)

    sh = sub.add_parser("show", help="show one entry (a runbook id shows the whole runbook)")
    sh.add_argument("id")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_show)

    e = sub.add_parser("edit", help="edit an entry as YAML in $EDITOR")
    e.add_argument("id")
    e.set_defaults(func=cmd_edit)

    r = sub.add_parser("rm", help="remove an entry (a runbook id removes the whole runbook)")
    r.add_argument("id")
    r.set_defaults(func=cmd_rm)

    s = sub.add_parser("search", help="hybrid search (meaning + keywords, English or Chinese)")
    s.add_argument("query")
    s.add_argument("--kind", choices=KINDS)
    s.add_argument("-k", type=int, default=5, help="how many entries (default 5)")
    s.add_argument("--service", help="only entries about this service")
    s.add_argument("--fault-kind", help="only entries of this fault kind")
    s.add_argument("--json", action="store_true", help="print a JSON array of entries with score")
    s.set_defaults(func=cmd_search)

    x = sub.add_parser("export", help="export experiences and runbooks as YAML (re-importable)")
    x.add_argument("--kind", choices=KINDS)
    x.add_argument("--json", action="store_true")
    x.add_argument("-o", "--output", help="write to this file instead of stdout")
    x.set_defaults(func=cmd_export)
