"""Plugin discovery through the entry-point group `sre_copilot.plugins`.

Built-in plugins are registered in this project's pyproject.toml exactly as a third-party
package would register its own. An entry point names a `Plugin` or a zero-argument
callable returning one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable

from .errors import CopilotError
from .sources import SourceFactory
from .tools import InvalidToolError, Tool, ToolRegistry

GROUP = "sre_copilot.plugins"


@dataclass
class Plugin:
    name: str
    description: str
    tools: list[Tool] = field(default_factory=list)
    version: str = ""
    # Telemetry sources this plugin can open (settings -> source, or None when unconfigured).
    sources: list[SourceFactory] = field(default_factory=list)
    # Subcommands: each is called with argparse's subparsers object, like copilot/commands/*.register.
    commands: list[Callable[[Any], None]] = field(default_factory=list)
    # Fault kinds this plugin's detectors name -> their category (copilot/kinds.py CATEGORIES),
    # e.g. {"rds_storage_full": "resource_exhaustion"}.
    kinds: dict[str, str] = field(default_factory=dict)


@dataclass
class LoadedPlugins:
    plugins: list[Plugin]
    registry: ToolRegistry
    errors: list[str]

    @property
    def source_factories(self) -> list[SourceFactory]:
        return [factory for plugin in self.plugins for factory in plugin.sources]


def _entry_points():
    return entry_points(group=GROUP)


def load_plugins(
    extra: list[Plugin] | None = None,
    disabled: set[str] | None = None,
    output_budget: int = 6000,
) -> LoadedPlugins:
    """Find every plugin, register its tools; duplicate tool names fail loudly."""
    disabled = disabled or set()
    plugins: list[Plugin] = []
    errors: list[str] = []
    seen: dict[str, str] = {}
    for ep in sorted(_entry_points(), key=lambda e: e.name):
        if ep.name in disabled:
            continue
        try:
            obj = ep.load()
            plugin = obj() if callable(obj) and not isinstance(obj, Plugin) else obj
        except Exception as exc:  # a broken third-party plugin must not take the copilot down
            errors.append(f"plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}")
            continue
        if not isinstance(plugin, Plugin):
            errors.append(f"plugin {ep.name!r} ({ep.value}) is not a copilot.plugins.Plugin")
            continue
        if plugin.name in seen:
            raise CopilotError(
                f"two plugins are named {plugin.name!r} ({seen[plugin.name]} and {ep.value}); uninstall one"
            )
        seen[plugin.name] = ep.value
        plugins.append(plugin)
    plugins.extend(extra or [])
    from .kinds import register_plugin_kinds

    for plugin in plugins:
        errors.extend(register_plugin_kinds(plugin.name, plugin.kinds))
    registry = ToolRegistry(output_budget=output_budget)
    for plugin in plugins:
        for t in plugin.tools:
            t.plugin = plugin.name
            try:
                registry.add(t)
            except InvalidToolError as exc:  # refuse this tool, keep the rest of the plugin
                errors.append(str(exc))
            except Exception as exc:
                raise CopilotError(str(exc)) from exc
    return LoadedPlugins(plugins, registry, errors)

