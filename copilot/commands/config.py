"""`copilot config show`: the effective settings, secrets masked, and where they came from."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("config", help="show the effective configuration")
    cs = p.add_subparsers(dest="config_command", metavar="ACTION")
    show = cs.add_parser("show", help="print the effective settings (secrets masked)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=_show)
    cs.add_parser("path", help="print the config file path").set_defaults(func=_path)
    p.set_defaults(func=_show, json=False)


def _show(args) -> int:
    from copilot.config import config_file, load_settings

    settings = load_settings()
    plugin_options, plugin_errors = _plugin_options(settings)
    values = settings.masked()
    for name, options in plugin_options.items():  # each plugin's section, checked, its secrets masked
        from copilot.plugin_settings import masked

        values["plugins"][name] = masked(options, settings.plugins.get(name, {}))
    values["effective_model"] = settings.model_label
    values["sessions_dir"] = str(settings.sessions_path())
    values["kb_uri"] = settings.kb_location()
    if plugin_errors:  # plugins left out (their sections are shown as written)
        values["plugin_errors"] = plugin_errors
    if getattr(args, "json", False):
        print(json.dumps(values, ensure_ascii=False, indent=2))
        return 0
    path = config_file()
    print(f"# config file: {path} ({'found' if path.exists() else 'not found'})")
    print("# precedence: defaults < config.toml < COPILOT_* / OPENAI_* environment < command-line flags")
    width = max(len(k) for k in values)
    for key, value in values.items():
        print(f"{key:<{width}} = {json.dumps(value, ensure_ascii=False)}")
    return 0


def _plugin_options(settings) -> tuple[dict, list[str]]:
    """({plugin: its declared options}, why plugins were left out); loading the plugins fills
    and checks settings.plugins."""
    from copilot.plugin_manager import load_plugins

    loaded = load_plugins(disabled=set(settings.disabled_plugins), settings=settings)
    return {p.name: p.settings for p in loaded.plugins if p.settings}, loaded.errors


def _path(args) -> int:
    from copilot.config import config_file

    print(config_file())
    return 0
