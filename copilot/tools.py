"""Tools the agents call, and the registry that runs them safely.

A tool is a plain function with type hints and a docstring; `@tool` turns it into a
`Tool` with a JSON schema. A parameter named `ctx` receives the `ToolContext` and is
hidden from the schema. The registry applies a timeout and an output budget, and turns
exceptions into results the model can read — a tool never crashes the loop.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from .diagnosis import Finding
from .redact import redact

Risk = Literal["read", "write"]
Status = Literal["ok", "error", "no_data", "denied"]


@dataclass
class ToolResult:
    status: Status
    output: str  # text the model reads
    data: Any = None  # structured result for the program (findings, rankings, ...)
    findings: list[Finding] = field(default_factory=list)
    truncated: bool = False
    recalled: list[dict[str, Any]] = field(default_factory=list)  # past diagnoses worth showing (id, summary, similarity)

    @classmethod
    def ok(cls, output: str, data: Any = None, findings: list[Finding] | None = None) -> "ToolResult":
        return cls("ok", output, data, list(findings or []))

    @classmethod
    def error(cls, message: str) -> "ToolResult":
        return cls("error", message)

    @classmethod
    def no_data(cls, message: str) -> "ToolResult":
        return cls("no_data", message)


@dataclass
class ToolContext:
    """What a tool may know about the run that calls it."""

    data_dir: Path | None = None  # a telemetry directory (the files source) when no sources are given
    sources: list[Any] = field(default_factory=list)  # TelemetrySource objects this run reads (copilot/sources.py)
    data_label: str = ""  # what the run reads, as the user sees it
    window: tuple[float, float] | None = None  # unix seconds, the window under investigation
    settings: Any = None
    session_id: str = ""
    cache: dict[str, Any] = field(default_factory=dict)  # per-run cache shared by tools
    findings: list[Finding] = field(default_factory=list)  # every finding reported so far

    def next_finding_id(self, prefix: str) -> str:
        from .finding_ids import next_free

        return next_free(prefix, {f.id for f in self.findings})


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema (type: object)
    fn: Callable[..., Any]
    risk: Risk = "read"
    plugin: str = ""
    timeout_s: float = 60.0

    def openai_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def signature_line(self) -> str:
        """One line for text-protocol prompts: name(arg: type, ...) - description."""
        props = self.parameters.get("properties", {})
        required = set(self.parameters.get("required", []))
        args = ", ".join(
            f"{k}: {v.get('type', 'any')}{'' if k in required else '?'}" for k, v in props.items()
        )
        first = self.description.strip().splitlines()[0] if self.description.strip() else ""
        return f"{self.name}({args}) - {first}"


_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


def _schema_for(annotation: Any) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _schema_for(non_none[0])
        return {"anyOf": [_schema_for(a) for a in non_none]}
    if origin is Literal:
        return {"type": _JSON_TYPES.get(type(args[0]), "string"), "enum": list(args)}
    if origin in (list, tuple):
        schema: dict[str, Any] = {"type": "array"}
        if args:
            schema["items"] = _schema_for(args[0])
        return schema
    if origin is dict:
        return {"type": "object"}
    return {"type": _JSON_TYPES.get(annotation, "string")}


def _param_docs(doc: str) -> dict[str, str]:
    """Read `name: text` lines from an `Args:` section of a docstring."""
    out: dict[str, str] = {}
    in_args = False
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped.lower() in ("args:", "arguments:", "parameters:"):
            in_args = True
            continue
        if in_args:
            if not stripped:
                continue
            if ":" in stripped and not stripped.endswith(":"):
                name, _, text = stripped.partition(":")
                out[name.strip()] = text.strip()
            else:
                in_args = False
    return out


def schema_from_function(fn: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    doc = inspect.getdoc(fn) or ""
    description = doc.split("\nArgs:")[0].strip()
    hints = typing.get_type_hints(fn)
    docs = _param_docs(doc)
    props: dict[str, Any] = {}
    required: list[str] = []
    for name, param in inspect.signature(fn).parameters.items():
        if name == "ctx":
            continue
        schema = _schema_for(hints.get(name, str))
        if name in docs:
            schema["description"] = docs[name]
        if param.default is inspect.Parameter.empty:
            required.append(name)
        elif param.default is not None:
            schema["default"] = param.default
        props[name] = schema
    return description, {"type": "object", "properties": props, "required": required}


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    risk: Risk = "read",
    timeout_s: float = 60.0,
) -> Any:
    """Decorator: make a `Tool` from a typed, documented function."""

    def wrap(f: Callable[..., Any]) -> Tool:
        description, params = schema_from_function(f)
        return Tool(name or f.__name__, description, params, f, risk=risk, timeout_s=timeout_s)

    return wrap(fn) if fn is not None else wrap


class DuplicateToolError(RuntimeError):
    pass


RISKS = ("read", "write")


class InvalidToolError(ValueError):
    """A tool declared wrongly (e.g. a risk other than "read" or "write"); it is not loaded."""


def check_risk(t: Tool) -> None:
    if not isinstance(t.risk, str) or t.risk not in RISKS:
        raise InvalidToolError(
            f"plugin {t.plugin or '?'!r}: tool {t.name!r} declares risk {t.risk!r}; "
            "risk must be exactly \"read\" or \"write\", so the tool was not loaded"
        )


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    """Forgive small models: "5" for an integer, "true" for a boolean."""
    kind = schema.get("type")
    try:
        if kind == "integer" and isinstance(value, str):
            return int(float(value))
        if kind == "number" and isinstance(value, str):
            return float(value)
        if kind == "boolean" and isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "y")
        if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # 1715691600 for a time given as text
        if kind == "array" and isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
    except ValueError:
        return value
    return value


class ToolRegistry:
    def __init__(self, output_budget: int = 6000) -> None:
        self._tools: dict[str, Tool] = {}
        self._validators: dict[str, tuple[dict[str, Any], Any]] = {}  # tool name -> (its schema, validator)
        self.output_budget = output_budget

    def add(self, t: Tool) -> None:
        check_risk(t)
        if t.name in self._tools:
            other = self._tools[t.name].plugin or "?"
            raise DuplicateToolError(
                f"tool {t.name!r} from plugin {t.plugin!r} clashes with the one from plugin {other!r}; "
                "rename one of them"
            )
        self._tools[t.name] = t

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._tools

    def __iter__(self):
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        return list(self._tools)

    def validate(self, t: Tool, arguments: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The arguments as the tool will get them, or the line saying what is wrong with them.

        Small models are forgiven what is harmless: unknown arguments are dropped, "5" is read
        as 5, and null for an optional argument means "not given". The rest is checked
        against the tool's JSON schema (types, enums, required) before the tool runs, so a
        TypeError raised inside a tool is never mistaken for bad arguments.
        """
        props = t.parameters.get("properties", {})
        required = set(t.parameters.get("required", []))
        args = {k: _coerce(v, props[k]) for k, v in arguments.items()
                if k in props and not (v is None and k not in required)}
        missing = [k for k in t.parameters.get("required", []) if k not in args]
        if missing:
            return args, f"missing required argument(s) {', '.join(missing)} for {t.name}; expected {t.signature_line()}"
        problems = [f"{'.'.join(map(str, e.absolute_path)) or 'arguments'}: {e.message}"
                    for e in self._validator(t).iter_errors(args)]
        if problems:
            return args, f"bad arguments for {t.name}: {'; '.join(sorted(problems))}; expected {t.signature_line()}"
        return args, None

    def _validator(self, t: Tool) -> Any:
        from jsonschema import Draft202012Validator

        cached = self._validators.get(t.name)
        if cached is None or cached[0] is not t.parameters:
            cached = (t.parameters, Draft202012Validator(t.parameters))
            self._validators[t.name] = cached
        return cached[1]

    def truncate(self, text: str) -> tuple[str, bool]:
        if len(text) <= self.output_budget:
            return text, False
        keep = self.output_budget
        cut = len(text) - keep
        return text[:keep] + f"\n... [{cut} more characters truncated]", True

    async def invoke(self, name: str, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        t = self._tools.get(name)
        if t is None:
            known = ", ".join(sorted(self._tools))
            return ToolResult.error(f"no tool named {name!r}; available tools: {known}")
        args, problem = self.validate(t, arguments if isinstance(arguments, dict) else {})
        if problem:
            return ToolResult.error(problem)
        try:  # arguments the schema allows but the function does not take: the tool is declared wrongly
            inspect.signature(t.fn).bind(**(dict(args, ctx=ctx) if self._wants_ctx(t) else args))
        except TypeError as exc:
            return self._tool_error(t, exc, f"{name} is declared wrongly (its schema and its function disagree: "
                                            f"{exc}); tell its author (plugin {t.plugin or '?'})")
        try:
            result = await asyncio.wait_for(self._call(t, args, ctx), timeout=t.timeout_s)
        except asyncio.TimeoutError:
            return ToolResult.error(f"{name} timed out after {t.timeout_s:.0f}s; narrow the time window or the component")
        except Exception as exc:  # a crash inside the tool (arguments were valid): a tool error with its type
            return self._tool_error(t, exc, f"{name} failed: {type(exc).__name__}: {exc}")
        if not isinstance(result, ToolResult):
            text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
            result = ToolResult.ok(text, data=None if isinstance(result, str) else result)
        result.output, cut = self.truncate(redact(result.output))
        result.truncated = result.truncated or cut
        return result

    @staticmethod
    def _tool_error(t: Tool, exc: BaseException, message: str) -> ToolResult:
        result = ToolResult.error(redact(" ".join(message.split())))
        result.data = {"error": "tool", "exception": type(exc).__name__, "plugin": t.plugin}
        return result

    @staticmethod
    def _wants_ctx(t: Tool) -> bool:
        return "ctx" in inspect.signature(t.fn).parameters

    async def _call(self, t: Tool, args: dict[str, Any], ctx: ToolContext) -> Any:
        kwargs = dict(args, ctx=ctx) if self._wants_ctx(t) else args
        if inspect.iscoroutinefunction(t.fn):
            return await t.fn(**kwargs)
        return await asyncio.to_thread(t.fn, **kwargs)

