"""`copilot plugins`: installed plugins, their tools, and whether each only reads or changes systems."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("plugins", help="list plugins and their tools (read-only or changes systems)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)


def _list(args) -> int:
    from copilot.plugins import load_plugins

    loaded = load_plugins()
    if args.json:
        out = [
            {
                "name": p.name,
                "description": p.description,
                "tools": [{"name": t.name, "risk": t.risk, "description": t.description} for t in p.tools],
            }
            for p in loaded.plugins
        ]
        print(json.dumps({"plugins": out, "errors": loaded.errors}, ensure_ascii=False, indent=2))
        return 0
    for p in loaded.plugins:
        print(f"{p.name}  {p.description}")
        for t in p.tools:
            risk = "read-only" if t.risk == "read" else "CHANGES SYSTEMS (needs approval)"
            first = t.description.splitlines()[0] if t.description else ""
            print(f"  {t.name:<28} {risk:<34} {first}")
    for err in loaded.errors:
        print(f"warning: {err}")
    return 0
