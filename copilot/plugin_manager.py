"""Plugin discovery through the entry-point group `sre_copilot.plugins`, with pluggy.

An entry point names either
- a module or object with `@hookimpl` functions (copilot/hookspecs.py): the pluggy way, or
- a `Plugin` record, or a zero-argument callable returning one: the built-in plugins'
  way, adapted to the same hooks by `PluginAdapter`.
Built-in plugins are registered in this project's pyproject.toml exactly as a third-party
package registers its own. Every plugin is registered with one `pluggy.PluginManager` and
its hooks are called one plugin at a time, so a broken plugin is reported in one line and
left out while the rest load.
"""

from __future__ import annotations

import inspect
import os
import types
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable

import pluggy

from .errors import ConfigError
from .hookspecs import PROJECT, CopilotHooks, hookimpl
from .plugin_settings import Option, PluginSetupError, check_declared, resolve_options
from .sources import KINDS, SourceFactory
from .tools import InvalidToolError, Tool, ToolRegistry

GROUP = "sre_copilot.plugins"
HOOKS = ("copilot_plugin_info", "copilot_tools", "copilot_sources", "copilot_commands", "copilot_settings",
         "copilot_data_kinds", "copilot_kinds", "copilot_fault_texts")


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
    # Its own options, under [plugins.<name>] and COPILOT_<NAME>_<OPTION> (copilot/plugin_settings.py).
    settings: list[Option] = field(default_factory=list)
    # Fault kinds its detectors name -> their category (copilot/kinds.py CATEGORIES),
    # e.g. {"rds_storage_full": "resource_exhaustion"}.
    kinds: dict[str, str] = field(default_factory=dict)
    # Kinds of telemetry its sources answer beyond copilot.sources.KINDS: {kind: what it is}.
    data_kinds: dict[str, str] = field(default_factory=dict)
    # How the report names its kinds and what it proposes (copilot/faults.py TEXT_FIELDS):
    # {kind: {"name_en": ..., "name_zh": ..., "improvement_en": ...}}.
    fault_texts: dict[str, dict[str, str]] = field(default_factory=dict)


class PluginAdapter:
    """A `Plugin` record seen through the hooks: what it lists is what each hook returns."""

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin

    @hookimpl
    def copilot_plugin_info(self) -> dict[str, str]:
        return {"description": self.plugin.description, "version": self.plugin.version}

    @hookimpl
    def copilot_tools(self) -> list[Tool]:
        return list(self.plugin.tools)

    @hookimpl
    def copilot_sources(self) -> list[SourceFactory]:
        return list(self.plugin.sources)

    @hookimpl
    def copilot_commands(self) -> list[Callable[[Any], None]]:
        return list(self.plugin.commands)

    @hookimpl
    def copilot_settings(self) -> list[Option]:
        return list(self.plugin.settings)

    @hookimpl
    def copilot_kinds(self) -> dict[str, str]:
        return dict(self.plugin.kinds)

    @hookimpl
    def copilot_data_kinds(self) -> dict[str, str]:
        return dict(self.plugin.data_kinds)

    @hookimpl
    def copilot_fault_texts(self) -> dict[str, dict[str, str]]:
        return {k: dict(v) for k, v in self.plugin.fault_texts.items()}


@dataclass
class LoadedPlugins:
    plugins: list[Plugin]
    registry: ToolRegistry
    errors: list[str]
    manager: pluggy.PluginManager | None = None

    @property
    def source_factories(self) -> list[SourceFactory]:
        return [factory for plugin in self.plugins for factory in plugin.sources]

    @property
    def data_kinds(self) -> dict[str, str]:
        """Every kind of telemetry a source may answer: the built-in ones and the plugins'."""
        out = {k: "built in" for k in KINDS}
        for plugin in self.plugins:
            for kind, what in plugin.data_kinds.items():
                out.setdefault(kind, what)
        return out

    def get(self, name: str) -> Plugin | None:
        return next((p for p in self.plugins if p.name == name), None)


def _entry_points() -> Iterable[Any]:
    return entry_points(group=GROUP)


def new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(CopilotHooks)
    return pm


def _hook_object(obj: Any) -> Any:
    """What to register: an adapter for a `Plugin` (or a factory of one), else the object itself."""
    if isinstance(obj, Plugin):
        return PluginAdapter(obj)
    if callable(obj) and not isinstance(obj, (types.ModuleType, type)):
        made = obj()
        return PluginAdapter(made) if isinstance(made, Plugin) else made
    if isinstance(obj, type):  # a class with hook methods: one instance of it
        return obj()
    return obj


def _label(ep: Any) -> str:
    return f"{ep.name!r} ({getattr(ep, 'value', '?')})"


def _call(pm: pluggy.PluginManager, target: Any, hook: str, **kwargs: Any) -> Any:
    """One plugin's answer to one hook (None when it does not implement it)."""
    others = [p for p in pm.get_plugins() if p is not target]
    results = pm.subset_hook_caller(hook, remove_plugins=others)(**kwargs)
    return results[0] if results else None


