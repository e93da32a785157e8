"""Hostile text in the TUI: escape sequences from log lines, alert text or a model's answer
are shown as visible text, never written raw to the terminal; Rich/Textual markup in data
is shown literally, never interpreted (no `[@click=...]` actions, no restyling)."""

from __future__ import annotations

from textual.widgets import OptionList

from copilot.events import (
    ActionProposed,
    FinalAnswer,
    FindingReported,
    Observation,
    RunStarted,
    Thought,
)
from copilot.terminal_text import has_raw_controls
from tests.test_tui import submit, wait_for
from tests.test_tui_support import investigation_script, make_session
from copilot.tui.app import CopilotApp
from copilot.tui.screens import SessionsScreen

OSC52 = "\x1b]52;c;ZXZpbCBjbGlwYm9hcmQ=\x07"  # writes the clipboard
TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"
DSR = "\x1b[6n"
OSC8 = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
C1 = "\x9b31m"  # an 8-bit CSI
MARKUP = "[@click=app.quit]quit[/] [bold red]LOUD[/]"
HOSTILE = f"db error {OSC52}{TITLE}{CLEAR}{DSR}{OSC8}{C1} {MARKUP}"


def screen_text(app) -> str:
    """Every character the visible widgets would send to the terminal."""
    out = []
    for widget in app.screen.walk_children(with_self=True):
        if not widget.region.area:
            continue
        for strip in widget.render_lines(widget.region.reset_offset):
            out.append("".join(segment.text for segment in strip))
    return "\n".join(out)


async def test_conversation_shows_hostile_data_inert_and_literal(tmp_path, monkeypatch):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    app = CopilotApp(session)
    async with app.run_test(size=(200, 60)) as pilot:
        conversation = app.conversation
        await conversation.show(RunStarted("s1", "why?", "offline", 6, f"files in /tmp/{MARKUP}", timezone="UTC"))
        await conversation.show(Thought(1, f"the log says {HOSTILE}"))
        await conversation.show(ActionProposed(1, "c1", "grep_logs", {"pattern": HOSTILE}))
        await conversation.show(Observation(1, "c1", "grep_logs", "ok", f"line 1\n{HOSTILE}", 12.0))
        await conversation.show(FindingReported(1, {"id": "L1", "source": "logs", "component": "db",
                                                    "summary": HOSTILE, "score": 9.0}))
        await conversation.show(FinalAnswer(f"**db** is down: {HOSTILE}", {}, 1))
        for block in app.query("ObservationBlock"):
            block.collapsed = False  # the tool output is on screen too
        await pilot.pause()
        text = screen_text(app)
        assert not has_raw_controls(text)
        assert "\\u001b]52;c;ZXZpbCBjbGlwYm9hcmQ=" in text and "\\u001b[2J" in text and "\\u009b31m" in text
        assert text.count("[@click=app.quit]quit[/]") >= 4  # thought, action, output, finding (+ answer)
        assert "[bold red]LOUD[/]" in text and f"files in /tmp/{MARKUP}" in text
        assert app.is_running  # no markup action ran


async def test_status_line_and_sessions_picker_show_markup_literally(tmp_path, monkeypatch):
    first = make_session(tmp_path, monkeypatch, investigation_script(), session_id="20250101-000000-aaaaaa")
    first.store.append(first.id, RunStarted(first.id, f"why? {MARKUP} {OSC52}", "offline", 6))
    second = make_session(tmp_path, monkeypatch, investigation_script(), session_id="20250102-000000-bbbbbb")
    app = CopilotApp(second)
    async with app.run_test(size=(200, 40)) as pilot:
        app.status.data = f"{MARKUP}{OSC52}"
        app.refresh_status()
        await pilot.pause()
        status = screen_text(app)
        assert "[@click=app.quit]quit[/]" in status and not has_raw_controls(status)
        await submit(pilot, "/sessions")
        await wait_for(lambda: isinstance(app.screen, SessionsScreen), pilot)
        await pilot.pause()
        prompt = str(app.screen.query_one(OptionList).get_option_at_index(0).prompt)
        assert "[@click=app.quit]quit[/]" in prompt and "\\u001b]52" in prompt and not has_raw_controls(prompt)
        picker = screen_text(app)
        assert "[bold red]LOUD[/]" in picker and not has_raw_controls(picker)
