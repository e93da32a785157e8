"""Hybrid retrieval: vector similarity (multilingual embeddings) plus full-text search
(ICU tokenizer, so Chinese works), fused by reciprocal rank (RRF).

Vector hits from all searched tables share one ranking (cosine distances from the same
embedder are comparable); full-text hits are ranked per table (BM25 scores are not). Every
returned entry says whether it is `relevant`, i.e. about the question's topic
(kb/relevance.py): rank says which entries are nearest, relevance whether any is near
enough to answer from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import relevance as R
from . import schema as S
from .store import KnowledgeStore, newest_per_id, sql_str

if TYPE_CHECKING:
    from .snapshot_search import SnapshotIndex

RRF_K = 60  # the standard constant from Cormack et al. (2009)
_POOL: dict[str, Any] = {}


@dataclass(frozen=True)
class Filters:
    service: str | None = None
    fault_kind: str | None = None
    language: str | None = None

    def where(self, kind: str) -> str | None:
        parts = []
        if self.service:
            col = "components" if kind == "incident" else "services"
            parts.append(f"array_has({col}, {sql_str(self.service)})")
        if self.fault_kind:
            cond = f"fault_kind = {sql_str(self.fault_kind)}"
            if kind == "incident":
                cond = f"({cond} OR verdict_fault_kind = {sql_str(self.fault_kind)})"
            parts.append(cond)
        if self.language:
            parts.append(f"language = {sql_str(self.language)}")
        return " AND ".join(parts) or None


def _columns(kind: str) -> list[str]:
    return [c for c in list(S.BOOKKEEPING) + list(S.FIELDS[kind]) if c != "text"]


# Retrieval reads ids only; the few winning rows are fetched by row id at the end (this
# halves the cost of a vector search on a big table).
_KEYS = ["id", "updated_at"]


def _vector_hits(tbl: Any, kind: str, qvec: Any, where: str | None, n: int) -> list[dict[str, Any]]:
    q = (tbl.search(qvec, vector_column_name="vector").distance_type("cosine")
         .select(_KEYS + ["_distance"]).with_row_id(True).limit(n))
    q = q.nprobes(32).refine_factor(4)  # used when an IVF-PQ index exists (big tables)
    if where:
        q = q.where(where, prefilter=True)
    return q.to_list()


def _text_hits(tbl: Any, kind: str, query: str, where: str | None, n: int) -> list[dict[str, Any]]:
    q = tbl.search(query, query_type="fts", fts_columns="text").select(_KEYS + ["_score"]).with_row_id(True).limit(n)
    if where:
        q = q.where(where, prefilter=True)
    try:
        return q.to_list()
    except (ValueError, RuntimeError, OSError):
        # A query the full-text parser rejects (odd punctuation): vectors still answer.
        return []


def _pool() -> Any:
    from concurrent.futures import ThreadPoolExecutor

    if "pool" not in _POOL:
        _POOL["pool"] = ThreadPoolExecutor(max_workers=6, thread_name_prefix="kb-search")
    return _POOL["pool"]


def _fetch(tables: dict[str, Any], picked: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Full rows (with text and vector, for the relevance test) of the candidates, by row
    id, one read per table."""
    out: dict[str, dict[str, Any]] = {}
    by_kind: dict[str, list[int]] = {}
    for kd, row in picked:
        by_kind.setdefault(kd, []).append(row["_rowid"])
    for kd, rowids in by_kind.items():
        for row in tables[kd].take_row_ids(rowids).select(_columns(kd) + ["text", "vector"]).to_list():
            out[row["id"]] = row
    return out


