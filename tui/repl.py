"""`copilot repl`: a plain prompt-toolkit REPL for dumb terminals and flaky SSH.

Questions start an investigation whose events stream through `copilot.tui.render.Renderer`;
slash commands (`copilot.tui.slash`) change the model, list and resume sessions. Ctrl+C during
an investigation cancels it and returns to the prompt; Ctrl+D or /exit quits. Tools that
change systems ask a y/N question first. Output is plain text when NO_COLOR is set,
TERM=dumb, or stdout is not a terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

from copilot.errors import CopilotError

from .render import Renderer, RunStatus, failed_text, wants_color
from .slash import is_command, run_command

BANNER = "SRE Copilot · {model} · ask what is wrong, /help for commands, Ctrl+C cancels, Ctrl+D quits"


def history_path() -> Path:
    from copilot.config import data_dir

    return data_dir() / "repl_history"


class PromptReader:
    """Reads lines with prompt-toolkit (a history file, line editing)."""

    def __init__(self, input: Any = None, output: Any = None, history: Path | None = None) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory

        if history is not None:
            history.parent.mkdir(parents=True, exist_ok=True)
        store = FileHistory(str(history)) if history is not None else InMemoryHistory()
        self.questions: PromptSession[str] = PromptSession(history=store, input=input, output=output)
        # Answers to y/N questions stay out of the question history.
        self.answers: PromptSession[str] = PromptSession(input=input, output=output)

    # An error in a background task is logged, never answered with prompt_toolkit's
    # "Press ENTER to continue..." (which would hold the REPL until someone presses a key).
    async def read(self, prompt: str) -> str:
        return await self.questions.prompt_async(prompt, set_exception_handler=False)

    async def confirm(self, prompt: str) -> str:
        return await self.answers.prompt_async(prompt, set_exception_handler=False)

    @contextlib.contextmanager
    def watch_interrupts(self, on_interrupt: Callable[[], None]) -> Iterator[None]:
        """While an investigation runs: Ctrl+C calls `on_interrupt`; other keys are kept
        as typeahead for the next prompt."""
        from prompt_toolkit.input.typeahead import store_typeahead
        from prompt_toolkit.keys import Keys

        keyboard = self.questions.input

        def ready() -> None:
            kept = []
            for press in keyboard.read_keys():
                if press.key == Keys.ControlC:
                    on_interrupt()
                else:
                    kept.append(press)
            if kept:
                store_typeahead(keyboard, kept)

        with keyboard.raw_mode(), keyboard.attach(ready):
            yield

    def clear(self) -> None:
        out = self.questions.output
        out.erase_screen()
        out.cursor_goto(0, 0)
        out.flush()


class LineReader:
    """Reads plain lines when stdin is not a terminal (`... | copilot repl`).

    Approvals never come from the piped text: `confirm` asks on the terminal (/dev/tty)
    and, with no terminal, answers no and says so."""

    def __init__(self, stdin: TextIO, stream: TextIO, tty: str = "/dev/tty") -> None:
        self.stdin = stdin
        self.stream = stream
        self.tty = tty

    async def read(self, prompt: str) -> str:
        self.stream.write(prompt)
        self.stream.flush()
        line = await asyncio.to_thread(self.stdin.readline)
        if not line:
            raise EOFError
        return line.rstrip("\r\n")

    async def confirm(self, prompt: str) -> str:
        try:
            fd = os.open(self.tty, os.O_RDWR | os.O_NOCTTY)
        except OSError:
            self.stream.write(prompt + "\n  no terminal to ask (approvals are never read from piped input): denied\n")
            self.stream.flush()
            return ""
        with open(fd, "r", encoding="utf-8", errors="replace") as terminal:
            os.write(fd, prompt.encode("utf-8"))
            return (await asyncio.to_thread(terminal.readline)).rstrip("\r\n")

    @contextlib.contextmanager
    def watch_interrupts(self, on_interrupt: Callable[[], None]) -> Iterator[None]:
        yield  # Ctrl+C arrives as SIGINT, handled by the REPL

    def clear(self) -> None:
        return None


class PromptApprover:
    """Asks y/N before a tool that changes systems runs; anything but y/yes denies."""

    def __init__(self, repl: "Repl") -> None:
        self.repl = repl

    async def approve(self, tool: str, arguments: dict[str, Any], description: str) -> bool:
        renderer = self.repl.renderer
        first = description.strip().splitlines()[0] if description.strip() else ""
        renderer.line(f"  {tool} changes systems{': ' + first if first else ''}", "bold yellow")
        args = json.dumps(arguments, ensure_ascii=False, default=str)
        try:
            answer = await self.repl.reader.confirm(f"  run {tool} {args}? [y/N] ")
        except KeyboardInterrupt:
            # Ctrl+C at the question cancels the whole investigation, at once.
            self.repl.cancel_run()
            raise asyncio.CancelledError from None
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")


class Repl:
    def __init__(
        self,
        session: Any,
        *,
        input: Any = None,
        output: Any = None,
        stream: TextIO | None = None,
        color: bool | None = None,
        history: Path | None = None,
    ) -> None:
        self.session = session
        self.stream = stream if stream is not None else sys.stdout
        self.renderer = Renderer(self.stream, wants_color(self.stream) if color is None else color)
        self.renderer.status = RunStatus(session.model_label, session.settings.max_steps)
        if input is None and not sys.stdin.isatty():
            self.reader: PromptReader | LineReader = LineReader(sys.stdin, self.stream)
        else:
            self.reader = PromptReader(input, output, history)
        session.approver = PromptApprover(self)
        self._task: asyncio.Task[None] | None = None

    def prompt(self) -> str:
        from copilot.tui.render import short_data_label

        data = short_data_label(self.renderer.status.data, 32) if self.renderer.status.data else ""
        return f"{self.session.model_label}{' · ' + data if data else ''}> "

    def cancel_run(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def run(self) -> int:
        self.renderer.line(BANNER.format(model=self.session.model_label), "bold")
        try:
            self.renderer.status.data = self.session.select_data().label
            self.renderer.line(f"data: {self.renderer.status.data}", "dim")
        except CopilotError as exc:  # e.g. --data names no directory: nothing to investigate
            self.renderer.line(failed_text(str(exc)), "red")
            return 1
        while True:
            try:
                line = (await self.reader.read(self.prompt())).strip()
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            if not line:
                continue
            if is_command(line):
                if not self.command(line):
                    break
                continue
            await self.investigate(line)
        return 0

    def command(self, line: str) -> bool:
        """Run a slash command; False when the REPL should quit."""
        outcome = run_command(self.session, line)
        if outcome.action == "exit":
            return False
        if outcome.action == "clear":
            self.reader.clear()
        if outcome.text:
            self.renderer.line(outcome.text, "red" if outcome.error else "")
        if outcome.action == "resumed":  # the resumed session's data: the prompt says it
            with contextlib.suppress(CopilotError):
                self.renderer.status.data = self.session.select_data().label
        return True

    async def investigate(self, question: str) -> None:
        task = asyncio.ensure_future(self._consume(question))
        self._task = task
        try:
            with self.reader.watch_interrupts(self.cancel_run), _sigint_cancels(self.cancel_run):
                await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            self.renderer.cancelled()
        except CopilotError as exc:
            self.renderer.failed(str(exc))
        except Exception as exc:  # a bug in a brain or plugin: report it, keep the REPL
            self.renderer.failed(f"{type(exc).__name__}: {exc}")
        finally:
            self._task = None
        self.renderer.summary()

    async def _consume(self, question: str) -> None:
        async with contextlib.aclosing(self.session.ask(question)) as events:
            async for event in events:
                self.renderer.handle(event)


@contextlib.contextmanager
def _sigint_cancels(cancel: Callable[[], None]) -> Iterator[None]:
    """SIGINT (Ctrl+C outside raw mode) cancels the investigation instead of quitting."""
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGINT)
    try:
        loop.add_signal_handler(signal.SIGINT, cancel)
    except (NotImplementedError, RuntimeError, ValueError):
        yield  # not the main thread, or no signals on this platform
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, previous)


def run_repl(settings: Any) -> int:
    os.environ.setdefault("LANCE_LOG", "error")
    from copilot.session import Session

    repl = Repl(Session(settings), history=history_path())
    return asyncio.run(repl.run())


__all__ = ["Repl", "run_repl"]
