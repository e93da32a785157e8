"""A plugin's own settings: declared options, read from `[plugins.<name>]` in config.toml
and from `COPILOT_<NAME>_<OPTION>` (the environment wins), checked with one-line errors.

    Option           one declared option: name, type, default, help, secret, choices, required
    env_name         COPILOT_<NAME>_<OPTION> for a plugin and an option
    resolve_options  raw config table + environment -> typed values, or ConfigError
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from .errors import ConfigError

OptionType = Literal["str", "int", "float", "bool", "list"]
TYPES: tuple[str, ...] = ("str", "int", "float", "bool", "list")
_TYPE_WORDS = {"str": "text", "int": "whole number", "float": "number", "bool": "true or false",
               "list": "list (comma-separated in the environment)"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Option:
    name: str  # lower_snake_case: the key in [plugins.<plugin>] and the <OPTION> of the variable
    type: OptionType = "str"
    default: Any = None
    help: str = ""
    secret: bool = False  # masked by `copilot config show` and `copilot plugins`
    required: bool = False  # the plugin is not loaded until it is set
    choices: tuple[Any, ...] = field(default_factory=tuple)


class PluginSetupError(Exception):
    """The plugin itself is wrong or lacks a required option: it is not loaded, the rest is."""


def env_name(plugin: str, option: str) -> str:
    return "COPILOT_" + re.sub(r"[^A-Z0-9]", "_", f"{plugin}_{option}".upper())


def check_declared(plugin: str, options: list[Any]) -> list[Option]:
    """The plugin's declaration itself: Option objects with valid names and types."""
    seen: set[str] = set()
    for opt in options:
        if not isinstance(opt, Option):
            raise PluginSetupError(f"plugin {plugin!r}: copilot_settings must return copilot.plugin_settings.Option "
                                   f"objects, got {type(opt).__name__}")
        if not _NAME.match(opt.name) or opt.name in seen:
            raise PluginSetupError(f"plugin {plugin!r}: option name {opt.name!r} must be lower_snake_case and unique")
        if opt.type not in TYPES:
            raise PluginSetupError(f"plugin {plugin!r}: option {opt.name!r} has type {opt.type!r}; "
                                   f"use one of {', '.join(TYPES)}")
        seen.add(opt.name)
    return list(options)


def convert(opt: Option, value: Any, where: str) -> Any:
    """One value as the option's type; `where` names it in the error ("config.toml: plugins.x.limit")."""
    bad = ConfigError(f"{where} must be {_TYPE_WORDS[opt.type]}, got {value!r}")
    if opt.type == "bool":
        if isinstance(value, bool):
            out: Any = value
        elif str(value).strip().lower() in ("1", "true", "yes", "on"):
            out = True
        elif str(value).strip().lower() in ("0", "false", "no", "off"):
            out = False
        else:
            raise bad
    elif opt.type in ("int", "float"):
        if isinstance(value, bool) or (opt.type == "int" and isinstance(value, float)):
            raise bad
        try:
            out = (int if opt.type == "int" else float)(str(value).strip())
        except ValueError:
            raise bad from None
    elif opt.type == "list":
        if isinstance(value, str):
            out = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, list):
            out = [str(v) for v in value]
        else:
            raise bad
    else:
        if isinstance(value, (dict, list)):
            raise bad
        out = str(value)
    if opt.choices and out not in opt.choices:
        raise ConfigError(f"{where} must be one of {', '.join(map(str, opt.choices))}, got {value!r}")
    return out


def resolve_options(plugin: str, options: list[Option], table: Mapping[str, Any] | None,
                    env: Mapping[str, str], config_path: str = "config.toml") -> dict[str, Any]:
    """Defaults < `[plugins.<plugin>]` < COPILOT_<PLUGIN>_<OPTION>. A wrong value or an unknown key
    raises ConfigError (the user's to fix); a missing required option raises PluginSetupError."""
    known = {o.name: o for o in options}
    table = dict(table or {})
    for key in table:
        if key not in known:
            hint = f"; known: {', '.join(sorted(known))}" if known else "; it declares no options"
            raise ConfigError(f"{config_path}: [plugins.{plugin}] has no option {key!r}{hint}")
    values: dict[str, Any] = {}
    for opt in options:
        var = env_name(plugin, opt.name)
        if env.get(var) is not None:
            values[opt.name] = convert(opt, env[var], f"environment: {var}")
        elif table.get(opt.name) is not None:  # None: unset (a section read before holds every option)
            values[opt.name] = convert(opt, table[opt.name], f"{config_path}: plugins.{plugin}.{opt.name}")
        elif opt.required:
            raise PluginSetupError(f"plugin {plugin!r} needs {opt.name}: set it under [plugins.{plugin}] in "
                                   f"{config_path} or as {var}")
        else:
            values[opt.name] = opt.default
    return values


def masked(options: list[Option], values: Mapping[str, Any]) -> dict[str, Any]:
    from .config import mask

    secret = {o.name for o in options if o.secret}
    return {k: (mask(str(v)) if k in secret and v else v) for k, v in values.items()}
