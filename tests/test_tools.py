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
