"""`copilot init`: set up the sources an investigation reads, check them, write config.toml.

Interactive in a terminal (one question per source, Enter to skip); in scripts, flags:

    copilot init --prometheus-url http://prom:9090 --alertmanager-url http://am:9093

Each source given is checked (reachable, credentials, what it holds) before the commented
config is written atomically; an existing config is kept unless --force.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# (setting, what it is) in the order they are asked
QUESTIONS = (
    ("prometheus_url", "Prometheus-compatible metrics API (Prometheus, VictoriaMetrics, Thanos)"),
    ("alertmanager_url", "Alertmanager API v2"),
    ("loki_url", "Loki logs"),
    ("elasticsearch_url", "Elasticsearch / OpenSearch logs"),
    ("jaeger_url", "Jaeger traces"),
    ("tempo_url", "Tempo traces"),
    ("base_url", "OpenAI-compatible model endpoint (empty: offline rules only)"),
    ("model", "model name on that endpoint"),
)


def register(sub) -> None:
    p = sub.add_parser("init", help="set up data sources and the model, check them, write config.toml")
    for key, what in QUESTIONS:
        p.add_argument("--" + key.replace("_", "-"), dest=key, metavar="VALUE", help=what)
    p.add_argument("--force", action="store_true", help="replace an existing config.toml")
    p.add_argument("--no-check", dest="check", action="store_false", help="write without checking the sources")
    p.set_defaults(func=_init)


def _ask(values: dict[str, str]) -> None:
    print("Set up SRE Copilot. Press Enter to skip a source.")
    for key, what in QUESTIONS:
        if key in values:
            continue
        if key == "model" and not values.get("base_url"):
            continue
        answer = input(f"{what}\n  {key} = ").strip()
        if answer:
            values[key] = answer


def render(values: dict[str, str]) -> str:
    """The commented config.toml for the chosen values."""
    lines = [
        "# SRE Copilot configuration (written by `copilot init`).",
        "# Every key can also be set as COPILOT_<KEY> in the environment; flags beat both.",
        "# Secrets: prefer <name>_token_file / <name>_password_file, or the environment,",
        "# over writing them here.",
        "",
    ]
    for key, what in QUESTIONS:
        value = values.get(key, "")
        lines.append(f"# {what}")
        lines.append(f'{key} = "{value}"' if value else f'# {key} = ""')
        lines.append("")
    lines += [
        "# Per-source options follow one pattern: <name>_token, <name>_ca, <name>_insecure,",
        "# <name>_timeout, <name>_max_items (see `copilot sources`).",
        "",
    ]
    return "\n".join(lines)


def _init(args) -> int:
    from copilot.config import config_file, load_settings
    from copilot.errors import CopilotError
    from copilot.plugin_manager import load_plugins
    from copilot.sources import configured_sources

    values = {k: str(v) for k, v in vars(args).items() if k in dict(QUESTIONS) and v}
    if not values:
        if not sys.stdin.isatty():
            raise CopilotError("copilot init needs a terminal to ask, or flags such as --prometheus-url URL")
        _ask(values)
    path = config_file()
    if path.exists() and not args.force:
        raise CopilotError(f"{path} exists; pass --force to replace it (or edit it)")
    settings = load_settings({k: v for k, v in values.items()}, env={})
    failures = 0
    if args.check:
        for source in configured_sources(settings, load_plugins(settings=settings).source_factories):
            check = source.check()
            failures += not check.ok
            print(f"{'ok  ' if check.ok else 'FAIL'} {check.label}: {check.detail}")
    if failures:
        raise CopilotError(f"{failures} source(s) failed their check; fix the URL or credentials, "
                           "or write anyway with --no-check")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(render(values))
    Path(tmp).replace(path)
    print(f"wrote {path}")
    return 0
