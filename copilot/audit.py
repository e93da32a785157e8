"""The audit log of actions on systems: one JSON line per proposal, approval, denial, dry
run and result (who, what, when, outcome), appended to `<data dir>/audit.jsonl`."""

from __future__ import annotations

import getpass
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .config import data_dir
from .redact import redact


def audit_path() -> Path:
    return data_dir() / "audit.jsonl"


def whoami() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


class AuditLog:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else audit_path()

    def record(self, action: str, what: str, outcome: str, *, who: str = "", session_id: str = "",
               **detail: Any) -> dict[str, Any]:
        entry = {
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "ts": round(time.time(), 3),
            "who": who or whoami(),
            "session_id": session_id,
            "action": action,  # proposed | approved | denied | dry_run | ran
            "what": redact(what),
            "outcome": outcome,
            **{k: redact(v) if isinstance(v, str) else v for k, v in detail.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
        finally:
            os.close(fd)
        return entry

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
