"""Hybrid retrieval: vector similarity (multilingual embeddings) plus full-text search
(ICU tokenizer, so Chinese works), fused by reciprocal rank (RRF).

Vector hits from all searched tables share one ranking (cosine distances from the same
embedder are comparable); full-text hits are ranked per table (BM25 scores are not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import schema as S
from .store import KnowledgeStore, newest_per_id, sql_str

RRF_K = 60  # the standard constant from Cormack et al. (2009)
# Relevance: an entry both retrievers agree on (a full-text match that is also among the
# best vector hits), or one that stands out from the table as a whole: its similarity
# exceeds the query's mean similarity to all entries (= similarity to the centroid) by
# this margin. Unrelated questions ("what's the weather") pass neither test.
AGREE_RANK = 5
STANDOUT_MARGIN = 0.07
_CENTROIDS: dict[tuple[str, str, int], Any] = {}
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


def _centroid(store: KnowledgeStore, kind: str, tbl: Any) -> Any:
    """Mean vector of a table (cached per table version): its dot product with a query is
    the query's mean similarity to every entry."""
    import numpy as np

    key = (store.uri, kind, tbl.version)
    if key not in _CENTROIDS:
        rows = tbl.count_rows()
        if not rows:
            return None
        table = tbl.search().select(["vector"]).limit(rows).to_arrow()
        col = table.column("vector").combine_chunks()
        flat = np.asarray(col.flatten(), dtype=np.float32).reshape(len(col), -1)
        _CENTROIDS[key] = flat.mean(axis=0) if len(flat) else None
    return _CENTROIDS[key]


def _fetch(tables: dict[str, Any], picked: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Full rows for the winners, by row id, one read per table."""
    out: dict[str, dict[str, Any]] = {}
    by_kind: dict[str, list[int]] = {}
    for kd, row in picked:
        by_kind.setdefault(kd, []).append(row["_rowid"])
    for kd, rowids in by_kind.items():
        for row in tables[kd].take_row_ids(rowids).select(_columns(kd)).to_list():
            out[row["id"]] = row
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
) -> list[dict[str, Any]]:
    """The k best entries for a query: entry dicts with `score` (fused), `similarity` and
    `relevant`; with `relevant_only`, entries that fail the relevance test are dropped."""
    import numpy as np

    query = " ".join(query.split())
    if not query:
        return []
    kinds = [kind] if kind else list(S.KINDS)
    filters = Filters(service, fault_kind, language)
    n = max(4 * k, 20)
    qvec = store.embedder.query(query)
    vector_ranked: list[tuple[float, str, dict[str, Any]]] = []
    text_lists: list[list[tuple[str, dict[str, Any]]]] = []
    baseline: dict[str, float] = {}
    jobs = []
    tables: dict[str, Any] = {}
    pool = _pool()
    for kd in kinds:
        if not store.has_table(kd):
            continue
        tbl = store.table(kd)
        tbl.checkout_latest()
        centroid = _centroid(store, kd, tbl)
        if centroid is None:  # an empty table
            continue
        where = filters.where(kd)
        baseline[kd] = float(np.dot(qvec, centroid))
        # The two retrievers (and the tables) run at once: the work happens in Lance's
        # native threads, so Python threads overlap well here.
        tables[kd] = tbl
        jobs.append((kd, pool.submit(_vector_hits, tbl, kd, qvec, where, n),
                     pool.submit(_text_hits, tbl, kd, query, where, n)))
    for kd, vec_job, text_job in jobs:
        for row in newest_per_id(vec_job.result()):
            vector_ranked.append((row.pop("_distance"), kd, row))
        text_lists.append([(kd, r) for r in newest_per_id(text_job.result())])
    vector_ranked.sort(key=lambda t: t[0])
    scores: dict[str, float] = {}
    rows: dict[str, tuple[str, dict[str, Any]]] = {}
    similarity: dict[str, float] = {}
    vector_rank: dict[str, int] = {}
    relevant: set[str] = set()
    for rank, (dist, kd, row) in enumerate(vector_ranked[:n], start=1):
        scores[row["id"]] = scores.get(row["id"], 0.0) + 1.0 / (RRF_K + rank)
        rows[row["id"]] = (kd, row)
        similarity[row["id"]] = 1.0 - float(dist)
        vector_rank[row["id"]] = rank
        if similarity[row["id"]] - baseline[kd] >= STANDOUT_MARGIN:
            relevant.add(row["id"])
    for hits in text_lists:
        for rank, (kd, row) in enumerate(hits, start=1):
            row.pop("_score", None)
            scores[row["id"]] = scores.get(row["id"], 0.0) + 1.0 / (RRF_K + rank)
            rows.setdefault(row["id"], (kd, row))
            if vector_rank.get(row["id"], n + 1) <= AGREE_RANK:
                relevant.add(row["id"])
    ranked = sorted(scores, key=lambda i: (-scores[i], i))
    if relevant_only:
        ranked = [i for i in ranked if i in relevant]
    full = _fetch(tables, [rows[i] for i in ranked[:k]])
    out = []
    for entry_id in ranked[:k]:
        kd, _ = rows[entry_id]
        entry = S.to_entry(kd, full[entry_id])
        entry["score"] = round(scores[entry_id], 6)
        if entry_id in similarity:
            entry["similarity"] = round(similarity[entry_id], 4)
        entry["relevant"] = entry_id in relevant
        out.append(entry)
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
