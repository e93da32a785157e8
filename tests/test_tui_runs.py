"""The TUI's run-history screen (F3 or /runs) driven through Pilot over the real LanceDB run
history in the test's XDG data dir: two recorded workflow runs (against the local platform
API of tests/test_items_workflows.py), their steps, and labelling one."""

from __future__ import annotations

import asyncio
import json

from textual.widgets import DataTable, Input, Select, Static

from copilot.cli import main
from copilot.workflows.history import RunHistory
from tests.test_items_workflows import api, confdir  # noqa: F401  (fixtures)
from tests.test_tui_support import investigation_script, make_session
from copilot.tui.app import CopilotApp
from copilot.tui.runs import LabelForm, RunsScreen
from copilot.tui.widgets import HistoryInput


async def wait_for(condition, pilot, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await pilot.pause(0.02)


async def record(capsys, cluster: str) -> str:
    """`copilot workflows run` (its own event loop, so in a thread) records one run."""
    code = await asyncio.to_thread(main, ["workflows", "run", "cluster-health", "--param", f"cluster={cluster}",
                                          "--format", "json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)["workflow"]["run_id"]


def cells(table: DataTable, row: int) -> list[str]:
    return [str(c) for c in table.get_row_at(row)]


async def test_runs_screen_lists_runs_shows_steps_and_labels_one(confdir, api, capsys, tmp_path, monkeypatch):  # noqa: F811
    first, second = await record(capsys, "c1"), await record(capsys, "c2")
    app = CopilotApp(make_session(tmp_path, monkeypatch, investigation_script()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, RunsScreen) and app.screen.loaded, pilot)
        screen = app.screen
        runs = screen.query_one("#runs", DataTable)
        assert [cells(runs, i)[:3] for i in range(runs.row_count)] == [[second, "cluster-health", "cluster=c2"],
                                                                       [first, "cluster-health", "cluster=c1"]]
        steps = screen.query_one("#steps", DataTable)
        await wait_for(lambda: screen.run_id == second and steps.row_count == 1, pilot)
        assert cells(steps, 0) == ["cluster_status_0", "item", "cluster_status", "ok", "2", ""]
        detail = str(screen.query_one("#step-detail", Static).render())
        assert "c2: 3 nodes NotReady" in detail and '"cluster": "c2"' in detail

        runs.focus()
        await pilot.press("down")  # the older run's steps
        await wait_for(lambda: screen.run_id == first, pilot)
        assert "c1: 3 nodes NotReady" in str(screen.query_one("#step-detail", Static).render())

        await pilot.press("tab", "l")
        await wait_for(lambda: isinstance(app.screen, LabelForm), pilot)
        form = app.screen
        await pilot.press("ctrl+s")  # no label chosen: the form says so and stays
        assert isinstance(app.screen, LabelForm) and "choose a label" in str(form.query_one("#label-problem").render())
        form.query_one("#label-value", Select).value = "wrong"
        form.query_one("#label-suggested", Input).value = "only the node problem"
        await pilot.press("ctrl+s")
        await wait_for(lambda: app.screen is screen and cells(steps, 0)[-1] == "wrong →", pilot)
        assert cells(runs, 1)[-1] == "1"
        assert "labelled cluster_status_0 of run" in str(screen.query_one("#runs-status", Static).render())
        (step,) = RunHistory().steps(first)
        assert step["label"] == "wrong" and step["suggested"] == "only the node problem"
        assert RunHistory().steps(second)[0]["label"] == ""
        await pilot.press("escape")
        assert not isinstance(app.screen, RunsScreen)
        app.query_one(HistoryInput).value = "/runs"
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, RunsScreen), pilot)


async def test_an_empty_history_says_how_to_record_a_run(tmp_path, monkeypatch):
    app = CopilotApp(make_session(tmp_path, monkeypatch, investigation_script()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, RunsScreen) and app.screen.loaded, pilot)
        assert "no workflow runs yet" in str(app.screen.query_one("#runs-status", Static).render())
