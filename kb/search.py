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
    import numpy as np

    query = " ".join(query.split())
    if not query:
        return []
    kinds = [kd for kd in ([kind] if kind else list(S.KINDS)) if kd not in exclude]
    filters = Filters(service, fault_kind, language)
    n = max(4 * k, 20)
    qvec = store.embedder.query(query)
    calibration = R.calibration_for(store.embedder.name)
    jobs = []
    tables: dict[str, Any] = {}
    stats: dict[str, R.TableStats] = {}
    vector_ranked: list[tuple[float, str, dict[str, Any]]] = []
    text_lists: list[list[tuple[str, dict[str, Any]]]] = []
    if index is not None:
        for kd in kinds:
            if not index.has_table(kd) or not index.tables[kd]["id"]:
                continue
            stats[kd] = R.TableStats(index.term_stats(kd), index.vector_stats(kd) if calibration is None else None)
            keep = index.mask(kd, service, fault_kind, language)
            ids = index.tables[kd]["id"]
            tables[kd] = index
            for dist, i in index.vector_hits(kd, qvec, keep, n):
                vector_ranked.append((dist, kd, {"id": ids[i], "_row": i}))
            text_lists.append([(kd, {"id": ids[i], "_row": i}) for i in index.text_hits(kd, query, keep, n)])
    pool = _pool() if index is None else None
    for kd in kinds if index is None else ():
        if not store.has_table(kd):
            continue
        tbl = store.table(kd)
        tbl.checkout_latest()
        stats[kd] = R.table_stats(store.uri, kd, tbl, with_vectors=calibration is None)
        if not stats[kd].terms.rows:  # an empty table
            continue
        where = filters.where(kd)
        # The two retrievers (and the tables) run at once: the work happens in Lance's
        # native threads, so Python threads overlap well here.
        tables[kd] = tbl
        assert pool is not None
        jobs.append((kd, pool.submit(_vector_hits, tbl, kd, qvec, where, n),
                     pool.submit(_text_hits, tbl, kd, query, where, n)))
    for kd, vec_job, text_job in jobs:
        for row in newest_per_id(vec_job.result()):
            vector_ranked.append((row.pop("_distance"), kd, row))
        # Lance returns tied BM25 scores in no fixed order (it changes with the limit): ties go
        # in row order, as in the snapshot search, so a search ranks the same every time
        found = sorted(newest_per_id(text_job.result()), key=lambda r: (-float(r.get("_score") or 0.0), r.get("_rowid", 0)))
        text_lists.append([(kd, r) for r in found])
    vector_ranked.sort(key=lambda t: t[0])
    scores: dict[str, float] = {}
    rows: dict[str, tuple[str, dict[str, Any]]] = {}
    for rank, (_, kd, row) in enumerate(vector_ranked[:n], start=1):
        scores[row["id"]] = scores.get(row["id"], 0.0) + 1.0 / (RRF_K + rank)
        rows[row["id"]] = (kd, row)
    for hits in text_lists:
        for rank, (kd, row) in enumerate(hits, start=1):
            row.pop("_score", None)
            scores[row["id"]] = scores.get(row["id"], 0.0) + 1.0 / (RRF_K + rank)
            rows.setdefault(row["id"], (kd, row))
    ranked = sorted(scores, key=lambda i: (-scores[i], i))[:n]
    terms = R.query_terms(query, [stats[kd].terms for kd in tables])
    question_lang = R.question_language(query)
    out: list[dict[str, Any]] = []
    start, batch = 0, k  # rows are read in rank order, a batch at a time: most searches need one
    while start < len(ranked) and len(out) < k:
        chunk = ranked[start:start + batch]
        start, batch = start + len(chunk), n
        full = _fetch(tables, [rows[i] for i in chunk]) if index is None else _fetch_snapshot(index, [rows[i] for i in chunk])
        for entry_id in chunk:
            kd, _ = rows[entry_id]
            row = full[entry_id]
            sim = float(np.dot(qvec, np.asarray(row.pop("vector"), dtype=np.float32)))
            cover = R.coverage(terms, row.pop("text") or "")
            entry_lang = row.get("language") or question_lang
            vstats = stats[kd].vectors
            z = vstats.z(qvec, sim, entry_lang) if vstats is not None else None
            bar = vstats.bar(entry_lang) if vstats is not None else R.Z_THRESHOLD
            relevant = R.is_relevant(calibration, question_lang, entry_lang, sim, cover, z, bar)
            if relevant_only and not relevant:
                continue
            entry = S.to_entry(kd, row) if index is None else row
            entry.update(score=round(scores[entry_id], 6), similarity=round(sim, 4), coverage=round(cover, 3),
                         relevant=relevant)
            out.append(entry)
            if len(out) == k:
                break
    return out


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
