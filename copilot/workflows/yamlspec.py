"""YAML files with line numbers, so every complaint names `FILE:LINE: field: what to fix`.

`read_spec(path)` composes the document (yaml node marks carry the lines), builds plain
Python values with the safe loader, and maps every key path to its line. `Spec.fail`
raises a `SpecError` at the nearest known line of a field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..errors import CopilotError

Path_ = tuple[Any, ...]


class SpecError(CopilotError):
    """One line: `FILE:LINE: field: what to fix`."""

    def __init__(self, file: str, line: int, field: str, fix: str) -> None:
        self.file, self.line, self.field, self.fix = file, line, field, fix
        super().__init__(f"{file}:{line}: {field}: {fix}")


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


@dataclass
class Spec:
    file: str
    data: Any
    lines: dict[Path_, int]

    def line(self, path: Path_) -> int:
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def fail(self, path: Iterable[Any], fix: str) -> SpecError:
        path = tuple(path)
        return SpecError(self.file, self.line(path), dotted(path), fix)


def _walk(node: Any, path: Path_, lines: dict[Path_, int]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (str(key.value),)
            lines[sub] = key.start_mark.line + 1
            _walk(value, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            sub = path + (i,)
            lines[sub] = value.start_mark.line + 1
            _walk(value, sub, lines)


def parse_spec(text: str, file: str) -> Spec:
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise SpecError(file, line, "(yaml)", f"not valid YAML ({exc.problem or exc.context}); fix the syntax") from None
    except yaml.YAMLError as exc:
        raise SpecError(file, 1, "(yaml)", f"not valid YAML ({exc})") from None
    lines: dict[Path_, int] = {(): 1}
    if node is not None:
        _walk(node, (), lines)
    spec = Spec(file, data, lines)
    if not isinstance(data, dict):
        raise spec.fail((), "the file must be a YAML mapping (name: ..., ...)")
    return spec


def read_spec(path: Path) -> Spec:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), 1, "(file)", f"cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    return parse_spec(text, str(path))


# -- templates: ${name}, ${env:NAME} --------------------------------------------------------

PLACEHOLDER = re.compile(r"\$\{(env:)?([A-Za-z_][A-Za-z0-9_.]*)\}")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")


def placeholders(value: Any) -> list[tuple[bool, str]]:
    """Every `${...}` in a (nested) value: (is_env, name)."""
    out: list[tuple[bool, str]] = []
    if isinstance(value, str):
        out += [(bool(m.group(1)), m.group(2)) for m in PLACEHOLDER.finditer(value)]
    elif isinstance(value, dict):
        for k, v in value.items():
            out += placeholders(k) + placeholders(v)
    elif isinstance(value, list):
        for v in value:
            out += placeholders(v)
    return out


class MissingValue(CopilotError):
    pass


def render(value: Any, values: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    """Fill `${name}` from values and `${env:NAME}` from the environment, in nested values."""
    import os

    environ = os.environ if env is None else env
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            name = m.group(2)
            if m.group(1):
                if name not in environ:
                    raise MissingValue(f"environment variable {name} is not set; export {name}=...")
                return environ[name]
            if name not in values or values[name] is None:
                raise MissingValue(f"no value for ${{{name}}}; pass --param {name}=...")
            return str(values[name])
        return PLACEHOLDER.sub(sub, value)
    if isinstance(value, dict):
        return {render(k, values, env): render(v, values, env) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, values, env) for v in value]
    return value


def check_keys(spec: Spec, path: Path_, mapping: dict[str, Any], allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    for key in mapping:
        if key not in allowed:
            raise spec.fail(path + (key,), f"unknown field; use one of: {', '.join(allowed)}")


def need(spec: Spec, path: Path_, mapping: dict[str, Any], key: str, kind: type | tuple[type, ...], hint: str) -> Any:
    if key not in mapping or mapping[key] is None:
        raise spec.fail(path + (key,) if path else (key,), f"missing; {hint}")
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise spec.fail(path + (key,), f"must be {_kind_name(kind)}; {hint}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "a number", float: "a number", dict: "a mapping", list: "a list", bool: "true or false"}
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def parse_duration(text: Any) -> float | None:
    """'5m', '90s', '1h', 300 -> seconds; None when unreadable."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", str(text))
    if not m:
        return None
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2) or "s"]
    return float(m.group(1)) * scale