def _fetch_snapshot(index: SnapshotIndex, picked: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The candidates as `_fetch` returns them, from the snapshot: the public entry (what
    `S.to_entry` makes of the full row) with the search text and the vector."""
    out: dict[str, dict[str, Any]] = {}
    for kd, row in picked:
        entry_id, text, vector = index.row(kd, row["_row"])
        out[entry_id] = dict(index.entries[kd][entry_id], text=text, vector=vector)
    return out


@dataclass
class _Hits:
    """Both retrievers' hits over the searched tables, before fusion."""

    tables: dict[str, Any]  # kind -> the table (or the snapshot) its rows are read from
    stats: dict[str, R.TableStats]
    vector_ranked: list[tuple[float, str, dict[str, Any]]]  # (distance, kind, row)
    text_lists: list[list[tuple[str, dict[str, Any]]]]  # per table, (kind, row) by BM25 rank


def search(
    store: KnowledgeStore,
    query: str,
    kind: str | None = None,
    k: int = 5,
    service: str | None = None,
    fault_kind: str | None = None,
    language: str | None = None,
    relevant_only: bool = False,
    exclude: tuple[str, ...] = (),
    index: SnapshotIndex | None = None,
) -> list[dict[str, Any]]:
    """The k best entries for a query: entry dicts with `score` (fused), `similarity`,
    `coverage` and `relevant`; with `relevant_only`, entries that fail the relevance test
    are dropped; kinds in `exclude` are not searched (a run without memory: "incident").

    With `index` (kb/snapshot_search.py: the snapshot of the store's current state) the two
    retrievers run on it with numpy and `store` only embeds the query; the fusion and the
    relevance test below are the same code either way."""
    query = " ".join(query.split())
    if not query:
        return []
    kinds = [kd for kd in ([kind] if kind else list(S.KINDS)) if kd not in exclude]
    filters = Filters(service, fault_kind, language)
    n = max(4 * k, 20)
    qvec = store.embedder.query(query)
    calibration = R.calibration_for(store.embedder.name)
    if index is not None:
        hits = _snapshot_hits(index, kinds, qvec, query, n, calibration is None, filters)
    else:
        hits = _store_hits(store, kinds, qvec, query, n, calibration is None, filters)
    scores, rows = _fuse(hits, n)
    ranked = sorted(scores, key=lambda i: (-scores[i], i))[:n]
    reader = _Reader(hits, qvec, query, calibration, relevant_only, index)
    out: list[dict[str, Any]] = []
    start, batch = 0, k  # rows are read in rank order, a batch at a time: most searches need one
    while start < len(ranked) and len(out) < k:
        chunk = ranked[start:start + batch]
        start, batch = start + len(chunk), n
        out += reader.entries(chunk, rows, scores, k - len(out))
    return out


def _snapshot_hits(index: SnapshotIndex, kinds: list[str], qvec: Any, query: str, n: int, with_vectors: bool,
                   filters: Filters) -> _Hits:
    """Both retrievers over the snapshot, with numpy."""
    hits = _Hits({}, {}, [], [])
    for kd in kinds:
        if not index.has_table(kd) or not index.tables[kd]["id"]:
            continue
        hits.stats[kd] = R.TableStats(index.term_stats(kd), index.vector_stats(kd) if with_vectors else None)
        keep = index.mask(kd, filters.service, filters.fault_kind, filters.language)
        ids = index.tables[kd]["id"]
        hits.tables[kd] = index
        for dist, i in index.vector_hits(kd, qvec, keep, n):
            hits.vector_ranked.append((dist, kd, {"id": ids[i], "_row": i}))
        hits.text_lists.append([(kd, {"id": ids[i], "_row": i}) for i in index.text_hits(kd, query, keep, n)])
    return hits


def _store_hits(store: KnowledgeStore, kinds: list[str], qvec: Any, query: str, n: int, with_vectors: bool,
                filters: Filters) -> _Hits:
    """Both retrievers over the store's Lance tables, all at once."""
    hits = _Hits({}, {}, [], [])
    pool = _pool()
    jobs = []
    for kd in kinds:
        if not store.has_table(kd):
            continue
        tbl = store.table(kd)
        tbl.checkout_latest()
        hits.stats[kd] = R.table_stats(store.uri, kd, tbl, with_vectors=with_vectors)
        if not hits.stats[kd].terms.rows:  # an empty table
            continue
        where = filters.where(kd)
        # The two retrievers (and the tables) run at once: the work happens in Lance's
        # native threads, so Python threads overlap well here.
        hits.tables[kd] = tbl
        jobs.append((kd, pool.submit(_vector_hits, tbl, kd, qvec, where, n),
                     pool.submit(_text_hits, tbl, kd, query, where, n)))
    for kd, vec_job, text_job in jobs:
        for row in newest_per_id(vec_job.result()):
            hits.vector_ranked.append((row.pop("_distance"), kd, row))
        # Lance returns tied BM25 scores in no fixed order (it changes with the limit): ties go
        # in row order, as in the snapshot search, so a search ranks the same every time
        found = sorted(newest_per_id(text_job.result()), key=lambda r: (-float(r.get("_score") or 0.0), r.get("_rowid", 0)))
        hits.text_lists.append([(kd, r) for r in found])
    return hits


def _fuse(hits: _Hits, n: int) -> tuple[dict[str, float], dict[str, tuple[str, dict[str, Any]]]]:
    """Reciprocal-rank fusion of the two retrievers: (score by id, (kind, row) by id)."""
    hits.vector_ranked.sort(key=lambda t: t[0])
    scores: dict[str, float] = {}
    rows: dict[str, tuple[str, dict[str, Any]]] = {}
    for rank, (_, kd, row) in enumerate(hits.vector_ranked[:n], start=1):
        scores[row["id"]] = scores.get(row["id"], 0.0) + 1.0 / (RRF_K + rank)
        rows[row["id"]] = (kd, row)
    for text_hits in hits.text_lists:
        for rank, (kd, row) in enumerate(text_hits, start=1):
            row.pop("_score", None)
            scores[row["id"]] = scores.get(row["id"], 0.0) + 1.0 / (RRF_K + rank)
            rows.setdefault(row["id"], (kd, row))
    return scores, rows


class _Reader:
    """Reads ranked candidates in full and tests each one's relevance to the query."""

    def __init__(self, hits: _Hits, qvec: Any, query: str, calibration: Any, relevant_only: bool,
                 index: SnapshotIndex | None) -> None:
        self.hits, self.qvec, self.calibration, self.relevant_only, self.index = hits, qvec, calibration, relevant_only, index
        self.terms = R.query_terms(query, [hits.stats[kd].terms for kd in hits.tables])
        self.question_lang = R.question_language(query)

    def entries(self, chunk: list[str], rows: dict[str, tuple[str, dict[str, Any]]], scores: dict[str, float],
                wanted: int) -> list[dict[str, Any]]:
        """Up to `wanted` entries of `chunk`, in its order (the irrelevant ones left out when asked)."""
        picked = [rows[i] for i in chunk]
        full = _fetch(self.hits.tables, picked) if self.index is None else _fetch_snapshot(self.index, picked)
        out: list[dict[str, Any]] = []
        for entry_id in chunk:
            entry = self.entry(rows[entry_id][0], full[entry_id], scores[entry_id])
            if entry is None:
                continue
            out.append(entry)
            if len(out) == wanted:
                break
        return out

    def entry(self, kd: str, row: dict[str, Any], score: float) -> dict[str, Any] | None:
        import numpy as np

        sim = float(np.dot(self.qvec, np.asarray(row.pop("vector"), dtype=np.float32)))
        cover = R.coverage(self.terms, row.pop("text") or "")
        entry_lang = row.get("language") or self.question_lang
        vstats = self.hits.stats[kd].vectors
        z = vstats.z(self.qvec, sim, entry_lang) if vstats is not None else None
        bar = vstats.bar(entry_lang) if vstats is not None else R.Z_THRESHOLD
        relevant = R.is_relevant(self.calibration, self.question_lang, entry_lang, sim, cover, z, bar)
        if self.relevant_only and not relevant:
            return None
        entry = S.to_entry(kd, row) if self.index is None else row
        entry.update(score=round(score, 6), similarity=round(sim, 4), coverage=round(cover, 3), relevant=relevant)
        return entry


def cite(entry: dict[str, Any]) -> str:
    """One compact line (or two) an agent can read and cite by id."""
    kind = entry["kind"]
    if kind == "experience":
        head = f"{entry['fault_name']}" + (f" ({entry['fault_kind']})" if entry.get("fault_kind") else "")
        body = f"cause: {entry['root_cause']} | mitigation: {entry['mitigation']}"
    elif kind == "document":
        head = f"{entry['title']} — {entry['section']}"
        body = " ".join(entry["body"].split())[:300]
    else:
        verdict = f" [{entry['verdict']}]" if entry.get("verdict") else ""
        rc = entry.get("verdict_root_cause") or entry.get("root_cause")
        fk = entry.get("verdict_fault_kind") or entry.get("fault_kind")
        head = f"{entry['question']}{verdict}"
        body = f"root cause: {rc} ({fk}) | mitigation: {entry.get('mitigation', '')}"
    return f"[{entry['id']}] {kind}: {head}\n    {body}"
