"""The plugin hooks: what a plugin can add to the copilot (pluggy hook specifications).

A plugin is any object (usually a module) with functions marked `@hookimpl` whose names
are below; it registers through the entry-point group `sre_copilot.plugins` in its own
pyproject.toml. It implements only the hooks it needs, and each may take fewer arguments
than the specification (pluggy passes the ones it names). See docs/plugins.md.

    copilot_plugin_info  its description (and version) for `copilot plugins`
    copilot_tools        tools the agents may call (copilot.tools.Tool, made with @tool)
    copilot_sources      telemetry source factories: settings -> TelemetrySource or None
    copilot_commands     CLI subcommands: callables given argparse's subparsers object
    copilot_settings     its own options, read from [plugins.<name>] and COPILOT_<NAME>_<OPTION>
    copilot_data_kinds   kinds of telemetry its sources answer beyond the built-in ones
    copilot_kinds        fault kinds its detectors name, with their categories (copilot/kinds.py)
    copilot_fault_texts  how the report names those kinds and what it proposes (copilot/faults.py)

The built-in plugins still declare a `copilot.plugins.Plugin` record; the loader adapts a
record to these hooks, so built-ins and third parties go through the same door.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pluggy

if TYPE_CHECKING:
    from .plugin_settings import Option
    from .sources import SourceFactory
    from .tools import Tool

PROJECT = "sre_copilot"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class CopilotHooks:
    """Hook specifications; every hook returns a value that the loader collects per plugin."""

    @hookspec
    def copilot_plugin_info(self) -> dict[str, str]:
        """{"description": "...", "version": "..."}; both optional (default: the module
        docstring's first line and the distribution's version)."""
        raise NotImplementedError

    @hookspec
    def copilot_tools(self, settings: Any) -> list["Tool"]:
        """Tools this plugin offers. `settings` is the copilot's Settings (the plugin's own
        options: `settings.plugins[<name>]`), or None when tools are listed without a run."""
        raise NotImplementedError

    @hookspec
    def copilot_sources(self) -> list["SourceFactory"]:
        """Source factories: each takes the Settings and returns a TelemetrySource (see
        copilot/sources.py), or None when the source is not configured."""
        raise NotImplementedError

    @hookspec
    def copilot_commands(self) -> list[Callable[[Any], None]]:
        """Subcommand registrars: each is called with argparse's subparsers object and adds
        its parser with `set_defaults(func=...)`, like copilot/commands/*.register."""
        raise NotImplementedError

    @hookspec
    def copilot_settings(self) -> list["Option"]:
        """The plugin's own options (copilot.plugin_settings.Option), validated and filled
        from `[plugins.<name>]` in config.toml and `COPILOT_<NAME>_<OPTION>`."""
        raise NotImplementedError

    @hookspec
    def copilot_data_kinds(self) -> dict[str, str]:
        """Kinds of telemetry this plugin's sources answer beyond copilot.sources.KINDS:
        {"profiles": "CPU and heap profiles"}."""
        raise NotImplementedError

    @hookspec
    def copilot_kinds(self) -> dict[str, str]:
        """Fault kinds this plugin's detectors name -> their category (copilot/kinds.py
        CATEGORIES): {"rds_storage_full": "resource_exhaustion"}."""
        raise NotImplementedError

    @hookspec
    def copilot_fault_texts(self) -> dict[str, dict[str, str]]:
        """How the report names this plugin's fault kinds and what it proposes, as data:
        {kind: {"name_en", "name_zh", "mitigation_en", "mitigation_zh", "improvement_en",
        "improvement_zh"}} (any subset; a missing mitigation comes from the knowledge base's
        experiences of that kind, copilot/faults.py)."""
        raise NotImplementedError
