import asyncio
import time

import pytest

from copilot.diagnosis import Finding
from copilot.tools import DuplicateToolError, Tool, ToolContext, ToolRegistry, ToolResult, tool


@tool
def lookup(component: str, limit: int = 5, verbose: bool = False) -> str:
    """Look up a component.

    Args:
        component: the service name
        limit: how many rows
    """
    return f"{component}:{limit}:{verbose}"


def test_schema_from_type_hints_and_docstring():
    assert lookup.name == "lookup"
    assert lookup.description == "Look up a component."
    props = lookup.parameters["properties"]
    assert props["component"] == {"type": "string", "description": "the service name"}
    assert props["limit"]["type"] == "integer" and props["limit"]["default"] == 5
    assert props["verbose"]["type"] == "boolean"
    assert lookup.parameters["required"] == ["component"]
    assert lookup.openai_schema()["function"]["name"] == "lookup"


def test_ctx_parameter_is_hidden_and_passed():
    @tool
    def where(ctx: ToolContext) -> str:
        """Where is the data."""
        return str(ctx.data_dir)

    assert where.parameters["properties"] == {}
    reg = ToolRegistry()
    reg.add(where)
    from pathlib import Path

    result = asyncio.run(reg.invoke("where", {}, ToolContext(data_dir=Path("/x"))))
    assert result.status == "ok" and result.output == "/x"


def test_invoke_coerces_small_model_arguments():
    reg = ToolRegistry()
    reg.add(lookup)
    result = asyncio.run(reg.invoke("lookup", {"component": "cart", "limit": "7", "verbose": "true"}, ToolContext()))
    assert result.output == "cart:7:True"


def test_errors_become_readable_results():
    @tool
    def boom() -> str:
        """Fails."""
        raise RuntimeError("disk on fire")

    reg = ToolRegistry()
    reg.add(boom)
    reg.add(lookup)
    ctx = ToolContext()
    r = asyncio.run(reg.invoke("boom", {}, ctx))
    assert r.status == "error" and "disk on fire" in r.output
    r = asyncio.run(reg.invoke("nope", {}, ctx))
    assert r.status == "error" and "lookup" in r.output  # lists what exists
    r = asyncio.run(reg.invoke("lookup", {}, ctx))
    assert r.status == "error" and "component" in r.output


def test_timeout_and_truncation():
    def slow() -> str:
        time.sleep(0.5)
        return "late"

    reg = ToolRegistry(output_budget=50)
    reg.add(Tool("slow", "Slow.", {"type": "object", "properties": {}}, slow, timeout_s=0.05))
    reg.add(Tool("big", "Big.", {"type": "object", "properties": {}}, lambda: "x" * 500))
    r = asyncio.run(reg.invoke("slow", {}, ToolContext()))
    assert r.status == "error" and "timed out" in r.output
    r = asyncio.run(reg.invoke("big", {}, ToolContext()))
    assert r.truncated and len(r.output) < 120 and "truncated" in r.output


def test_duplicate_names_fail_loudly():
    reg = ToolRegistry()
    a = Tool("same", "a", {"type": "object", "properties": {}}, lambda: "", plugin="one")
    b = Tool("same", "b", {"type": "object", "properties": {}}, lambda: "", plugin="two")
    reg.add(a)
    with pytest.raises(DuplicateToolError, match="one"):
        reg.add(b)


def test_finding_ids_are_unique_per_prefix():
    ctx = ToolContext()
    ctx.findings.append(Finding("M1", "metrics", "cart", "cpu", "spike", "x"))
    assert ctx.next_finding_id("M") == "M2"
    assert ctx.next_finding_id("L") == "L1"
    assert ToolResult.ok("fine").status == "ok"


# -- arguments are checked before the call; a crash inside a tool is a tool error --------------

def _counting_registry():
    from typing import Literal

    calls: list[dict] = []

    @tool
    def scan(component: str, limit: int = 5, kind: Literal["cpu", "mem"] = "cpu", since: str | None = None) -> str:
        """Scan a component.

        Args:
            component: service
            limit: rows
            kind: what to scan
            since: start time
        """
        calls.append({"component": component, "limit": limit, "kind": kind, "since": since})
        return f"{component}:{limit}:{kind}:{since}"

    reg = ToolRegistry()
    reg.add(scan)
    return reg, calls


@pytest.mark.parametrize("arguments, problem", [
    ({"component": "cart", "limit": "many"}, "limit: 'many' is not of type 'integer'"),
    ({"component": "cart", "kind": "disk"}, "kind: 'disk' is not one of ['cpu', 'mem']"),
    ({"component": ["cart"]}, "component: ['cart'] is not of type 'string'"),
    ({"component": None}, "component: None is not of type 'string'"),
])
def test_bad_arguments_are_refused_before_the_tool_runs(arguments, problem):
    reg, calls = _counting_registry()
    r = asyncio.run(reg.invoke("scan", arguments, ToolContext()))
    assert r.status == "error" and r.output.startswith("bad arguments for scan: ")
    assert problem in r.output and "expected scan(component: string" in r.output
    assert calls == []  # the tool never ran


def test_forgiven_arguments_reach_the_tool():
    reg, calls = _counting_registry()
    r = asyncio.run(reg.invoke("scan", {"component": "cart", "limit": "3", "since": None, "colour": "red"},
                               ToolContext()))
    assert r.status == "ok" and r.output == "cart:3:cpu:None"
    assert calls == [{"component": "cart", "limit": 3, "kind": "cpu", "since": None}]


@pytest.mark.parametrize("exc_type", [TypeError, KeyError, ValueError])
def test_a_crash_inside_a_tool_is_a_tool_error_with_its_type(exc_type):
    @tool
    def fragile(component: str) -> str:
        """Crashes with a bug of its own.

        Args:
            component: service
        """
        raise exc_type(f"bug while reading {component} with Bearer sk-abcdefghijklmnop1234")

    reg = ToolRegistry()
    reg.add(fragile)
    r = asyncio.run(reg.invoke("fragile", {"component": "cart"}, ToolContext()))
    assert r.status == "error" and "bad arguments" not in r.output
    assert r.output.startswith(f"fragile failed: {exc_type.__name__}: ") and "bug while reading" in r.output
    assert "sk-abcdefghijklmnop1234" not in r.output  # a secret in an exception is redacted
    assert r.data["exception"] == exc_type.__name__ and r.data["error"] == "tool"


def test_a_schema_the_function_does_not_match_is_the_tools_fault():
    def fn(component: str) -> str:
        return component

    broken = Tool("mismatch", "Schema offers what the function lacks.",
                  {"type": "object", "properties": {"component": {"type": "string"}, "depth": {"type": "integer"}},
                   "required": ["component"]}, fn, plugin="thirdparty")
    reg = ToolRegistry()
    reg.add(broken)
    r = asyncio.run(reg.invoke("mismatch", {"component": "cart", "depth": 2}, ToolContext()))
    assert r.status == "error" and "bad arguments" not in r.output
    assert "mismatch is declared wrongly" in r.output and "plugin thirdparty" in r.output
    assert r.data["exception"] == "TypeError"
    assert asyncio.run(reg.invoke("mismatch", {"component": "cart"}, ToolContext())).output == "cart"


def test_every_installed_tool_declares_a_valid_json_schema():
    from jsonschema import Draft202012Validator

    from copilot.plugin_manager import load_plugins

    loaded = load_plugins()
    assert len(loaded.registry) >= 10
    for t in loaded.registry:
        Draft202012Validator.check_schema(t.parameters)  # raises SchemaError naming the problem
