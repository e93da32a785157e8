"""Shared test setup: the repo root on sys.path, and XDG dirs in a temporary place so no
test reads or writes the user's real config, data or cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("LANCE_LOG", "error")


@pytest.fixture(autouse=True)
def _isolated_xdg(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.mktemp("xdg")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(base / name.lower()))
    # The demo cache is shared across tests so the demo is generated once per session.
    monkeypatch.setenv("XDG_CACHE_HOME", str(_shared_cache(tmp_path_factory)))
    for name in list(os.environ):
        if name.startswith("COPILOT_") or name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL"):
            monkeypatch.delenv(name, raising=False)
    # A test that runs a front end in this process (cli.main, a REPL) sets the print zone of
    # this context, as the front end does for its own process; the next test starts in UTC.
    from copilot.timefmt import _ZONE

    token = _ZONE.set(_ZONE.get())
    yield
    _ZONE.reset(token)


_CACHE: list[Path] = []


def _shared_cache(factory) -> Path:
    if not _CACHE:
        _CACHE.append(factory.mktemp("xdg_cache"))
    return _CACHE[0]
