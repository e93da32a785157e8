"""All prompt text lives in this folder as files; load them by name."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files


@lru_cache(maxsize=None)
def load_prompt(name: str) -> str:
    """Return the text of `copilot/prompts/<name>` (add `.md` when no suffix is given)."""
    filename = name if "." in name else f"{name}.md"
    return files(__package__).joinpath(filename).read_text(encoding="utf-8")
