"""The knowledge store: three LanceDB tables (experiences, documents, incidents) at one URI.

The URI is a local path by default (`Settings.kb_location()`), or anything LanceDB
connects to (`s3://bucket/kb`, `db://team-kb` for a LanceDB server). Each table carries
its schema version and embedder in the Arrow schema metadata: an older version is
migrated, a newer or foreign one is refused with a one-line message, vectors from another
embedder are recomputed — a store is never misread.

Writers on a local path take an advisory file lock, so two copilot processes writing at
once are serialised; readers keep the newest row per id, which also covers object stores
where no lock is possible.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Any, Iterator

from copilot.errors import CopilotError

from . import schema as S
from .embed import Embedder

META_TABLE = "kb_meta"
FTS_COLUMN = "text"
VECTOR_INDEX_MIN_ROWS = 50_000  # brute force below this is fast enough
# A table up to this size gets its full-text index rebuilt after each write (~10 ms for the
# bundled knowledge): an index updated in place keeps counting deleted rows and scores new
# ones apart, so BM25 would depend on the store's history, and kb/snapshot_search.py could
# not reproduce it.
FTS_REBUILD_MAX_ROWS = 5_000
# Characters of an entry's search text that are embedded (the full text is still
# full-text indexed). The embedder averages 512-token windows, so a 1 MB entry took ~5 min
# and its vector was the blur of everything; a bounded text keeps every field's head.
EMBED_CHARS = 6000


def embedding_text(text: str, limit: int = EMBED_CHARS) -> str:
    """`text` bounded to about `limit` characters for its vector: each line (one field of the
    search text) keeps its head, short lines whole, the long ones sharing what is left."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    budget, open_lines = limit, sorted(range(len(lines)), key=lambda i: len(lines[i]))
    share: dict[int, int] = {}
    for k, i in enumerate(open_lines):
        fair = budget // (len(open_lines) - k)
        share[i] = min(len(lines[i]), fair)
        budget -= share[i]
    out = []
    for i, line in enumerate(lines):
        cut = line[: share[i]]
        if share[i] < len(line) and " " in cut[len(cut) // 2:]:
            cut = cut[: cut.rindex(" ")]  # end on a word
        out.append(cut)
    return "\n".join(out)


def sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def kind_of(entry_id: str) -> str:
    for kind, prefix in S.ID_PREFIX.items():
        if entry_id.startswith(prefix):
            return kind
    raise CopilotError(f"unknown id {entry_id!r}: ids start with exp- (experience), sop- (runbook) or inc- (incident)")


def slug(text: str, limit: int = 32) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")


def new_id(kind: str, fields: dict[str, Any]) -> str:
    """A readable id derived from content, so importing the same file twice is idempotent."""
    name = fields.get("fault_name") or fields.get("title") or fields.get("question") or ""
    digest = S.content_hash(kind, fields)[:6]
    stem = slug(name)
    return f"{S.ID_PREFIX[kind]}{stem + '-' if stem else ''}{digest}"


def newest_per_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        old = best.get(row["id"])
        if old is None or (row.get("updated_at") or "") >= (old.get("updated_at") or ""):
            best[row["id"]] = row
    return list(best.values())


class KnowledgeStore:
    def __init__(self, uri: str, embedder: Embedder) -> None:
        self.uri = uri
        self.embedder = embedder
        self._conn: Any = None
        self._tables: dict[str, Any] = {}
        self._thread_lock = threading.RLock()
        self._lock_depth = 0

    @property
    def location(self) -> str:
        return self.uri

    @property
    def is_local(self) -> bool:
        return "://" not in self.uri or self.uri.startswith("file://")

    # -- connection, tables, versions ---------------------------------------------------
    def db(self) -> Any:
        if self._conn is None:
            from .lancedb_import import import_lancedb

            lancedb = import_lancedb()

            try:
                if self.is_local:
                    Path(self.uri.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
                self._conn = lancedb.connect(self.uri)
            except (OSError, ValueError, RuntimeError) as exc:
                raise CopilotError(f"cannot open the knowledge base at {self.uri}: {exc}; check kb_uri") from None
        return self._conn

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Exclusive across processes (an flock on a local store), re-entrant within one."""
        with self._thread_lock:
            if self._lock_depth or not self.is_local:
                self._lock_depth += 1
                try:
                    yield
                finally:
                    self._lock_depth -= 1
                return
            import fcntl

            path = Path(self.uri.removeprefix("file://")) / ".write.lock"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a+") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                self._lock_depth += 1
                try:
                    yield
                finally:
                    self._lock_depth -= 1
                    fcntl.flock(fh, fcntl.LOCK_UN)

    def _table_names(self) -> set[str]:
        listed = self.db().list_tables()
        return set(getattr(listed, "tables", listed))

    def has_table(self, kind: str) -> bool:
        return kind in self._tables or S.TABLES[kind] in self._table_names()

    def table(self, kind: str) -> Any:
        """The table for a kind, created when missing, checked (and migrated) when found."""
        if kind in self._tables:
            return self._tables[kind]
        name = S.TABLES[kind]
        db = self.db()
        try:
            tbl = db.open_table(name)
        except ValueError:  # not there (or another process is creating it right now)
            with self.write_lock():
                sch = S.arrow_schema(kind, self.embedder.dim, self.embedder.name)
                tbl = db.create_table(name, schema=sch, exist_ok=True)
        tbl = self._checked(kind, tbl)
        self._tables[kind] = tbl
        return tbl

    def _checked(self, kind: str, tbl: Any) -> Any:
        meta = tbl.schema.metadata or {}
        where = f"{self.uri} (table {S.TABLES[kind]})"
        raw = meta.get(S.VERSION_KEY)
        if raw is None:
            raise CopilotError(f"{where} is not an sre-copilot knowledge table; set kb_uri to another location")
        version = int(raw)
        if version > S.SCHEMA_VERSION:
            raise CopilotError(
                f"{where} has schema version {version}, written by a newer sre-copilot (this one reads "
                f"{S.SCHEMA_VERSION}); upgrade sre-copilot"
            )
        stored_embedder = (meta.get(S.EMBEDDER_KEY) or b"").decode()
        if version < S.SCHEMA_VERSION or stored_embedder != self.embedder.name:
            missing = [v for v in range(version, S.SCHEMA_VERSION) if v not in S.MIGRATIONS]
            if missing:
                raise CopilotError(
                    f"{where} has schema version {version} and no migration from it exists; export it with the "
                    f"sre-copilot version that wrote it and re-import"
                )
            tbl = self._rewrite(kind, tbl, version)
        return tbl

    def _rewrite(self, kind: str, tbl: Any, version: int) -> Any:
        """Migrate rows to the current schema and embedder, replacing the table atomically."""
        with self.write_lock():
            rows = newest_per_id(tbl.to_arrow().to_pylist())
            for v in range(version, S.SCHEMA_VERSION):
                rows = S.MIGRATIONS[v](kind, rows)
            full = [self._complete_row(kind, r) for r in rows]
            self._embed(full)
            sch = S.arrow_schema(kind, self.embedder.dim, self.embedder.name)
            new = self.db().create_table(S.TABLES[kind], data=full or None, schema=sch, mode="overwrite")
            if full:
                self._index(new, force=True)
            return new

    # -- writing ------------------------------------------------------------------------
    def _complete_row(self, kind: str, row: dict[str, Any]) -> dict[str, Any]:
        fields = S.blank(kind)
        fields.update({k: row[k] for k in S.FIELDS[kind] if k in row and row[k] is not None})
        now = S.now_iso()
        out = {name: row.get(name) or "" for name in S.BOOKKEEPING}
        out.update(fields)
        out["id"] = row.get("id") or new_id(kind, fields)
        out["created_at"] = out["created_at"] or now
        out["updated_at"] = out["updated_at"] or now
        out["origin"] = out["origin"] or "user"
        out["content_hash"] = S.content_hash(kind, fields)
        out["text"] = S.search_text(kind, fields)
        return out

    def _embed(self, rows: list[dict[str, Any]]) -> None:
        vecs = self.embedder.passages([embedding_text(r["text"]) for r in rows])
        for row, vec in zip(rows, vecs):
            row["vector"] = [float(x) for x in vec]

    def put(self, kind: str, rows: list[dict[str, Any]]) -> list[str]:
        """Insert or replace rows (by id). A row holds the kind's fields plus any bookkeeping
        already known (id, origin, created_at, bundled_*); the rest is filled in."""
        if not rows:
            return []
        full = [self._complete_row(kind, r) for r in rows]
        self._embed(full)
        tbl = self.table(kind)
        with self.write_lock():
            tbl.checkout_latest()
            (tbl.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(full))
            self._index(tbl)
        return [r["id"] for r in full]

    def _index(self, tbl: Any, force: bool = False) -> None:
        """Keep the full-text index (and, for big tables, a vector index) current."""
        indices = {tuple(ix.columns): ix for ix in tbl.list_indices()}
        rows = tbl.count_rows()
        if (FTS_COLUMN,) not in indices or force or (0 < rows <= FTS_REBUILD_MAX_ROWS):
            tbl.create_index(FTS_COLUMN, config=fts_config(), replace=True)
        if rows >= VECTOR_INDEX_MIN_ROWS and ("vector",) not in indices:
            tbl.create_index("vector", config=_vector_index_config(rows), replace=True)
        stats = tbl.index_stats(f"{FTS_COLUMN}_idx")
        if stats is not None and stats.num_unindexed_rows > max(1000, rows // 10):
            tbl.optimize()

    def delete(self, entry_id: str) -> int:
        """Remove an entry (a runbook id removes all its chunks); returns rows removed."""
        kind = kind_of(entry_id)
        if not self.has_table(kind):
            return 0
        tbl = self.table(kind)
        cond = f"id = {sql_str(entry_id)}"
        if kind == "document":
            cond += f" OR doc_id = {sql_str(entry_id)}"
        with self.write_lock():
            tbl.checkout_latest()
            before = tbl.count_rows()
            tbl.delete(cond)
            removed = before - tbl.count_rows()
            if removed:
                self._index(tbl)
        return removed

    # -- reading ------------------------------------------------------------------------
    def rows(self, kind: str, where: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        if not self.has_table(kind):
            return []
        tbl = self.table(kind)
        tbl.checkout_latest()
        q = tbl.search()
        if where:
            q = q.where(where)
        q = q.limit(limit if limit is not None else max(tbl.count_rows(), 1))
        return newest_per_id(q.to_arrow().to_pylist())

    def get_row(self, entry_id: str) -> dict[str, Any] | None:
        found = self.rows(kind_of(entry_id), f"id = {sql_str(entry_id)}")
        return found[0] if found else None

    def get(self, entry_id: str) -> dict[str, Any] | None:
        row = self.get_row(entry_id)
        return S.to_entry(kind_of(entry_id), row) if row else None

    def runbook(self, doc_id: str) -> list[dict[str, Any]]:
        """All chunks of a runbook, in order."""
        rows = self.rows("document", f"doc_id = {sql_str(doc_id)}")
        return [S.to_entry("document", r) for r in sorted(rows, key=lambda r: r["position"])]

    def list(self, kind: str | None = None) -> list[dict[str, Any]]:
        kinds = [kind] if kind else list(S.KINDS)
        out: list[dict[str, Any]] = []
        for k in kinds:
            rows = sorted(self.rows(k), key=lambda r: (r.get("doc_id") or "", r.get("position") or 0, r["id"]))
            out.extend(S.to_entry(k, r) for r in rows)
        return out

    def count(self, kind: str) -> int:
        return self.table(kind).count_rows() if self.has_table(kind) else 0

    # -- small key/value table: bundled version, tombstones of deleted bundled entries --
    def meta_get(self, prefix: str = "") -> dict[str, str]:
        try:
            tbl = self.db().open_table(META_TABLE)
        except ValueError:  # not created yet
            return {}
        q = tbl.search()
        if prefix:
            q = q.where(f"starts_with(key, {sql_str(prefix)})")
        return {r["key"]: r["value"] for r in q.limit(max(tbl.count_rows(), 1)).to_arrow().to_pylist()}

    def meta_set(self, values: dict[str, str]) -> None:
        import pyarrow as pa

        if not values:
            return
        with self.write_lock():
            sch = pa.schema([pa.field("key", pa.string()), pa.field("value", pa.string())],
                            metadata={S.VERSION_KEY: str(S.SCHEMA_VERSION).encode()})
            tbl = self.db().create_table(META_TABLE, schema=sch, exist_ok=True)
            rows = [{"key": k, "value": v} for k, v in values.items()]
            tbl.merge_insert("key").when_matched_update_all().when_not_matched_insert_all().execute(rows)


def fts_config() -> Any:
    from lancedb.index import FTS

    from .stopwords import STOP_WORDS

    return FTS(base_tokenizer="icu", custom_stop_words=STOP_WORDS)


def _vector_index_config(rows: int) -> Any:
    from lancedb.index import IvfPq

    partitions = max(16, int(rows ** 0.5))
    return IvfPq(distance_type="cosine", num_partitions=partitions, num_sub_vectors=48)


_OPEN: dict[tuple[str, str], KnowledgeStore] = {}


def open_store(settings: Any = None, seed: bool = True) -> KnowledgeStore:
    """The store at `settings.kb_location()`, with the bundled knowledge loaded on first use.

    Stores are reused within a process (one per location and embedder)."""
    from copilot.config import Settings

    from .embed import embedder_from_settings

    settings = settings or Settings()
    os.environ.setdefault("LANCE_LOG", "error")
    embedder = embedder_from_settings(settings)
    key = (settings.kb_location(), embedder.name)
    store = _OPEN.get(key)
    if store is None:
        store = KnowledgeStore(key[0], embedder)
        _OPEN[key] = store
    from .journal import recover

    recover(store)  # finish an import a killed process staged (one action, one commit)
    if seed:
        from .seed import sync_bundled

        sync_bundled(store)
    return store


def fingerprint(texts: list[str]) -> str:
    return hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:12]
