"""Load the bundled knowledge (kb/bundled/) into a store on first use, and upgrade it
later without ever overwriting what a user changed.

Each bundled row records the bundled version and the content hash it was written with.
On upgrade an entry is replaced only when its present content still has that hash (the
user has not edited it); entries a user deleted stay deleted (a tombstone in kb_meta).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from .importer import ImportPlan, parse_file
from . import schema as S
from .store import KnowledgeStore

VERSION_KEY = "bundled_version"
TOMBSTONE = "deleted:"


def bundled_paths() -> list[Path]:
    root = Path(__file__).resolve().parent / "bundled"
    return sorted(root.glob("*.yaml")) + sorted((root / "runbooks").glob("*.md"))


def bundled_version() -> str:
    """A hash of the bundled files: changes whenever a release changes them."""
    digest = hashlib.sha256()
    for path in bundled_paths():
        digest.update(path.name.encode() + b"\x00" + path.read_bytes())
    return digest.hexdigest()[:12]


def bundled_plan() -> tuple[ImportPlan, str]:
    """The bundled entries and their version."""
    plan = ImportPlan()
    for path in bundled_paths():
        parse_file(path, plan, source_uri=f"bundled://{path.parent.name}/{path.name}")
    if plan.problems:
        raise ValueError("bundled knowledge is malformed: " + "; ".join(plan.problems))
    return plan, bundled_version()


def _unchanged(row: dict[str, Any]) -> bool:
    return row.get("origin") == "bundled" and row.get("content_hash") == row.get("bundled_hash")


def _stamp(kind: str, fields: dict[str, Any], version: str) -> dict[str, Any]:
    return dict(fields, origin="bundled", bundled_version=version, bundled_hash=S.content_hash(kind, fields))


def sync_bundled(store: KnowledgeStore, force: bool = False) -> dict[str, int]:
    """Bring the bundled knowledge in; returns counts of added / updated / kept entries."""
    if getattr(store, "_bundled_synced", False) and not force:
        return {}
    version = bundled_version()
    if not force and store.meta_get(VERSION_KEY).get(VERSION_KEY) == version:
        store._bundled_synced = True  # type: ignore[attr-defined]
        return {}
    plan, version = bundled_plan()
    with store.write_lock():  # one process loads; the others then find the version set
        if not force and store.meta_get(VERSION_KEY).get(VERSION_KEY) == version:
            store._bundled_synced = True  # type: ignore[attr-defined]
            return {}
        return _sync(store, plan, version)


def _prime(store: KnowledgeStore, plan: ImportPlan) -> None:
    """Use the vectors shipped with the bundled knowledge instead of embedding it."""
    from . import prebuilt

    prime = getattr(store.embedder, "prime", None)
    if prime is None:
        return
    vectors = prebuilt.load(store.embedder.name)
    if vectors:
        texts = [S.search_text("experience", {**S.blank("experience"), **e}) for e in plan.experiences]
        texts += [S.search_text("document", {**S.blank("document"), **c}) for cs in plan.documents.values() for c in cs]
        prime(vectors, texts, prebuilt.text_key)


def _sync(store: KnowledgeStore, plan: ImportPlan, version: str) -> dict[str, int]:
    _prime(store, plan)
    deleted = {k[len(TOMBSTONE):] for k in store.meta_get(TOMBSTONE)}
    counts = {"added": 0, "updated": 0, "kept": 0}
    existing = {r["id"]: r for r in store.rows("experience")}
    rows = []
    for fields in plan.experiences:
        old = existing.get(fields["id"])
        if fields["id"] in deleted:
            continue
        if old is None:
            counts["added"] += 1
        elif _unchanged(old) and old["bundled_hash"] != S.content_hash("experience", fields):
            counts["updated"] += 1
            fields = dict(fields, created_at=old["created_at"])
        else:
            counts["kept"] += 1
            continue
        rows.append(_stamp("experience", fields, version))
    store.put("experience", rows)
    docs: dict[str, list[dict[str, Any]]] = {}
    for r in store.rows("document"):
        docs.setdefault(r["doc_id"], []).append(r)
    chunks = []
    for doc_id, new_chunks in plan.documents.items():
        old_chunks = docs.get(doc_id, [])
        if doc_id in deleted:
            continue
        if old_chunks and not all(_unchanged(r) for r in old_chunks):
            counts["kept"] += 1
            continue
        stamped = [_stamp("document", c, version) for c in new_chunks]
        if {r["id"]: r["content_hash"] for r in old_chunks} == {c["id"]: c["bundled_hash"] for c in stamped}:
            continue
        counts["updated" if old_chunks else "added"] += 1
        for r in old_chunks:
            store.delete(r["id"])
        chunks += stamped
    store.put("document", chunks)
    store.meta_set({VERSION_KEY: version})
    store._bundled_synced = True  # type: ignore[attr-defined]
    return counts


def forget_bundled(store: KnowledgeStore, entry_id: str) -> None:
    """Remember that a user deleted a bundled entry, so upgrades do not bring it back."""
    store.meta_set({TOMBSTONE + entry_id: S.now_iso()})
