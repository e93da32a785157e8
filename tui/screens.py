"""Modal screens: approving a tool that changes systems, and picking a saved session.

`ModalApprover` is the TUI's Approver: `approve()` pushes an `ApprovalScreen` and waits
for the user's y/n; cancelling the investigation while it waits closes the modal.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList
from textual.widgets.option_list import Option

from .safe import PlainText, safe_text
from .slash import session_line


class ApprovalScreen(ModalScreen[bool]):
    """Ask before a tool that changes systems runs: y approves, n or Escape denies."""

    AUTO_FOCUS = "#deny"
    BINDINGS = [
        Binding("y", "approve", "Approve"),
        Binding("n", "deny", "Deny"),
        Binding("escape", "deny", "Deny", show=False),
    ]

    def __init__(self, tool: str, arguments: dict[str, Any], description: str) -> None:
        super().__init__()
        self.tool = tool
        self.arguments = arguments
        self.description = description

    def compose(self) -> ComposeResult:
        first = self.description.strip().splitlines()[0] if self.description.strip() else ""
        with Vertical(id="dialog"):
            yield Label(safe_text(f"Approve a change? {self.tool} changes systems."), id="approval-title")
            if first:
                yield PlainText(first, classes="description")
            yield PlainText(json.dumps(self.arguments, ensure_ascii=False, indent=2, default=str), classes="arguments")
            with Horizontal(id="buttons"):
                yield Button("Approve (y)", id="approve", variant="warning")
                yield Button("Deny (n)", id="deny", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "approve")

    def action_approve(self) -> None:
        self.dismiss(True)

    def action_deny(self) -> None:
        self.dismiss(False)


class ModalApprover:
    """The TUI's Approver: a modal y/n for each tool that changes systems."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def approve(self, tool: str, arguments: dict[str, Any], description: str) -> bool:
        screen = ApprovalScreen(tool, arguments, description)
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def decided(value: bool | None) -> None:
            if not answer.done():
                answer.set_result(bool(value))

        self.app.push_screen(screen, callback=decided)
        try:
            return await answer
        except asyncio.CancelledError:
            if self.app.screen is screen:
                self.app.pop_screen()
            raise


class SessionsScreen(ModalScreen[str | None]):
    """Pick a saved session to resume; Escape closes."""

    AUTO_FOCUS = "#sessions"
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, rows: list[Any], settings: Any = None) -> None:
        super().__init__()
        self.rows = rows
        self.settings = settings

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Resume a session (Enter picks, Escape closes)", id="sessions-title")
            yield OptionList(*[Option(safe_text(session_line(r, self.settings)), id=r.id) for r in self.rows], id="sessions")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)
