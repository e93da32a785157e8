"""All prompt text lives in this folder as files; load them by name.

A team can override any prompt without touching the package: a file of the same name in
the override folder wins — `COPILOT_PROMPTS_DIR` when set, else `<config dir>/prompts`
(for example `~/.config/sre-copilot/prompts/rca.md`). `copilot replay RUN_ID --prompts DIR`
re-runs a past incident with another folder to compare the outcomes.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from ..errors import CopilotError

ENV = "COPILOT_PROMPTS_DIR"


def override_dir() -> Path | None:
    """The folder whose prompt files replace the bundled ones, or None."""
    named = os.environ.get(ENV, "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.is_dir():
            raise CopilotError(f"{ENV}={named}: no such folder; point it at a folder of prompt files (e.g. rca.md)")
        return path
    from ..config import config_dir

    path = config_dir() / "prompts"
    return path if path.is_dir() else None


def bundled_names() -> list[str]:
    """The prompt files shipped with the copilot (what an override folder may replace)."""
    return sorted(p.name for p in files(__package__).iterdir() if p.name.endswith((".md", ".txt")))


def overrides(folder: Path | None = None) -> list[str]:
    """The bundled prompts the override folder replaces; a file there that replaces nothing
    is a typo the user must hear about (one line naming it)."""
    folder = folder if folder is not None else override_dir()
    if folder is None:
        return []
    names = set(bundled_names())
    given = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    unknown = [n for n in given if n not in names]
    if unknown:
        raise CopilotError(f"{folder / unknown[0]}: no bundled prompt is named {unknown[0]!r}; "
                           f"known: {', '.join(sorted(names))}")
    return given


def load_prompt(name: str) -> str:
    """Return the text of prompt `<name>` (add `.md` when no suffix is given): the override
    folder's file when it has one, else the bundled `copilot/prompts/<name>`."""
    filename = name if "." in name else f"{name}.md"
    folder = override_dir()
    stamp = 0.0
    if folder is not None and (folder / filename).is_file():
        stamp = (folder / filename).stat().st_mtime  # an edited override is read again
    return _load(filename, str(folder or ""), stamp)


@lru_cache(maxsize=None)
def _load(filename: str, folder: str, stamp: float) -> str:
    if folder:
        path = Path(folder) / filename
        if stamp and path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CopilotError(f"{path}: cannot be read as UTF-8 text ({exc.__class__.__name__})") from None
            if not text.strip():
                raise CopilotError(f"{path}: the prompt override is empty; delete it to use the bundled prompt")
            return text
    return files(__package__).joinpath(filename).read_text(encoding="utf-8")
