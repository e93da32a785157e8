"""Text from data, made safe for the TUI's widgets.

Log lines, tool output, alert text and model answers are attacker-controlled. Textual
passes a `Static`'s characters through to the terminal, so an escape sequence in a log line
(OSC 52 clipboard write, a title change, clear-screen, a DSR query, an OSC 8 link) would act
on the user's terminal; and a string given where markup is read (`Static` by default, an
`OptionList` prompt, a `Label`) would run `[@click=...]` actions or restyle the screen.
Every widget that shows data goes through here: control characters become visible
`\\u00XX` text (copilot/terminal_text.py) and text is never parsed as markup.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from copilot.terminal_text import sanitize_terminal


def safe_text(text: Any) -> Text:
    """Plain text (a Rich `Text`, so never markup) with control characters made visible."""
    if isinstance(text, Text):
        return Text(sanitize_terminal(text.plain), style=text.style)
    return Text(sanitize_terminal("" if text is None else str(text)))


def safe_title(text: str) -> str:
    """A title a widget reads as markup (a Collapsible's): controls made visible, brackets escaped."""
    from textual.markup import escape

    return escape(sanitize_terminal(text or ""))


def safe_markdown(text: str) -> str:
    """Markdown source with control characters made visible (Markdown itself is not markup)."""
    return sanitize_terminal(text or "")


class PlainText(Static):
    """A `Static` for data: markup off, control characters made visible, on creation and on
    every update."""

    def __init__(self, text: Any = "", **kwargs: Any) -> None:
        kwargs.pop("markup", None)
        super().__init__(safe_text(text), markup=False, **kwargs)

    def update(self, content: Any = "", *args: Any, **kwargs: Any) -> None:
        super().update(safe_text(content), *args, **kwargs)
