"""Example plugin: a deploy-queue tool, a status-page source, a `copilot status-page` command.

Every hook it implements is a module-level function marked with `hookimpl`; the copilot
finds the module through the entry point in pyproject.toml. Its options live under
`[plugins.example]` in config.toml, or COPILOT_EXAMPLE_<OPTION> in the environment.
"""

from __future__ import annotations

import json
from typing import Any

from copilot.errors import CopilotError
from copilot.hookspecs import hookimpl
from copilot.plugin_settings import Option
from copilot.sources import SourceCheck, SourceQuery
from copilot.tools import ToolContext, ToolResult, tool

NAME = "example"


def options(settings: Any) -> dict[str, Any]:
    """This plugin's options, as the copilot read and checked them."""
    return dict((getattr(settings, "plugins", None) or {}).get(NAME) or {})


@hookimpl
def copilot_plugin_info() -> dict[str, str]:
    return {"description": "status page incidents and the deploy queue (example plugin)"}


@hookimpl
def copilot_settings() -> list[Option]:
    return [
        Option("status_file", help="a JSON file of status-page incidents: [{\"time\", \"component\", \"title\"}]"),
        Option("max_items", type="int", default=20, help="at most this many incidents per answer"),
        Option("team", default="sre", help="whose deploy queue"),
        Option("token", secret=True, help="status page API token"),
        Option("mode", default="read", choices=("read", "audit")),
    ]


@tool
def deploy_queue(component: str, ctx: ToolContext = None) -> ToolResult:
    """Deploys waiting in the queue for a component.

    Args:
        component: service name, e.g. checkout
    """
    mine = options(getattr(ctx, "settings", None))
    return ToolResult.ok(f"{mine.get('team', 'sre')}: no deploys queued for {component} "
                         f"(showing at most {mine.get('max_items', 20)})")


@hookimpl
def copilot_tools(settings: Any) -> list:
    return [deploy_queue]


class StatusPageSource:
    """Status-page incidents as alerts, from the file named by `status_file`."""

    name = "status-page"
    kinds = frozenset({"alerts", "incidents"})
    live = True  # the status page says what is happening now

    def __init__(self, path: str, max_items: int) -> None:
        self.path = path
        self.max_items = max_items
        self.label = f"status page incidents in {path}"

    def _rows(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                rows = json.load(fh)
        except (OSError, ValueError) as exc:
            raise CopilotError(f"{self.path}: cannot read status-page incidents ({exc})") from None
        return rows[: self.max_items]

    def collect(self, query: SourceQuery):
        from copilot.plugins.telemetry.model import Alert, Telemetry
        from copilot.plugins.telemetry.tables import parse_time

        alerts = [Alert(timestamp=parse_time(r["time"]), component=r["component"], name=r["title"],
                        severity="critical", description="status page")
                  for r in self._rows()]
        return Telemetry(alerts=[a for a in alerts if query.start <= a.timestamp <= query.end])

    def check(self) -> SourceCheck:
        try:
            n = len(self._rows())
        except CopilotError as exc:
            return SourceCheck(self.name, self.label, False, str(exc))
        return SourceCheck(self.name, self.label, True, f"{n} incidents")


def status_page_source(settings: Any) -> StatusPageSource | None:
    mine = options(settings)
    if not mine.get("status_file"):
        return None  # not configured
    return StatusPageSource(mine["status_file"], int(mine.get("max_items") or 20))


@hookimpl
def copilot_sources() -> list:
    return [status_page_source]


@hookimpl
def copilot_data_kinds() -> dict[str, str]:
    return {"incidents": "incidents declared on a status page"}


def _status(args: Any) -> int:
    if args.crash:
        raise RuntimeError("the status page answered 500")
    mine = options(args.copilot_settings)  # the copilot's Settings, this plugin's section checked
    print(f"team={mine['team']} max_items={mine['max_items']} mode={mine['mode']}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("status-page", help="show this plugin's settings as the copilot read them")
    p.add_argument("--crash", action="store_true", help="fail the way a buggy command does")
    p.set_defaults(func=_status)


@hookimpl
def copilot_commands() -> list:
    return [register]
