"""Text that is safe to write to a terminal.

Telemetry is attacker-controlled: a log line can carry escape sequences that write the
clipboard (OSC 52), retitle the window, clear the screen, query the terminal (DSR) or hide
links (OSC 8). `sanitize_terminal` escapes every C0 and C1 control character (ESC, CSI,
OSC, DEL, ...) and the Unicode bidirectional overrides as visible `\\u00XX` text; newline
and tab pass. The escaped form is also a valid JSON escape, so JSON output stays JSON.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from typing import Any, Callable, Iterator, TextIO

_KEEP = {"\n", "\t"}
_CODES = [c for c in range(0x00, 0x20)] + list(range(0x7F, 0xA0)) + [0x200E, 0x200F] + list(range(0x202A, 0x202F)) \
    + list(range(0x2066, 0x206A))
_TABLE = {c: f"\\u{c:04x}" for c in _CODES if chr(c) not in _KEEP}


def sanitize_terminal(text: str) -> str:
    """`text` with control characters and escape sequences made visible and inert."""
    if not isinstance(text, str):
        text = str(text)
    return text.replace("\r\n", "\n").translate(_TABLE)


def has_raw_controls(text: str) -> bool:
    """Does `text` hold a control character a terminal would act on?"""
    return any(ord(ch) in _TABLE for ch in text)


class TerminalSafe:
    """A text stream that sanitizes everything written through it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(sanitize_terminal(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def terminal_safe_output() -> Iterator[None]:
    """While inside: sys.stdout and sys.stderr sanitize what they are given."""
    out, err = sys.stdout, sys.stderr
    sys.stdout = TerminalSafe(out) if not isinstance(out, TerminalSafe) else out  # type: ignore[assignment]
    sys.stderr = TerminalSafe(err) if not isinstance(err, TerminalSafe) else err  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def terminal_safe(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command handler whose output shows data on a terminal."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with terminal_safe_output():
            return fn(*args, **kwargs)

    return wrapper
