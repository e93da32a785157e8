"""Typed parameters of items and workflows: string, int, enum; defaults; required.

    params:
      cluster: {type: string, required: true, aliases: [集群]}
      limit:   {type: int, default: 10}
      level:   {type: enum, values: [low, high], default: low}

`start` and `end` (the window) are always available to templates and need no declaration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import CopilotError
from .yamlspec import NAME, Path_, Spec, check_keys

TYPES = ("string", "int", "enum")
WINDOW_NAMES = ("start", "end")
# Words people use for common parameters (chat-ops reads "集群 c1" as cluster=c1).
COMMON_ALIASES: dict[str, tuple[str, ...]] = {
    "cluster": ("cluster", "集群"),
    "service": ("service", "svc", "服务", "应用"),
    "namespace": ("namespace", "ns", "命名空间"),
    "node": ("node", "host", "节点", "机器", "主机"),
    "pod": ("pod",),
    "psm": ("psm",),
    "region": ("region", "区域", "地域"),
    "database": ("database", "db", "数据库"),
}


@dataclass
class Param:
    name: str
    type: str = "string"
    required: bool = False
    default: Any = None
    values: list[str] = field(default_factory=list)
    description: str = ""
    aliases: list[str] = field(default_factory=list)

    def words(self) -> list[str]:
        return list(dict.fromkeys([self.name, *self.aliases, *COMMON_ALIASES.get(self.name, ())]))

    def coerce(self, value: Any, where: str = "") -> Any:
        where = where or f"parameter {self.name}"
        if self.type == "int":
            try:
                return int(str(value).strip())
            except ValueError:
                raise CopilotError(f"{where} must be a whole number, got {value!r}") from None
        text = str(value)
        if self.type == "enum" and text not in self.values:
            raise CopilotError(f"{where} must be one of {', '.join(self.values)}, got {text!r}")
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "required": self.required}
        if self.default is not None:
            out["default"] = self.default
        if self.values:
            out["values"] = self.values
        if self.description:
            out["description"] = self.description
        return out


def parse_params(spec: Spec, path: Path_, raw: Any) -> dict[str, Param]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise spec.fail(path, "must be a mapping of name: {type: string|int|enum, required: true, default: ...}")
    out: dict[str, Param] = {}
    for name, body in raw.items():
        where = path + (name,)
        if not isinstance(name, str) or not NAME.match(name):
            raise spec.fail(where, "parameter names are letters, digits, _ and -, starting with a letter")
        if name in WINDOW_NAMES:
            raise spec.fail(where, f"{name} is the window's {name} and always set; pick another name")
        if isinstance(body, str):
            body = {"type": body}
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise spec.fail(where, "must be a mapping such as {type: string, required: true}")
        check_keys(spec, where, body, ("type", "required", "default", "values", "description", "aliases"))
        kind = body.get("type", "string")
        if kind not in TYPES:
            raise spec.fail(where + ("type",), f"unknown type {kind!r}; use one of: {', '.join(TYPES)}")
        values = body.get("values") or []
        if kind == "enum" and (not isinstance(values, list) or not values):
            raise spec.fail(where + ("values",), "an enum needs values: [a, b, ...]")
        aliases = body.get("aliases") or []
        if not isinstance(aliases, list):
            raise spec.fail(where + ("aliases",), "must be a list of words, e.g. [集群, cluster]")
        param = Param(name, kind, bool(body.get("required", False)), body.get("default"), [str(v) for v in values],
                      str(body.get("description", "")), [str(a) for a in aliases])
        if param.default is not None:
            try:
                param.default = param.coerce(param.default)
            except CopilotError as exc:
                raise spec.fail(where + ("default",), str(exc)) from None
        out[name] = param
    return out


def parse_assignments(pairs: list[str] | None) -> dict[str, str]:
    """`--param k=v` flags -> {k: v}; a malformed one is a one-line error."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CopilotError(f"--param {pair!r}: write it as name=value, e.g. --param cluster=c1")
        out[key.strip()] = value
    return out


def bind(params: dict[str, Param], given: dict[str, Any], what: str) -> dict[str, Any]:
    """Check and type the given values against the declared parameters, filling defaults."""
    unknown = [k for k in given if k not in params and k not in WINDOW_NAMES]
    if unknown:
        known = ", ".join(params) or "none"
        raise CopilotError(f"{what} has no parameter {unknown[0]!r}; its parameters: {known}")
    out: dict[str, Any] = {}
    for name, param in params.items():
        if name in given and given[name] not in (None, ""):
            out[name] = param.coerce(given[name], f"{what}: parameter {name}")
        elif param.default is not None:
            out[name] = param.default
        elif param.required:
            raise CopilotError(f"{what} needs parameter {name}; pass --param {name}=...")
    return out
