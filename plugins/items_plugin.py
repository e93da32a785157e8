"""The `items` plugin: every diagnosis item file becomes a read-only tool (`item_<name>`),
through the same plugin door as every other tool. A bad item file fails the plugin's load
(reported by `copilot plugins`), so nothing is half-loaded."""

from __future__ import annotations

import time
from typing import Any

from copilot.finding_ids import allocator
from copilot.plugin_manager import Plugin
from copilot.tools import Tool, ToolContext, ToolResult

PREFIX = {"metrics": "M", "logs": "L", "traces": "T", "changes": "C", "alerts": "A"}
DEFAULT_WINDOW_S = 3600.0


def _schema(item: Any) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, p in item.params.items():
        schema: dict[str, Any] = {"type": "integer" if p.type == "int" else "string"}
        if p.values:
            schema["enum"] = p.values
        if p.description:
            schema["description"] = p.description
        if p.default is not None:
            schema["default"] = p.default
        props[name] = schema
    required = [n for n, p in item.params.items() if p.required and p.default is None]
    return {"type": "object", "properties": props, "required": required}


def item_tool(item: Any, catalog: Any, settings: Any) -> Tool:
    from copilot.plugins.items.catalog import run_item

    async def call(ctx: ToolContext | None = None, **kwargs: Any) -> ToolResult:
        ctx = ctx or ToolContext()
        window = ctx.window or (time.time() - DEFAULT_WINDOW_S, time.time())
        result = await run_item(item, kwargs, window, settings=ctx.settings or settings, catalog=catalog)
        next_id = allocator(f.id for f in ctx.findings)
        for f in result.findings:
            f.id = next_id(PREFIX.get(f.source, "F"))
        if not result.findings:
            return ToolResult.ok(f"{item.name}: no problem found", data=result.to_dict())
        text = "\n".join(f"[{f.id}] {f.component}: {f.summary}" for f in result.findings)
        return ToolResult.ok(text, data=result.to_dict(), findings=result.findings)

    return Tool(f"item_{item.name.replace('-', '_')}", f"{item.description} (diagnosis item {item.name}, {item.kind})",
                _schema(item), call, risk="read", timeout_s=120.0)


def plugin() -> Plugin:
    from copilot.config import load_settings
    from copilot.plugins.items.catalog import load_catalog

    settings = load_settings()
    catalog = load_catalog(settings)
    # The team's own items; the bundled ones are examples the bundled workflows use.
    tools = [item_tool(item, catalog, settings) for name, item in sorted(catalog.items.items())
             if name not in catalog.bundled]
    return Plugin(name="items", description="the team's diagnosis items (YAML): HTTP checks, registry metrics, rule groups",
                  tools=tools)
