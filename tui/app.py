"""The Textual TUI: `copilot` (and `copilot --demo`, which starts on the demo question).

The investigation runs in a Textual worker that iterates `Session.ask()` and hands each
event to the conversation pane; Ctrl+C cancels that worker (the app keeps running),
Ctrl+Q quits. Tools that change systems ask through a modal (`ModalApprover`). Slash
commands are shared with the REPL (`copilot.tui.slash`). F2 or /kb opens the knowledge screen
(`copilot.tui.knowledge`), F3 or /runs the run-history screen (`copilot.tui.runs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any, Callable

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

from copilot.errors import CopilotError

from .knowledge import KnowledgeScreen
from .runs import RunsScreen
from .render import RunStatus, failed_text
from .screens import ModalApprover, SessionsScreen
from .slash import is_command, run_command
from .widgets import Conversation, HistoryInput, StatusBar

WELCOME = (
    "Ask what is wrong, in English or Chinese, e.g. “why is checkout slow since 14:05?”. "
    "/help lists commands · Ctrl+C cancels an investigation · Ctrl+Q quits"
)


class CopilotApp(App[int]):
    TITLE = "SRE Copilot"
    CSS_PATH = "app.tcss"
    AUTO_FOCUS = "#prompt"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("ctrl+c", "cancel_run", "Cancel", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f2", "knowledge", "Knowledge"),
        Binding("f3", "runs", "Runs"),
    ]

    def __init__(self, session: Any, question: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.session = session
        session.approver = ModalApprover(self)
        self.first_question = question
        self.clock = clock
        self.status = RunStatus(session.model_label, session.settings.max_steps)
        self.worker: Worker[None] | None = None
        self._warmup: asyncio.Future[None] | None = None

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Conversation(id="conversation")
        yield StatusBar(id="status")
        yield HistoryInput(placeholder="Ask what is wrong… (/help for commands)", id="prompt")
        yield Footer()

    @property
    def conversation(self) -> Conversation:
        return self.query_one(Conversation)

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    @property
    def preparing(self) -> bool:
        """True while plugins, memory and data are still loading in the background."""
        return self._warmup is not None and not self._warmup.done()

    async def on_mount(self) -> None:
        await self.conversation.say(WELCOME, "dim")
        self.refresh_status()
        self.set_interval(0.5, self._tick)
        # Load plugins, memory and the demo data off the event loop while the user types.
        self._warmup = asyncio.ensure_future(asyncio.to_thread(self._prepare))
        if self.first_question:
            await self.ask(self.first_question)

    def _prepare(self) -> None:
        _ = self.session.plugins, self.session.memory
        self.status.data = self.session.select_data().label

    async def _prepared(self) -> None:
        """Wait for the background loading; when it failed, the next question tries again."""
        if self._warmup is None:
            return
        if self.preparing:
            await self.conversation.say("Loading tools, memory and data…", "dim")
        try:
            await asyncio.shield(self._warmup)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._warmup = None  # e.g. a --data directory that is missing
            raise

    def _tick(self) -> None:
        if self.running:
            self.refresh_status()

    def refresh_status(self) -> None:
        text = f"{self.status.text(self.clock())}   session {self.session.id}"
        self.query_one(StatusBar).update(text)

    # ------------------------------------------------------------ input

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        prompt = self.query_one(HistoryInput)
        text = event.value.strip()
        prompt.value = ""
        if not text:
            return
        prompt.remember(text)
        if is_command(text):
            await self.command(text)
        elif self.running:
            self.notify("An investigation is running; Ctrl+C cancels it.", severity="warning")
        else:
            await self.ask(text)

    async def ask(self, question: str) -> None:
        await self.conversation.ask(question)
        self.status = RunStatus(self.session.model_label, self.session.settings.max_steps)
        self.status.begin(self.clock())
        self.refresh_status()
        self.worker = self.run_worker(self._investigate(question), name="investigation", group="ask",
                                      exclusive=True, exit_on_error=False)
        self.refresh_bindings()

    async def _investigate(self, question: str) -> None:
        conversation = self.conversation
        try:
            await self._prepared()
            async with contextlib.aclosing(self.session.ask(question)) as events:
                async for event in events:
                    self.status.apply(event, self.clock())
                    await conversation.show(event)
                    self.refresh_status()
        except CopilotError as exc:
            self.status.finish("failed", self.clock())
            await conversation.finish(failed_text(str(exc)), "error")
        self.status.finish("ended", self.clock())  # only when no answer, limit or failure said otherwise
        self.refresh_status()

    async def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.worker:
            return
        if event.state == WorkerState.CANCELLED:
            self.status.finish("cancelled", self.clock())
            await self.conversation.cancelled()
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            self.status.finish("failed", self.clock())
            await self.conversation.finish(failed_text(f"{type(error).__name__}: {error}"), "error")
        self.refresh_status()
        self.refresh_bindings()

    # ------------------------------------------------------------ actions and commands

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            return self.running  # otherwise Ctrl+C falls through (copy in the input)
        if action in ("knowledge", "runs"):
            return len(self.screen_stack) == 1  # from the conversation, not over another screen
        return True

    def action_knowledge(self) -> None:
        if len(self.screen_stack) == 1:
            self.push_screen(KnowledgeScreen(self.session.settings))

    def action_runs(self) -> None:
        if len(self.screen_stack) == 1:
            self.push_screen(RunsScreen())

    def action_cancel_run(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    async def command(self, line: str) -> None:
        if self.running and line.split()[0].lower() in ("/resume", "/sessions"):
            self.notify("An investigation is running; Ctrl+C cancels it first.", severity="warning")
            return
        outcome = run_command(self.session, line)
        conversation = self.conversation
        if outcome.action == "exit":
            self.exit(0)
            return
        if outcome.action == "clear":
            await conversation.clear()
            return
        if outcome.action == "knowledge":
            self.action_knowledge()
            return
        if outcome.action == "runs":
            self.action_runs()
            return
        if outcome.action == "sessions" and outcome.sessions:
            self.push_screen(SessionsScreen(outcome.sessions, self.session.settings), callback=self._picked)
            return
        if outcome.text:
            await conversation.say(outcome.text, "error" if outcome.error else "info")
        if outcome.action == "resumed":
            await self._show_history()
        if not self.running:
            data = self.status.data
            self.status = RunStatus(self.session.model_label, self.session.settings.max_steps)
            self.status.data = data
            if outcome.action == "resumed":  # the resumed session's data: the status line says it
                with contextlib.suppress(CopilotError):
                    self.status.data = self.session.select_data().label
        self.refresh_status()

    async def _picked(self, session_id: str | None) -> None:
        if session_id:
            await self.command(f"/resume {session_id}")

    async def _show_history(self) -> None:
        conversation = self.conversation
        for turn in self.session.history:
            if turn.get("role") == "user":
                await conversation.ask(turn.get("content", ""))
            else:
                await conversation.show_markdown(turn.get("content", ""))


def run_app(settings: Any, question: str | None = None) -> int:
    """Open the TUI; with `question`, start investigating it at once."""
    os.environ.setdefault("LANCE_LOG", "error")
    from copilot.session import Session

    app = CopilotApp(Session(settings), question=question)
    result = app.run()
    return int(result or 0)


__all__ = ["CopilotApp", "run_app"]
