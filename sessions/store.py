"""Every run is a session saved as JSON lines of events in the XDG data dir.

One file per session: `<dir>/<session_id>.jsonl`. Lines are appended and flushed as the
events arrive, so a crash loses at most the event being written, and two processes never
write the same file (session ids are unique per run).
"""

from __future__ import annotations

import builtins
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from copilot.errors import CopilotError
from copilot.events import Event
from copilot.redact import redact_obj

_ID = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass
class SessionSummary:
    id: str
    started: float
    question: str
    model: str
    outcome: str  # answered | step_limit | failed | running
    runs: int
    root_cause: str = ""

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


class SessionStore:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, session_id: str) -> Path:
        if not _ID.match(session_id):
            raise CopilotError(f"{session_id!r} is not a session id; run `copilot sessions list` to see them")
        return self.directory / f"{session_id}.jsonl"

    def append(self, session_id: str, event: Event | dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        data = redact_obj(event.to_dict() if isinstance(event, Event) else event)  # a transcript never stores a secret
        line = json.dumps(data, ensure_ascii=False, default=str) + "\n"
        fd = os.open(self.path(session_id), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def events(self, session_id: str) -> Iterator[dict[str, Any]]:
        path = self.path(session_id)
        if not path.exists():
            matches = sorted(self.directory.glob(f"{session_id}*.jsonl")) if self.directory.exists() else []
            if len(matches) == 1:
                path = matches[0]
            else:
                raise CopilotError(f"no session {session_id!r}; run `copilot sessions list` to see them")
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line from a crash; the rest is intact

    def resolve(self, session_id: str) -> str:
        """Accept a unique prefix of a session id."""
        if self.path(session_id).exists():
            return session_id
        matches = sorted(self.directory.glob(f"{session_id}*.jsonl")) if self.directory.exists() else []
        if len(matches) == 1:
            return matches[0].stem
        if not matches:
            raise CopilotError(f"no session {session_id!r}; run `copilot sessions list` to see them")
        raise CopilotError(f"{session_id!r} matches {len(matches)} sessions; give more of the id")

    def summary(self, session_id: str) -> SessionSummary:
        started, question, model, outcome, runs, root = 0.0, "", "", "running", 0, ""
        for ev in self.events(session_id):
            kind = ev.get("kind")
            if kind == "run_started":
                runs += 1
                outcome = "running"
                if not question:
                    started, question, model = ev.get("at", 0.0), ev.get("question", ""), ev.get("model", "")
            elif kind == "final_answer":
                outcome = "answered"
                causes = (ev.get("diagnosis") or {}).get("root_causes") or []
                if causes:
                    root = f"{causes[0].get('component')} / {causes[0].get('fault_type')}"
            elif kind == "step_limit":
                outcome = "step_limit"
            elif kind == "run_failed" and outcome == "running":
                outcome = "failed"
        return SessionSummary(session_id, started, question, model, outcome, runs, root)

    def list(self, limit: int = 50) -> list[SessionSummary]:
        if not self.directory.exists():
            return []
        files = sorted(self.directory.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
        return [self.summary(p.stem) for p in files[:limit]]

    def conversation(self, session_id: str) -> builtins.list[dict[str, str]]:
        """The question/answer turns of a session, to resume it."""
        turns: builtins.list[dict[str, str]] = []
        for ev in self.events(session_id):
            if ev.get("kind") == "run_started":
                turns.append({"role": "user", "content": ev.get("question", "")})
            elif ev.get("kind") == "final_answer":
                turns.append({"role": "assistant", "content": ev.get("answer", "")})
        return turns

    def last_selection(self, session_id: str) -> dict[str, Any] | None:
        """What the session's last run read (DataSelection.to_dict()), or None when no run
        recorded it (sessions saved before the selection was kept)."""
        found = None
        for ev in self.events(session_id):
            if ev.get("kind") == "run_started" and ev.get("selection"):
                found = ev["selection"]
        return found

    def last_diagnosis(self, session_id: str) -> dict[str, Any] | None:
        """The session's latest investigation: a follow-up's answer (no findings, no causes)
        does not replace the diagnosis it was about."""
        found = None
        for ev in self.events(session_id):
            if ev.get("kind") == "final_answer":
                diagnosis = ev.get("diagnosis")
                if found is None or not isinstance(diagnosis, dict) or diagnosis.get("findings") or diagnosis.get("root_causes"):
                    found = diagnosis
        return found
