"""One user action, one commit: a redo journal for writes that span LanceDB tables.

LanceDB commits per table, so an import (experiences, then runbook chunks) or a
`memory label --learn` (the verdict, then the learned entry) is several commits. `commit`
first stages every write in a journal file (written to a temporary name, fsynced and
renamed into place: it exists whole or not at all), then applies the writes, then removes
the journal. `recover` replays a journal a killed process left behind; writes are puts
and deletes by id, so replaying is idempotent. A kill therefore leaves the store before the
action (no journal yet) or, once the next command opens the store, after it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store imports LanceDB lazily; read-only snapshots need only the path
    from .store import KnowledgeStore


def journal_path(store: KnowledgeStore) -> Path:
    return journal_path_for(store.location)


def journal_path_for(uri: str) -> Path:
    """Where the journal of the store at `uri` is staged."""
    if "://" not in uri or uri.startswith("file://"):
        local = Path(uri.removeprefix("file://"))
        return local.parent / f".{local.name}.journal.json"
    from copilot.config import data_dir

    return data_dir() / "kb-journal" / f"{hashlib.sha256(uri.encode()).hexdigest()[:16]}.json"


def put(kind: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"op": "put", "kind": kind, "rows": rows}


def delete(entry_id: str) -> dict[str, Any]:
    return {"op": "delete", "id": entry_id}


def _apply(store: KnowledgeStore, ops: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for op in ops:
        if op["op"] == "delete":
            store.delete(op["id"])
        elif op["rows"]:
            ids += store.put(op["kind"], op["rows"])
    return ids


def commit(store: KnowledgeStore, ops: list[dict[str, Any]]) -> list[str]:
    """Apply `ops` as one commit; returns the ids written."""
    recover(store)
    path = journal_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".tmp")
    with open(staged, "w", encoding="utf-8") as fh:
        json.dump(ops, fh, ensure_ascii=False, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(staged, path)
    ids = _apply(store, ops)
    path.unlink(missing_ok=True)
    return ids


def recover(store: KnowledgeStore) -> bool:
    """Finish an action a killed process staged; True when there was one."""
    path = journal_path(store)
    path.with_name(path.name + ".tmp").unlink(missing_ok=True)  # never renamed: the action never began
    if not path.exists():
        return False
    try:
        ops = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        path.unlink(missing_ok=True)
        return False
    _apply(store, ops)
    path.unlink(missing_ok=True)
    return True
