"""A read-only snapshot of a local knowledge store, so commands that only read it (`kb list`,
`kb show`, `kb export`, `memory list`, `memory show`) answer in milliseconds instead of
paying LanceDB's seconds-long import on every call.

The snapshot (`<store>/.snapshot.json`) holds every entry as `KnowledgeStore.list()` returns
it, keyed by the state it was read from: the committed versions of every table (the file
names under each `<table>.lance/_versions/`; any commit by any process adds one), the
schema version, the embedder and the bundled-knowledge version. It is used only while that
key still matches and no journal is pending (kb/journal.py), so a stale snapshot is never
read: any write makes the next read go through LanceDB, which writes a fresh snapshot. The
key is taken *before* the store is read, so a commit racing the read leaves a snapshot whose
key is already out of date. Object-store URIs (s3://, db://) always read through LanceDB.
Whoever writes the snapshot also writes, under the same key, what `kb search` needs to rank
without LanceDB (kb/snapshot_search.py).
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from . import schema as S

FILE = ".snapshot.json"


def _local_root(uri: str) -> Path | None:
    if "://" in uri and not uri.startswith("file://"):
        return None
    return Path(uri.removeprefix("file://"))


def state_key(uri: str, embedder_name: str) -> str | None:
    """What the store holds right now, as a hash of its committed table versions; None when
    the store cannot be snapshotted (remote, missing, or an action is half-applied)."""
    root = _local_root(uri)
    if root is None or not root.is_dir():
        return None
    from .journal import journal_path_for

    if journal_path_for(uri).exists():
        return None  # a killed action awaits recovery: only the full store may read it
    from .seed import bundled_version

    digest = hashlib.sha256(f"{S.SCHEMA_VERSION}\0{embedder_name}\0{bundled_version()}".encode())
    try:
        tables = sorted(p for p in os.listdir(root) if p.endswith(".lance"))
        for table in tables:
            versions = sorted(os.listdir(root / table / "_versions"))
            digest.update(("\0" + table + ":" + ",".join(versions)).encode())
    except OSError:
        return None
    return digest.hexdigest()


def load(uri: str, embedder_name: str) -> dict[str, list[dict[str, Any]]] | None:
    """The entries per kind, when a snapshot of the store's present state exists."""
    key = state_key(uri, embedder_name)
    root = _local_root(uri)
    if key is None or root is None:
        return None
    try:
        data = json.loads((root / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("entries"), dict):
        return None
    return data["entries"]


def save(uri: str, key: str | None, entries: dict[str, list[dict[str, Any]]]) -> None:
    """Write the snapshot atomically (a temporary file renamed into place)."""
    root = _local_root(uri)
    if key is None or root is None or not root.is_dir():
        return
    staged = root / f"{FILE}.{os.getpid()}.tmp"
    try:
        staged.write_text(json.dumps({"key": key, "entries": entries}, ensure_ascii=False, default=str),
                          encoding="utf-8")
        os.replace(staged, root / FILE)
    except OSError:
        staged.unlink(missing_ok=True)  # a read-only store still answers, just not fast


class StoreView:
    """What the read-only commands need of a store: `list`, `get`, `runbook` — from the
    snapshot when it is current, else from the full store (which refreshes the snapshot)."""

    def __init__(self, settings: Any, open_full: Callable[[], Any]) -> None:
        from .embed import embedder_from_settings

        self.uri = settings.kb_location()
        self.embedder_name = embedder_from_settings(settings).name
        self._open_full = open_full
        self._entries = load(self.uri, self.embedder_name)
        self.from_snapshot = self._entries is not None

    @property
    def location(self) -> str:
        return self.uri

    def _all(self) -> dict[str, list[dict[str, Any]]]:
        if self._entries is None:
            store = self._open_full()  # recovers a journal and seeds the bundled knowledge first
            key = state_key(self.uri, self.embedder_name)
            entries = {kind: store.list(kind) for kind in S.KINDS}
            save(self.uri, key, entries)
            _save_search(store, key)
            self._entries = entries
        return self._entries

    def list(self, kind: str | None = None) -> list[dict[str, Any]]:
        entries = self._all()
        return [e for k in ([kind] if kind else list(S.KINDS)) for e in entries.get(k, [])]

    def get(self, entry_id: str) -> dict[str, Any] | None:
        from .store import kind_of

        return next((e for e in self._all().get(kind_of(entry_id), []) if e["id"] == entry_id), None)

    def runbook(self, doc_id: str) -> builtins.list[dict[str, Any]]:
        chunks = [e for e in self._all().get("document", []) if e.get("doc_id") == doc_id]
        return sorted(chunks, key=lambda e: e.get("position") or 0)


REFRESH_MAX_ROWS = 2_000  # a writer re-snapshots a store this small; a bigger one is left to the next reader


def refresh(store: Any, repair: bool = True) -> None:
    """After a write by a process that has the store open (an investigation saving its
    diagnosis), write the snapshot at once, so the next `kb list` / `memory list` does not
    pay LanceDB's import to re-read it, nor the next `kb search`. Skipped for big stores (the
    listing costs more)."""
    key = state_key(store.uri, store.embedder.name)
    if key is None:
        return
    if sum(store.count(kind) for kind in S.KINDS if store.has_table(kind)) > REFRESH_MAX_ROWS:
        return
    save(store.uri, key, {kind: store.list(kind) for kind in S.KINDS})
    if _save_search(store, key, repair) and repair:
        refresh(store, repair=False)  # an index was rebuilt: a new state, snapshotted once more


def _save_search(store: Any, key: str | None, repair: bool = False) -> bool:
    """The data `kb search` needs beside the snapshot (kb/snapshot_search.py); True when a
    full-text index had to be rebuilt first (the store changed)."""
    from .snapshot_search import Rebuilt
    from .snapshot_search import save as save_search

    try:
        save_search(store, key, repair)
    except Rebuilt:
        return True
    except (ImportError, TypeError, ValueError, RuntimeError, OSError):
        pass  # a LanceDB whose tokenizer or index settings differ: searches keep reading LanceDB
    return False
