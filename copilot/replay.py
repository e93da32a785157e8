"""Replay a past incident with edited prompts or another knowledge base, and set the two
outcomes side by side (the seed's playground: tune a prompt or an experience, see whether
the diagnosis of a real incident changes).

A past investigation (a session) is replayed on the data it read: the same files, or the
same live sources over the same window. A past workflow run (run history) is replayed with
the same workflow, parameters and window. A replay neither recalls nor saves memory (the
original run's diagnosis is already in memory and would answer for it); it is kept as a
session of its own.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from .config import Settings
from .errors import CopilotError


@dataclass
class Outcome:
    """What one run concluded, in the terms the comparison uses."""

    session_id: str
    question: str
    data: str
    window: tuple[float, float] | None
    root_causes: list[dict[str, Any]] = field(default_factory=list)
    findings: int = 0
    verdict: str = ""

    def cause(self, rank: int) -> str:
        if rank >= len(self.root_causes):
            return "—"
        rc = self.root_causes[rank]
        score = rc.get("score")
        return f"{rc.get('component')} — {rc.get('fault_type')}" + (f" ({score:.2f})" if isinstance(score, (int, float)) else "")

    def to_dict(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "question": self.question, "data": self.data,
                "window": list(self.window) if self.window else None, "root_causes": self.root_causes,
                "findings": self.findings, "verdict": self.verdict}


def _outcome(session_id: str, question: str, data: str, diagnosis: dict[str, Any]) -> Outcome:
    window = diagnosis.get("window")
    verdict = diagnosis.get("verdict")
    if isinstance(verdict, dict):
        verdict = verdict.get("state") or verdict.get("verdict") or ""
    return Outcome(session_id, question, data, tuple(window) if window else None,  # type: ignore[arg-type]
                   list(diagnosis.get("root_causes") or []), len(diagnosis.get("findings") or []), str(verdict or ""))


def original_investigation(store: Any, session_id: str) -> Outcome:
    """The last answered investigation of a session: its question, data and diagnosis."""
    sid = store.resolve(session_id)
    started: dict[str, Any] | None = None
    found: Outcome | None = None
    for ev in store.events(sid):
        if ev.get("kind") == "run_started":
            started = ev
        elif ev.get("kind") == "final_answer" and started is not None:
            diagnosis = ev.get("diagnosis") or {}
            if diagnosis.get("root_causes") or diagnosis.get("findings") or diagnosis.get("verdict"):
                found = _outcome(sid, started.get("question", ""), started.get("data", ""), diagnosis)
    if found is None:
        raise CopilotError(f"session {sid} holds no finished investigation to replay; "
                           "`copilot sessions list` shows which ones answered")
    return found


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def replay_settings(base: Settings, original: Outcome, *, data: str = "", kb_uri: str = "") -> Settings:
    """The settings that read what the original run read: its files, or the configured live
    sources over its window."""
    changes: dict[str, Any] = {"memory": False}
    if kb_uri:
        changes["kb_uri"] = kb_uri
    if data:
        changes["data"] = data
    else:
        named = re.search(r"files in (.+?)\)?$", original.data or "")
        if named:
            folder = Path(named.group(1)).expanduser()
            if not folder.is_dir():
                raise CopilotError(f"the data session {original.session_id} read ({folder}) is gone; "
                                   "give the folder again with --data DIR")
            changes["data"] = str(folder)
    if not changes.get("data") and original.window:
        changes["since"], changes["until"] = _iso(original.window[0]), _iso(original.window[1])
    return replace(base, **changes)


@contextmanager
def prompts_folder(folder: str) -> Iterator[list[str]]:
    """Use `folder` as the prompt override folder for the replay; yields the prompts it replaces."""
    from .prompts import ENV, overrides

    if not folder:
        yield overrides()
        return
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise CopilotError(f"--prompts {folder}: no such folder; give a folder of prompt files (e.g. rca.md)")
    before = os.environ.get(ENV)
    os.environ[ENV] = str(path)
    try:
        yield overrides(path)
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


async def replay_investigation(original: Outcome, settings: Settings) -> tuple[Outcome, list[Any]]:
    """Run the original question again under `settings`; returns the new outcome and its events."""
    from .events import FinalAnswer, RunFailed
    from .session import Session

    session = Session(settings, memory=False)
    events: list[Any] = []
    final: dict[str, Any] | None = None
    async for event in session.ask(original.question):
        events.append(event)
        if isinstance(event, FinalAnswer):
            final = event.diagnosis or {}
        elif isinstance(event, RunFailed) and final is None:
            raise CopilotError(f"the replay failed: {event.error}")
    if final is None:
        raise CopilotError("the replay reached no conclusion; raise --max-steps")
    return _outcome(session.id, original.question, session.select_data().label, final), events


def differences(a: Outcome, b: Outcome) -> list[str]:
    """What changed between the original and the replay, most important first."""
    out: list[str] = []
    top_a = [(rc.get("component"), rc.get("fault_type")) for rc in a.root_causes[:3]]
    top_b = [(rc.get("component"), rc.get("fault_type")) for rc in b.root_causes[:3]]
    if top_a[:1] != top_b[:1]:
        out.append(f"top root cause: {a.cause(0)} → {b.cause(0)}")
    elif top_a != top_b:
        out.append("the order of the other candidates changed")
    if a.verdict != b.verdict and (a.verdict or b.verdict):
        out.append(f"verdict: {a.verdict or '—'} → {b.verdict or '—'}")
    if a.findings != b.findings:
        out.append(f"findings: {a.findings} → {b.findings}")
    return out
