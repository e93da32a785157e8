"""Shared scaffolding for the front-end tests (TUI and REPL); it holds no tests itself.

A scripted brain plays back fixed steps (events, then a Decision) through the real
Session and agent loop, with a few toy tools: one that reports a finding, one that
changes systems (needs approval), one that is slow (to cancel). Nothing inside the
process is faked except the model, which is what a scripted brain stands in for.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from copilot.brains.base import Decision, RunState, ToolCall
from copilot.config import Settings
from copilot.diagnosis import Finding
from copilot.events import AnswerDelta, Event, ThoughtDelta, Usage
from copilot.plugin_manager import LoadedPlugins, Plugin
from copilot.session import Session
from copilot.tools import ToolRegistry, ToolResult, tool

ANSWER = "## Root cause\n\n**cart** is slow: its p90 latency rose 12x at 14:05.\n"


class ScriptedBrain:
    """Plays back one list of items per step; the last item of each list is a Decision."""

    label = "scripted"

    def __init__(self, steps: list[list[Any]]) -> None:
        self.steps = steps

    async def step(self, state: RunState):
        for item in self.steps[min(len(state.steps), len(self.steps) - 1)]:
            if isinstance(item, Exception):
                raise item  # a brain with a bug
            yield item


def make_tools(log: list[str]) -> list:
    @tool
    def check_latency(service: str) -> ToolResult:
        """Compare a service's latency with its baseline.

        Args:
            service: the service to check
        """
        finding = Finding("M1", "metrics", service, "latency_p90", "spike",
                          f"{service} p90 latency rose 12x at 14:05", score=9.1)
        return ToolResult.ok(f"{service}: p90 latency 1.2 s, baseline 0.1 s\nwindow 13:50-14:20", findings=[finding])

    @tool(risk="write")
    def restart_service(service: str) -> str:
        """Restart a service.

        Args:
            service: the service to restart
        """
        log.append(f"restarted {service}")
        return f"restarted {service}"

    @tool
    async def slow_scan() -> str:
        """Scan everything, slowly."""
        log.append("slow scan started")
        await asyncio.sleep(30)
        log.append("slow scan finished")
        return "scan done"

    return [check_latency, restart_service, slow_scan]


def investigation_script() -> list[list[Any]]:
    """Two steps: check latency (a finding), then answer in streamed Markdown."""
    return [
        [
            ThoughtDelta(1, "Latency first, "),
            ThoughtDelta(1, "the alert is about slowness."),
            Usage(100, 20, 120),
            Decision("Latency first, the alert is about slowness.",
                     [ToolCall("c1", "check_latency", {"service": "cart"})], agent="metrics"),
        ],
        [
            AnswerDelta(ANSWER[:20]),
            AnswerDelta(ANSWER[20:]),
            Usage(200, 30, 230),
            Decision("cart latency explains the alert.", answer=ANSWER, agent="report"),
        ],
    ]


def restart_script() -> list[list[Any]]:
    """One step that restarts a service (needs approval), then an answer."""
    return [
        [Decision("Restart cart to clear it.", [ToolCall("c1", "restart_service", {"service": "cart"})])],
        [Decision("Done.", answer="Restart handled.")],
    ]


def broken_script() -> list[list[Any]]:
    """A brain that fails with an unexpected error at its second step."""
    return [
        [Decision("Latency first.", [ToolCall("c1", "check_latency", {"service": "cart"})])],
        [RuntimeError("the brain tripped")],
    ]


def slow_script() -> list[list[Any]]:
    return [
        [Decision("Scan everything.", [ToolCall("c1", "slow_scan", {})], agent="metrics")],
        [Decision("Done.", answer="Scanned.")],
    ]


def make_session(tmp_path: Path, monkeypatch, steps: list[list[Event | Decision]], log: list[str] | None = None,
                 session_id: str = "test-session") -> Session:
    """A real Session over toy tools; the scripted brain replaces the model."""
    tools = make_tools(log if log is not None else [])
    registry = ToolRegistry()
    for t in tools:
        registry.add(t)
    plugins = LoadedPlugins([Plugin("toy", "toy tools for tests", tools)], registry, [])
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    # investigations read their data before the first step: a tiny real telemetry file
    (data / "metrics.csv").write_text("timestamp,component,metric,value\n2024-05-14T13:05:00Z,cart,latency_p99,180.5\n")
    settings = Settings(data=str(data), memory=False, sessions_dir=str(tmp_path / "sessions"), max_steps=6)
    brain = ScriptedBrain(steps)
    monkeypatch.setattr("copilot.session.make_brain", lambda s: brain)
    return Session(settings, plugins=plugins, memory=False, session_id=session_id)
