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


def _vector_hits(tbl: Any, kind: str, qvec: Any, where: str | None, n: int) -> list[dict[str, Any]]:
    q = tbl.search(qvec, vector_column_name="vector").distance_type("cosine").select(_columns(kind) + ["_distance"]).limit(n)
    if tbl.list_indices() and tbl.count_rows() >= 50_000:
        q = q.nprobes(32).refine_factor(4)
    if where:
        q = q.where(where, prefilter=True)
    return q.to_list()


def _text_hits(tbl: Any, kind: str, query: str, where: str | None, n: int) -> list[dict[str, Any]]:
    q = tbl.search(query, query_type="fts", fts_columns="text").select(_columns(kind) + ["_score"]).limit(n)
    if where:
        q = q.where(where, prefilter=True)
    try:
        return q.to_list()
    except (ValueError, RuntimeError, OSError):
        # A query the full-text parser rejects (odd punctuation): vectors still answer.
        return []


def search(
    store: KnowledgeStore,
    query: str,
    kind: str | None = None,
    k: int = 5,
    service: str | None = None,
    fault_kind: str | None = None,
    language: str | None = None,
) -> list[dict[str, Any]]:
    """The k best entries for a query: entry dicts with `score` (fused) and `similarity`."""
    query = " ".join(query.split())
    if not query:
        return []
    kinds = [kind] if kind else list(S.KINDS)
    filters = Filters(service, fault_kind, language)
    n = max(4 * k, 20)
    qvec = store.embedder.query(query)
    vector_ranked: list[tuple[float, str, dict[str, Any]]] = []
    text_lists: list[list[tuple[str, dict[str, Any]]]] = []
    for kd in kinds:
        if not store.has_table(kd):
            continue
        tbl = store.table(kd)
        tbl.checkout_latest()
        if tbl.count_rows() == 0:
            continue
        where = filters.where(kd)
        for row in newest_per_id(_vector_hits(tbl, kd, qvec, where, n)):
            vector_ranked.append((row.pop("_distance"), kd, row))
        text_lists.append([(kd, r) for r in newest_per_id(_text_hits(tbl, kd, query, where, n))])
    vector_ranked.sort(key=lambda t: t[0])
    scores: dict[str, float] = {}
    rows: dict[str, tuple[str, dict[str, Any]]] = {}
    similarity: dict[str, float] = {}
    for rank, (dist, kd, row) in enumerate(vector_ranked[:n], start=1):
        scores[row["id"]] = scores.get(row["id"], 0.0) + 1.0 / (RRF_K + rank)
        rows[row["id"]] = (kd, row)
        similarity[row["id"]] = 1.0 - float(dist)
    for hits in text_lists:
        for rank, (kd, row) in enumerate(hits, start=1):
            scores[row["id"]] = scores.get(row["id"], 0.0) + 1.0 / (RRF_K + rank)
            row.pop("_score", None)
            rows.setdefault(row["id"], (kd, row))
    best = sorted(scores, key=lambda i: (-scores[i], i))[:k]
    out = []
    for entry_id in best:
        kd, row = rows[entry_id]
        entry = S.to_entry(kd, row)
        entry["score"] = round(scores[entry_id], 6)
        if entry_id in similarity:
            entry["similarity"] = round(similarity[entry_id], 4)
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