def _as_list(value: Any, hook: str, name: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    raise PluginSetupError(f"plugin {name!r}: {hook} must return a list, got {type(value).__name__}")


def _dist_version(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return str(getattr(dist, "version", "") or "")


def _record(pm: pluggy.PluginManager, target: Any, name: str, version: str, settings: Any,
            env: dict[str, str]) -> Plugin:
    """Ask one registered plugin every hook and gather the answers in a `Plugin` record."""
    info = _call(pm, target, "copilot_plugin_info") or {}
    if not isinstance(info, dict):
        raise PluginSetupError(f"plugin {name!r}: copilot_plugin_info must return a dict")
    doc = (inspect.getdoc(target) or "").strip() if isinstance(target, types.ModuleType) else ""
    options = check_declared(name, _as_list(_call(pm, target, "copilot_settings"), "copilot_settings", name))
    if settings is not None and options:
        from .config import config_file

        table = (getattr(settings, "plugins", None) or {}).get(name)
        values = resolve_options(name, options, table, env, str(config_file()))
        settings.plugins[name] = values
    tools = _as_list(_call(pm, target, "copilot_tools", settings=settings), "copilot_tools", name)
    for t in tools:
        if not isinstance(t, Tool):
            raise PluginSetupError(f"plugin {name!r}: copilot_tools returned {type(t).__name__}, not a "
                                   "copilot.tools.Tool (decorate the function with @tool)")
    sources = _as_list(_call(pm, target, "copilot_sources"), "copilot_sources", name)
    commands = _as_list(_call(pm, target, "copilot_commands"), "copilot_commands", name)
    for thing, hook in [(s, "copilot_sources") for s in sources] + [(c, "copilot_commands") for c in commands]:
        if not callable(thing):
            raise PluginSetupError(f"plugin {name!r}: {hook} returned {type(thing).__name__}, not a callable")
    data_kinds = _call(pm, target, "copilot_data_kinds") or {}
    if not isinstance(data_kinds, dict) or not all(isinstance(k, str) and k for k in data_kinds):
        raise PluginSetupError(f"plugin {name!r}: copilot_data_kinds must return {{kind: description}}")
    kinds = _call(pm, target, "copilot_kinds") or {}
    if not isinstance(kinds, dict) or not all(isinstance(k, str) and k for k in kinds):
        raise PluginSetupError(f"plugin {name!r}: copilot_kinds must return {{fault kind: category}}")
    texts = _call(pm, target, "copilot_fault_texts") or {}
    if not isinstance(texts, dict) or not all(isinstance(k, str) and isinstance(v, dict) for k, v in texts.items()):
        raise PluginSetupError(f"plugin {name!r}: copilot_fault_texts must return {{fault kind: {{field: text}}}}")
    return Plugin(
        name=name,
        description=str(info.get("description") or (doc.splitlines()[0] if doc else "")),
        tools=tools, version=str(info.get("version") or version), sources=sources, commands=commands,
        settings=options, kinds={str(k): str(v) for k, v in kinds.items()},
        data_kinds={str(k): str(v) for k, v in data_kinds.items()},
        fault_texts={str(k): {str(f): str(t) for f, t in v.items()} for k, v in texts.items()},
    )


def _unknown_hooks(pm: pluggy.PluginManager, target: Any) -> list[str]:
    """Hook-marked functions of `target` that no specification names (a typo in a hook name)."""
    out = []
    for attr in dir(target):
        opts = pm.parse_hookimpl_opts(target, attr)
        if opts is not None and attr not in HOOKS:
            out.append(attr)
    return out


_Pending = tuple[Any, str, str, str]  # (registered object, name, version, where from)


def load_plugins(
    extra: list[Plugin] | None = None,
    disabled: set[str] | None = None,
    output_budget: int = 6000,
    settings: Any = None,
    env: dict[str, str] | None = None,
) -> LoadedPlugins:
    """Find every plugin and register it; gather its tools, sources, commands, settings and kinds.

    A plugin that fails to import, names an unknown hook, returns the wrong thing or lacks a
    required option is left out with one line in `errors`. With `settings`, each plugin's
    options are read into `settings.plugins[<name>]`; a wrong value there raises ConfigError
    (one line naming the key), since the user has to fix it.
    """
    disabled = set(disabled or ())
    env = dict(os.environ if env is None else env)
    pm = new_manager()
    errors: list[str] = []
    attempted: set[str] = set()  # names of the plugins tried, loaded or not
    pending = _register_installed(pm, disabled, attempted, errors) + _register_given(pm, extra or [], errors)
    plugins = _record_all(pm, pending, settings, env, errors)
    if settings is not None:  # a section no plugin reads is most likely a typo in its name
        errors.extend(_unread_sections(settings, plugins, disabled | attempted))
    errors.extend(_register_kinds(plugins))
    registry = _tool_registry(plugins, output_budget, errors)
    return LoadedPlugins(plugins, registry, errors, pm)


def _register_installed(pm: pluggy.PluginManager, disabled: set[str], attempted: set[str],
                        errors: list[str]) -> list[_Pending]:
    """Load and register the installed plugins (entry points), by name, skipping the disabled."""
    pending: list[_Pending] = []
    for ep in sorted(_entry_points(), key=lambda e: e.name):
        if ep.name in disabled:
            continue
        attempted.add(ep.name)
        try:
            target = _hook_object(ep.load())
        except Exception as exc:  # a broken third-party plugin must not take the copilot down
            errors.append(f"plugin {_label(ep)} failed to load: {type(exc).__name__}: {_one_line(exc)}")
            continue
        name = target.plugin.name if isinstance(target, PluginAdapter) else ep.name
        attempted.add(name)
        if name in disabled:
            continue
        problem = _register(pm, target, name, str(getattr(ep, "value", "?")))
        if problem:
            errors.append(problem)
            continue
        pending.append((target, name, _dist_version(ep), str(getattr(ep, "value", "?"))))
    return pending


def _register_given(pm: pluggy.PluginManager, extra: list[Plugin], errors: list[str]) -> list[_Pending]:
    """Register the plugins the caller gave."""
    pending: list[_Pending] = []
    for plugin in extra:
        target = PluginAdapter(plugin)
        problem = _register(pm, target, plugin.name, "(given by the caller)")
        if problem:
            errors.append(problem)
            continue
        pending.append((target, plugin.name, plugin.version, "(given by the caller)"))
    return pending


def _record_all(pm: pluggy.PluginManager, pending: list[_Pending], settings: Any, env: dict[str, str],
                errors: list[str]) -> list[Plugin]:
    """Each registered plugin's record; one that answers a hook wrongly is unregistered."""
    plugins: list[Plugin] = []
    for target, name, version, origin in pending:
        try:
            plugins.append(_record(pm, target, name, version, settings, env))
        except ConfigError:
            raise
        except PluginSetupError as exc:
            errors.append(str(exc))
            pm.unregister(target)
        except Exception as exc:
            errors.append(f"plugin {name!r} ({origin}) failed: {type(exc).__name__}: {_one_line(exc)}")
            pm.unregister(target)
    return plugins


def _unread_sections(settings: Any, plugins: list[Plugin], tried: set[str]) -> list[str]:
    """A line for each [plugins.<name>] section of the configuration that no plugin reads."""
    from .config import config_file

    tried = {p.name for p in plugins} | tried
    return [f"{config_file()}: [plugins.{section}] names no installed plugin "
            f"(installed: {', '.join(sorted(p.name for p in plugins))}); its options are ignored"
            for section in sorted((getattr(settings, "plugins", None) or {}).keys() - tried)]


def _register_kinds(plugins: list[Plugin]) -> list[str]:
    """Register the plugins' fault kinds and fault texts; the lines saying what was refused."""
    from .kinds import register_plugin_kinds

    from .faults import register_fault_texts

    errors: list[str] = []
    for plugin in plugins:
        errors.extend(register_plugin_kinds(plugin.name, plugin.kinds))
        errors.extend(register_fault_texts(plugin.name, plugin.fault_texts))
    return errors


def _tool_registry(plugins: list[Plugin], output_budget: int, errors: list[str]) -> ToolRegistry:
    registry = ToolRegistry(output_budget=output_budget)
    for plugin in plugins:
        for t in plugin.tools:
            t.plugin = plugin.name
            try:
                registry.add(t)
            except InvalidToolError as exc:  # refuse this tool, keep the rest of the plugin
                errors.append(str(exc))
            except Exception as exc:  # a clash with another plugin's tool: this one is left out
                errors.append(f"{_one_line(exc)} (tool left out)")
    return registry


def _register(pm: pluggy.PluginManager, target: Any, name: str, origin: str) -> str | None:
    """Register one plugin; the line saying why not, or None."""
    if pm.has_plugin(name):
        return f"two plugins are named {name!r}; {origin} was left out (uninstall one)"
    try:
        pm.register(target, name=name)
    except Exception as exc:  # pluggy's validation: a hook with arguments its specification lacks
        return f"plugin {name!r} ({origin}) does not fit the hooks: {_one_line(exc)}"
    unknown = _unknown_hooks(pm, target)
    if unknown:
        pm.unregister(target)
        return (f"plugin {name!r} ({origin}) implements unknown hook(s) {', '.join(unknown)}; "
                f"known: {', '.join(HOOKS)}")
    if not pm.get_hookcallers(target):
        pm.unregister(target)
        return (f"plugin {name!r} ({origin}) is neither a copilot.plugins.Plugin nor implements any "
                "copilot hook (copilot/hookspecs.py)")
    return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
