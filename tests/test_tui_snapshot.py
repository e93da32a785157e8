"""Snapshot of the TUI's main screen after a scripted investigation.

Deterministic: a fixed session id, the status clock frozen at 0 and the agent loop's
stopwatch frozen, so no elapsed time varies. Update with
`pytest tests/test_tui_snapshot.py --snapshot-update` and look at the SVG before committing.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from tests.test_tui_support import investigation_script, make_session
from copilot.tui.app import CopilotApp
from copilot.tui.widgets import HistoryInput


def test_main_screen_after_an_investigation(snap_compare, tmp_path, monkeypatch):
    frozen = SimpleNamespace(perf_counter=lambda: 0.0, monotonic=time.monotonic, time=time.time,
                             strftime=time.strftime)
    monkeypatch.setattr("copilot.agent.time", frozen)
    session = make_session(tmp_path, monkeypatch, investigation_script(), session_id="snapshot-session")
    # the data label names a temporary folder: give it a fixed one so the snapshot is stable
    from copilot.sources import DataSelection
    from copilot.plugins.telemetry.files_source import FilesSource

    session._selection = DataSelection([FilesSource(tmp_path / "data", label="files in ./incident")])
    app = CopilotApp(session, clock=lambda: 0.0)

    async def investigate(pilot) -> None:
        while app.preparing:  # the "loading" notice would make the snapshot depend on timing
            await asyncio.sleep(0.01)
        app.query_one(HistoryInput).value = "why is cart slow?"
        await pilot.press("enter")
        while app.worker is None or app.running:
            await asyncio.sleep(0.02)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 36), run_before=investigate)
