"""Hostile telemetry for the security tests and bench/fuzz.py: the demo incident with log
lines that carry secrets (canaries) and terminal escape sequences."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "secrets_corpus.yaml"

# One of each kind of escape sequence the issue lists, plus raw C1 controls.
ESCAPES = {
    "osc52_clipboard": "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "title": "\x1b]0;pwned\x07",
    "clear_screen": "\x1b[2J\x1b[H",
    "dsr_query": "\x1b[6n",
    "osc8_link": "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "csi_color": "\x1b[31mred\x1b[0m",
    "c1_csi": "\x9b2J",
    "c1_osc": "\x9d0;pwned\x9c",
    "bell_backspace": "\x07\x08\x08",
}


def corpus() -> dict:
    return yaml.safe_load(CORPUS.read_text(encoding="utf-8"))


def canaries() -> list[tuple[str, str]]:
    """(text, secret) for every secret shape of the corpus."""
    return [(str(c["text"]), str(c["secret"])) for c in corpus()["secrets"]]


def copilot(*args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full = dict(os.environ, LANCE_LOG="error", PYTHONPATH=str(ROOT), **env)
    for key in [k for k in full if k.startswith(("COPILOT_", "OPENAI_"))]:
        full.pop(key)
    return subprocess.run([sys.executable, "-m", "copilot", *args], capture_output=True, text=True, env=full,
                          input=stdin, timeout=timeout, cwd=ROOT, errors="surrogateescape")


def hostile_incident(out: Path, env: dict[str, str]) -> Path:
    """The demo incident (memory leak in cart) with hostile ERROR lines from cart."""
    r = copilot("demo", "generate", "--fault", "memory_leak", "--service", "cart", "--seed", "3", "--out", str(out),
                env=env)
    assert r.returncode == 0, r.stderr
    lines = []
    texts = [t for t, _ in canaries()]
    escapes = list(ESCAPES.values())
    for n in range(60):
        minute = 32 + n // 6
        message = f"cart checkout failed {texts[n % len(texts)]} {escapes[n % len(escapes)]} code=E{n % 3}"
        lines.append({"timestamp": f"2024-05-14T13:{minute:02d}:{n % 60:02d}Z", "component": "cart",
                      "level": "ERROR", "message": message})
    with (out / "logs.jsonl").open("a", encoding="utf-8") as fh:
        for rec in lines:
            fh.write(json.dumps(rec) + "\n")
    with (out / "changes.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"timestamp": "2024-05-14T13:30:00Z", "component": "cart", "kind": "config",
                             "description": f"rotate DB_PASSWORD=Chg_Canary_77 {ESCAPES['title']}",
                             "author": "ops --password Auth0rCanary"}) + "\n")
    return out


QUESTION = "why is cart failing since 13:30?"


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory) -> dict:
    """One `--query` (text, with the trace on stderr) over the hostile incident, shared by
    the secrets and terminal tests: the incident, the env, the process and its session id."""
    if _RUN:  # shared by every module that imports the fixture: one run per test session
        return _RUN[0]
    base = tmp_path_factory.mktemp("hostile")
    env = {"XDG_DATA_HOME": str(base / "data"), "XDG_CONFIG_HOME": str(base / "cfg")}
    incident = hostile_incident(base / "incident", env)
    proc = copilot("--query", QUESTION, "--data", str(incident), env=env)
    sessions = sorted((base / "data").rglob("*.jsonl"))
    _RUN.append({"base": base, "env": env, "incident": incident, "proc": proc,
                 "session_id": sessions[0].stem if sessions else ""})
    return _RUN[0]


_RUN: list[dict] = []
