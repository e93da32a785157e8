"""`copilot plugins`: installed plugins, their tools (read-only or changing systems), sources,
commands and settings, and the one line saying why a broken plugin was left out."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("plugins", help="list plugins: tools (read-only or changes systems), commands, settings")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)


def _commands(plugin) -> list[str]:
    """The command names a plugin's registrars add, found by registering them on a scratch parser."""
    import argparse

    scratch = argparse.ArgumentParser(add_help=False).add_subparsers()
    for register in plugin.commands:
        try:
            register(scratch)
        except (Exception, SystemExit):
            continue
    return sorted(scratch.choices)


def _list(args) -> int:
    from copilot.config import load_settings
    from copilot.plugin_settings import env_name, masked
    from copilot.plugin_manager import load_plugins

    settings = load_settings()
    loaded = load_plugins(disabled=set(settings.disabled_plugins), settings=settings)
    if args.json:
        out = [
            {
                "name": p.name,
                "description": p.description,
                "version": p.version,
                "tools": [{"name": t.name, "risk": t.risk, "description": t.description} for t in p.tools],
                "sources": [getattr(s, "__name__", type(s).__name__) for s in p.sources],
                "commands": _commands(p),
                "settings": masked(p.settings, settings.plugins.get(p.name, {})),
                "data_kinds": p.data_kinds, "fault_kinds": p.kinds,
            }
            for p in loaded.plugins
        ]
        print(json.dumps({"plugins": out, "errors": loaded.errors}, ensure_ascii=False, indent=2, default=str))
        return 0
    for p in loaded.plugins:
        print(f"{p.name}  {p.description}")
        for t in p.tools:
            risk = "read-only" if t.risk == "read" else "CHANGES SYSTEMS (needs approval)"
            first = t.description.splitlines()[0] if t.description else ""
            print(f"  {t.name:<28} {risk:<34} {first}")
        for name in _commands(p):
            print(f"  command: copilot {name}")
        values = masked(p.settings, settings.plugins.get(p.name, {}))
        for opt in p.settings:
            print(f"  setting: [plugins.{p.name}] {opt.name} / {env_name(p.name, opt.name)} = "
                  f"{json.dumps(values.get(opt.name), ensure_ascii=False, default=str)}"
                  + (f"  ({opt.help})" if opt.help else ""))
        for kind, what in p.data_kinds.items():
            print(f"  kind of telemetry: {kind} ({what})")
        for kind, category in p.kinds.items():
            print(f"  fault kind: {kind} ({category})")
    for err in loaded.errors:
        print(f"warning: {err}")
    return 0
