"""`copilot sources`: the data sources an investigation would read, each one checked.

For each configured source: reachable, credentials accepted, and what it holds for the
last hour. `--data DIR` and `--demo` are shown as what they are. Exit 1 when a check fails.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor


def register(sub) -> None:
    from copilot.cli import add_settings_flags

    p = sub.add_parser("sources", help="list the configured data sources and check each one")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    add_settings_flags(p, nested=True)
    p.set_defaults(func=_sources)


def _sources(args) -> int:
    from copilot.cli import settings_from_args
    from copilot.plugins import load_plugins
    from copilot.sources import SourceCheck, select_sources

    settings = settings_from_args(args)
    loaded = load_plugins(disabled=set(settings.disabled_plugins))
    selection = select_sources(settings, loaded.source_factories)

    def check(source) -> SourceCheck:
        try:
            return source.check()
        except Exception as exc:  # a check must report, never crash the listing
            return SourceCheck(source.name, source.label, False, f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        checks = list(pool.map(check, selection.sources))
    if args.json:
        print(json.dumps({"data": selection.to_dict(), "checks": [c.to_dict() for c in checks],
                          "errors": loaded.errors}, ensure_ascii=False, indent=2))
    else:
        print(f"data: {selection.label}")
        if selection.demo and not getattr(settings, "demo", False):
            print("nothing is configured, so investigations read the bundled demo; "
                  "set e.g. COPILOT_PROMETHEUS_URL or run `copilot init`")
        for c in checks:
            print(f"  {'ok  ' if c.ok else 'FAIL'} {c.name:<14} {c.label}: {c.detail}")
        for err in loaded.errors:
            print(f"warning: {err}")
    return 0 if all(c.ok for c in checks) else 1
