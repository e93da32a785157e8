"""`copilot sources`: the configured telemetry sources, each checked (reachable? auth
accepted? what does it hold for the last hour?), in text or --json; exit 1 if any fails."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("sources", help="list configured telemetry sources and check each one")
    p.add_argument("--json", action="store_true", help="print JSON")
    from copilot.cli import add_settings_flags

    add_settings_flags(p, nested=True)
    p.set_defaults(func=_sources)


def configured_sources(settings) -> tuple[list, list]:
    """(sources, problems): every plugin's source factories called with the settings; a factory
    that raises (a bad setting) is a problem, not a crash."""
    from copilot.errors import CopilotError
    from copilot.plugin_manager import load_plugins

    loaded = load_plugins(disabled=set(settings.disabled_plugins), settings=settings)
    sources, problems = [], [{"name": "plugins", "label": "plugins", "ok": False, "detail": e} for e in loaded.errors]
    for plugin in loaded.plugins:
        for make in plugin.sources:
            name = getattr(make, "__name__", "source").removesuffix("_source")
            try:
                source = make(settings)
            except CopilotError as exc:
                problems.append({"name": name, "label": f"{name} ({plugin.name})", "ok": False, "detail": str(exc)})
                continue
            if source is not None:
                sources.append(source)
    return sources, problems


def _sources(args) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from copilot.cli import settings_from_args
    from copilot.plugins.telemetry.files_source import files_source

    settings = settings_from_args(args)
    sources, problems = configured_sources(settings)
    files = files_source(settings)
    if files is not None:  # --data beats configured sources: that is what an investigation reads
        sources = [files]
    data = "bundled demo" if getattr(settings, "demo", False) or not (sources or problems) else \
        " + ".join(s.label for s in sources)
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(sources)))) as pool:
        checks = [c.to_dict() for c in pool.map(lambda s: s.check(), sources)] + problems
    if args.json:
        print(json.dumps({"data": data, "sources": checks, "ok": all(c["ok"] for c in checks)},
                         ensure_ascii=False, indent=2))
    elif not checks:
        print("no sources configured: set <name>_url in config.toml or COPILOT_<NAME>_URL (prometheus, alertmanager, "
              "loki, elasticsearch, jaeger, tempo), or pass --data DIR; until then investigations use the bundled demo")
    else:
        print(f"data: {data}")
        width = max(len(c["name"]) for c in checks)
        for c in checks:
            print(f"{c['name']:<{width}}  {'ok  ' if c['ok'] else 'FAIL'}  {c['label']}: {c['detail']}")
    return 0 if all(c["ok"] for c in checks) else 1
