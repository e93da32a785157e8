"""Approvals: risk validated at registration, --yes plus an allowlist, no standing auto-approve,
approvals from a terminal only, writes de-duplicated and capped per run."""

from __future__ import annotations

import asyncio
import io
import os

import pytest

from copilot.agent import Agent
from copilot.approval import MAX_WRITES_PER_RUN, AllowAll, AllowListed, DenyAll, query_approver
from copilot.brains.base import Decision
from copilot.config import load_settings
from copilot.errors import ConfigError
from copilot.events import ApprovalRequested, Observation
from copilot.plugin_manager import Plugin, load_plugins
from copilot.tools import Tool, ToolContext, ToolRegistry, tool
from tests.fakes import ScriptedBrain, call
from copilot.tui.repl import LineReader


def _restart_tool(log: list[str], risk: str = "write") -> Tool:
    @tool(name="restart", risk="write")
    def restart(component: str) -> str:
        """Restart a component."""
        log.append(component)
        return f"restarted {component}"

    restart.risk = risk
    return restart


def _run(agent: Agent) -> list:
    async def go():
        return [e async for e in agent.run("fix it")]

    return asyncio.run(go())


@pytest.mark.parametrize("risk", ["Write", "WRITE", "admin", "", None, "write "])
def test_unknown_risk_refuses_to_load_the_tool_with_one_line(risk):
    log: list[str] = []
    bad = _restart_tool(log, risk)

    @tool
    def fine() -> str:
        """Fine."""
        return "ok"

    loaded = load_plugins(extra=[Plugin("ops", "hostile", [bad, fine])], disabled={"telemetry", "kb", "prometheus"})
    assert "restart" not in loaded.registry and "fine" in loaded.registry
    line = [e for e in loaded.errors if "restart" in e]
    assert len(line) == 1 and "'ops'" in line[0] and "\n" not in line[0]
    assert '"read" or "write"' in line[0]
    with pytest.raises(ValueError):
        ToolRegistry().add(_restart_tool(log, risk))


def test_bug_inside_a_tool_is_a_tool_error_not_bad_arguments():
    @tool
    def buggy(component: str) -> str:
        """Has a bug."""
        return len(component, 3)  # TypeError inside the tool

    reg = ToolRegistry()
    reg.add(buggy)
    r = asyncio.run(reg.invoke("buggy", {"component": "cart"}, ToolContext()))
    assert r.status == "error" and "bad arguments" not in r.output
    assert r.output.startswith("buggy failed: TypeError")
    r = asyncio.run(reg.invoke("buggy", {"component": "cart", "extra": 1}, ToolContext()))
    assert r.status == "ok" or "bad arguments" not in r.output  # unknown args are dropped, never a crash


def test_auto_approve_is_not_a_standing_setting(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="--allow-tool"):
        load_settings(env={"COPILOT_AUTO_APPROVE": "1", "XDG_CONFIG_HOME": str(tmp_path)})
    cfg = tmp_path / "c.toml"
    cfg.write_text("auto_approve = true\n")
    monkeypatch.setenv("COPILOT_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="auto_approve cannot be set"):
        load_settings(env={"COPILOT_CONFIG": str(cfg)})
    cfg.write_text('approved_tools = ["restart"]\n')
    s = load_settings({"auto_approve": True}, env={"COPILOT_CONFIG": str(cfg)})
    assert s.auto_approve and s.approved_tools == ["restart"]


def test_query_approves_only_with_yes_and_the_allowlist():
    def approves(approver, name):
        return asyncio.run(approver.approve(name, {}, ""))

    assert not approves(query_approver(False, ["restart"]), "restart")
    assert not approves(query_approver(True, []), "restart")  # --yes alone approves nothing
    assert approves(query_approver(True, ["restart"]), "restart")
    assert not approves(query_approver(True, ["restart"]), "delete_pod")


def test_an_injected_write_runs_once_and_writes_are_capped():
    log: list[str] = []
    reg = ToolRegistry()
    reg.add(_restart_tool(log))
    same = [Decision("again", [call("restart", component="cart")]) for _ in range(14)]
    events = _run(Agent(ScriptedBrain(same + [Decision("", answer="done")]), reg, approver=AllowListed(["restart"])))
    assert log == ["cart"]
    denied = [e for e in events if isinstance(e, Observation) and e.status == "denied"]
    assert denied and "at most once" in denied[0].output
    log.clear()
    many = [Decision("more", [call("restart", component=f"c{i}")]) for i in range(10)]
    events = _run(Agent(ScriptedBrain(many + [Decision("", answer="done")]), reg, approver=AllowAll()))
    assert log == [f"c{i}" for i in range(MAX_WRITES_PER_RUN)]
    assert sum(1 for e in events if isinstance(e, ApprovalRequested) and e.approved) == MAX_WRITES_PER_RUN
    # a denied write does not count and may be asked again
    events = _run(Agent(ScriptedBrain([Decision("x", [call("restart", component="a")])] * 2), reg, approver=DenyAll()))
    assert sum(isinstance(e, ApprovalRequested) for e in events) == 2


def test_piped_repl_never_reads_approvals_from_stdin():
    stdin = io.StringIO("y\nnext question\n")
    out = io.StringIO()
    reader = LineReader(stdin, out, tty="/nonexistent/tty")
    assert asyncio.run(reader.confirm("run restart? [y/N] ")) == ""
    assert "no terminal to ask" in out.getvalue() and "denied" in out.getvalue()
    assert stdin.readline() == "y\n"  # the piped text was not consumed


def test_piped_repl_asks_the_terminal():
    master, slave = os.openpty()
    try:
        stdin = io.StringIO("y\n")
        reader = LineReader(stdin, io.StringIO(), tty=os.ttyname(slave))
        os.write(master, b"yes\n")
        assert asyncio.run(reader.confirm("run restart? [y/N] ")) == "yes"
        assert stdin.read() == "y\n"
    finally:
        os.close(master)
        os.close(slave)
