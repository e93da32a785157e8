"""What each kind of knowledge holds: fields, Arrow schemas, schema versions, migrations.

An entry is a plain dict: `id`, `kind` and its fields (the shape `kb list --json`,
`kb export` and `kb import` share). A stored row flattens it and adds bookkeeping:
`origin` (bundled | user | import | learned | memory), the bundled version and content
hash an entry was loaded with, the hash of its present content, the searchable `text`
and its `vector`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Callable

KINDS: tuple[str, ...] = ("experience", "document", "incident")
TABLES: dict[str, str] = {"experience": "experiences", "document": "documents", "incident": "incidents"}
ID_PREFIX: dict[str, str] = {"experience": "exp-", "document": "sop-", "incident": "inc-"}

SCHEMA_VERSION = 1
VERSION_KEY = b"sre_copilot.schema_version"
EMBEDDER_KEY = b"sre_copilot.embedder"

# Fields a user owns (the content hash covers these), per kind, with their types.
STR, LIST, FLOAT, INT = "str", "list", "float", "int"
FIELDS: dict[str, dict[str, str]] = {
    "experience": {
        "fault_name": STR, "fault_kind": STR, "root_cause": STR,
        "symptoms_metrics": STR, "symptoms_logs": STR, "symptoms_traces": STR,
        "mitigation": STR, "services": LIST, "tags": LIST, "language": STR,
        "source": STR, "author": STR,
    },
    "document": {
        "doc_id": STR, "title": STR, "section": STR, "position": INT, "body": STR,
        "source_uri": STR, "fault_kind": STR, "services": LIST, "tags": LIST,
        "language": STR, "author": STR,
    },
    "incident": {
        "question": STR, "window_start": FLOAT, "window_end": FLOAT, "findings_summary": STR,
        "signature": LIST, "components": LIST, "root_cause": STR, "fault_kind": STR,
        "mitigation": STR, "answer": STR, "outcome": STR, "verdict": STR,
        "verdict_root_cause": STR, "verdict_fault_kind": STR, "verdict_note": STR,
        "language": STR, "session_id": STR, "model": STR, "diagnosis_json": STR,
    },
}
BOOKKEEPING: dict[str, str] = {
    "id": STR, "created_at": STR, "updated_at": STR, "origin": STR,
    "bundled_version": STR, "bundled_hash": STR, "content_hash": STR, "text": STR,
}
SYMPTOM_KEYS = ("metrics", "logs", "traces")


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def arrow_schema(kind: str, dim: int, embedder: str):
    import pyarrow as pa

    types = {STR: pa.string(), LIST: pa.list_(pa.string()), FLOAT: pa.float64(), INT: pa.int64()}
    cols = {**BOOKKEEPING, **FIELDS[kind]}
    fields = [pa.field(name, types[t]) for name, t in cols.items()]
    fields.append(pa.field("vector", pa.list_(pa.float32(), dim)))
    meta = {VERSION_KEY: str(SCHEMA_VERSION).encode(), EMBEDDER_KEY: embedder.encode()}
    return pa.schema(fields, metadata=meta)


def blank(kind: str) -> dict[str, Any]:
    defaults: dict[str, Any] = {STR: "", LIST: [], FLOAT: None, INT: 0}
    return {name: defaults[t] for name, t in FIELDS[kind].items()}


def content_hash(kind: str, fields: dict[str, Any]) -> str:
    """Hash of the user-owned fields: detects edits to bundled entries."""
    body = {name: fields.get(name) for name in FIELDS[kind]}
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


def search_text(kind: str, f: dict[str, Any]) -> str:
    """The text that is embedded and full-text indexed."""
    if kind == "experience":
        parts = [
            f["fault_name"], f["root_cause"], f["symptoms_metrics"], f["symptoms_logs"],
            f["symptoms_traces"], f"Mitigation: {f['mitigation']}" if f["mitigation"] else "",
            " ".join(f["services"]), " ".join(f["tags"]),
        ]
    elif kind == "document":
        parts = [f["title"], f["section"], f["body"], " ".join(f["tags"])]
    else:
        parts = [f["question"], f["findings_summary"], f["root_cause"], f["fault_kind"], f["mitigation"],
                 f["verdict_root_cause"], f["verdict_note"]]
    return "\n".join(p.strip() for p in parts if p and p.strip())


def to_entry(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as the public entry dict (no vector, no search text)."""
    entry: dict[str, Any] = {"id": row["id"], "kind": kind}
    for name in FIELDS[kind]:
        if kind == "experience" and name.startswith("symptoms_"):
            continue
        if name == "diagnosis_json":
            continue
        value = row.get(name)
        entry[name] = list(value) if isinstance(value, (list, tuple)) else value
    if kind == "experience":
        entry["symptoms"] = {k: row.get(f"symptoms_{k}") or "" for k in SYMPTOM_KEYS}
    if kind == "incident" and row.get("diagnosis_json"):
        entry["diagnosis"] = json.loads(row["diagnosis_json"])
    entry["created_at"] = row.get("created_at", "")
    entry["updated_at"] = row.get("updated_at", "")
    entry["origin"] = row.get("origin", "")
    if row.get("origin") == "bundled":
        entry["edited"] = row.get("content_hash") != row.get("bundled_hash")
    return entry


def fields_from_entry(kind: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The user-owned fields of a public entry dict (the inverse of `to_entry`)."""
    out = blank(kind)
    for name in FIELDS[kind]:
        if name in entry and entry[name] is not None:
            out[name] = entry[name]
    symptoms = entry.get("symptoms")
    if kind == "experience" and isinstance(symptoms, dict):
        for key in SYMPTOM_KEYS:
            out[f"symptoms_{key}"] = str(symptoms.get(key) or "")
    if kind == "incident" and isinstance(entry.get("diagnosis"), dict):
        out["diagnosis_json"] = json.dumps(entry["diagnosis"], ensure_ascii=False)
    return out


# Migrations: MIGRATIONS[v] turns a list of rows at schema version v into rows at v + 1.
Migration = Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]]
MIGRATIONS: dict[int, Migration] = {}
