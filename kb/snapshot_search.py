"""`kb search` from the snapshot: the same hybrid ranking as kb/search.py, run with numpy on
data kept beside the snapshot, so a search pays neither LanceDB's import nor pyarrow's.

Beside `<store>/.snapshot.json` (kb/snapshot.py), under the same state key:
`.snapshot-search.json` holds, per table, every row's id, filter fields, search text and
full-text term counts, plus the full-text index's tokenizer settings; `.snapshot-<kind>.npy`
holds the rows' vectors (float32, in the same order).

What it replicates, and how it stays exact:
- Vector side: LanceDB's brute-force cosine search (tables below the vector-index size):
  distance 1 - cos, the n nearest after the filters.
- Full-text side: Lance's BM25 (k1 1.2, b 0.75, idf ln(1 + (N - df + 0.5) / (df + 0.5)),
  the average length over the index), on tokens from Lance's own tokenizer with the index's
  settings (`tokenize` in LanceDB's native module, loaded alone: no pyarrow). When the
  data is written, a few probe queries are scored both ways; if any score differs (an
  index holding deleted or unindexed rows), no search data is written and searches keep
  going through LanceDB.
- Fusion, relevance and entry shapes: kb/search.py's own code on the same inputs.
Where Lance returns tied full-text scores in an arbitrary order (it does), the tie is broken
by row order here; otherwise the ids and their order are LanceDB's.

Not served from here (LanceDB answers): remote stores, stale or missing data, tables above
relevance.SAMPLE_ROWS rows or with a vector index, duplicate ids, and queries with
characters the full-text query parser treats specially.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import math
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from . import relevance as R
from . import schema as S
from . import snapshot
from .store import FTS_REBUILD_MAX_ROWS

FILE = ".snapshot-search.json"
K1, B = 1.2, 0.75  # Lance's BM25 constants
_SPECIAL = set('"+:()*~^\\[]{}!')  # query syntax: left to LanceDB's parser
# the index's settings (as `list_indices` reports them) -> `tokenize`'s arguments
_TOKENIZER_KEYS = {"base_tokenizer": "base_tokenizer", "language": "language", "max_token_length": "max_token_length",
                   "lower_case": "lower_case", "stem": "stem", "remove_stop_words": "remove_stop_words",
                   "custom_stop_words": "custom_stop_words", "ascii_folding": "ascii_folding",
                   "min_ngram_length": "ngram_min_length", "max_ngram_length": "ngram_max_length",
                   "prefix_only": "prefix_only"}


def _native() -> Any:
    """LanceDB's native module, loaded on its own when LanceDB is not imported yet (its
    Python package imports pyarrow and a REST client; the tokenizer needs neither). It is
    registered under its own name, so a later `import lancedb` reuses it."""
    name = "lancedb._lancedb"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec("lancedb")
    if spec is None or spec.origin is None:
        raise ImportError("lancedb is not installed")
    folder = Path(spec.origin).parent
    path = next((p for p in folder.iterdir() if p.name.startswith("_lancedb.") and p.suffix in (".so", ".pyd")), None)
    if path is None:
        raise ImportError("lancedb's native module was not found")
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    native_spec = importlib.util.spec_from_file_location(name, str(path), loader=loader)
    assert native_spec is not None
    module = importlib.util.module_from_spec(native_spec)
    loader.exec_module(module)
    sys.modules[name] = module
    return module


def tokens(text: str, params: dict[str, Any]) -> list[str]:
    """Lance's tokens of a text under an index's tokenizer settings."""
    return [t.text for t in _native().tokenize(text, **params)]


def _paths(root: Path, kind: str) -> Path:
    return root / f".snapshot-{kind}.npy"


# -- writing (by a process that has the store open) --------------------------------------
class Rebuilt(Exception):
    """A table's full-text index was rebuilt: the store has a new state to snapshot."""


def _table_data(store: Any, kind: str, repair: bool) -> tuple[dict[str, Any], Any] | None:
    import numpy as np

    tbl = store.table(kind)
    tbl.checkout_latest()
    rows = tbl.count_rows()
    if rows > R.SAMPLE_ROWS:
        return None
    indices = {tuple(ix.columns): ix for ix in tbl.list_indices()}
    fts = indices.get(("text",))
    if ("vector",) in indices or (fts is None and rows):
        return None
    index_details = (fts.index_details or {}) if fts is not None else {}
    params = {arg: index_details.get(key) for key, arg in _TOKENIZER_KEYS.items()} if fts is not None else {}
    if fts is not None and any(v is None for v in params.values()):
        return None  # settings this version cannot read: LanceDB answers
    filt = "components" if kind == "incident" else "services"
    cols = ["id", "updated_at", "text", "language", "vector", filt, "fault_kind"]
    cols += ["verdict_fault_kind"] if kind == "incident" else []
    table = tbl.search().select(cols).with_row_id(True).limit(max(rows, 1)).to_arrow()
    data = table.to_pylist()
    ids = [r["id"] for r in data]
    if len(set(ids)) != len(ids):
        return None  # duplicate rows per id (a remote writer): newest_per_id is LanceDB's job
    tf = [Counter(tokens(r["text"] or "", params)) for r in data] if fts is not None else []
    out = {
        "rowid": [r["_rowid"] for r in data], "id": ids, "text": [r["text"] or "" for r in data],
        "language": [r["language"] or "" for r in data], "scope": [list(r[filt] or []) for r in data],
        "fault_kind": [[r["fault_kind"] or "", r.get("verdict_fault_kind") or ""] for r in data],
        "tf": [dict(c) for c in tf], "tokenizer": params,
    }
    vectors = (np.asarray([r["vector"] for r in data], dtype=np.float32).reshape(len(data), -1) if data
               else np.zeros((0, 0), dtype=np.float32))
    if fts is not None and data and not _probe(tbl, out):
        if repair and rows <= FTS_REBUILD_MAX_ROWS:
            with store.write_lock():
                tbl.checkout_latest()
                store._index(tbl)  # an index an older version updated in place: rebuilt, once
            raise Rebuilt(kind)
        return None
    return out, vectors


def _probe(tbl: Any, data: dict[str, Any]) -> bool:
    """Do BM25 scores computed here equal the index's own for a few queries made of the
    table's commonest and rarest terms? (False on an index that still counts deleted or
    misses unindexed rows.)"""
    df = Counter(t for c in data["tf"] for t in c)
    if not df:
        return True
    ranked = [t for t, _ in df.most_common()]
    probes = [" ".join(ranked[:3]), " ".join(ranked[-3:]), " ".join(ranked[len(ranked) // 2:len(ranked) // 2 + 2])]
    index = _Fts(data)
    for query in probes:
        mine = dict(zip(data["rowid"], index.scores(index.query_tokens(query)).tolist()))
        try:
            theirs = tbl.search(query, query_type="fts", fts_columns="text").select(["id", "_score"]) \
                .with_row_id(True).limit(len(data["id"])).to_list()
        except (ValueError, RuntimeError, OSError):
            return False
        got = {r["_rowid"]: r["_score"] for r in theirs}
        if set(got) != {k for k, v in mine.items() if v > 0}:
            return False
        if any(abs(mine[k] - v) > 1e-4 * max(1.0, abs(v)) for k, v in got.items()):
            return False
    return True


def save(store: Any, key: str | None, repair: bool = False) -> None:
    """Write the search data of a store read at state `key` (taken before the reads). With
    `repair`, a small table whose index scores differently (updated in place by an older
    version) has its index rebuilt, and `Rebuilt` is raised: the caller snapshots again."""
    import numpy as np

    root = snapshot._local_root(store.uri)
    if key is None or root is None or not root.is_dir():
        return
    tables: dict[str, Any] = {}
    vectors: dict[str, Any] = {}
    for kind in S.KINDS:
        if not store.has_table(kind):
            continue
        got = _table_data(store, kind, repair)
        if got is None:
            (root / FILE).unlink(missing_ok=True)
            return
        tables[kind], vectors[kind] = got
    staged = root / f"{FILE}.{os.getpid()}.tmp"
    try:
        (root / FILE).unlink(missing_ok=True)  # no reader pairs the old rows with the new vectors
        for kind, vecs in vectors.items():
            tmp = root / f".snapshot-{kind}.{os.getpid()}.tmp.npy"
            np.save(tmp, vecs)
            os.replace(tmp, _paths(root, kind))
        dim = max((v.shape[1] for v in vectors.values() if len(v)), default=0)
        staged.write_text(json.dumps({"key": key, "dim": dim, "tables": tables}, ensure_ascii=False),
                          encoding="utf-8")
        os.replace(staged, root / FILE)  # last: the data is read only once its key is in place
    except OSError:
        staged.unlink(missing_ok=True)


# -- reading ------------------------------------------------------------------------------
class _Fts:
    """One table's BM25, as Lance's index computes it (float32 throughout)."""

    def __init__(self, data: dict[str, Any]) -> None:
        import numpy as np

        self.params = data["tokenizer"]
        self.tf: list[dict[str, int]] = data["tf"]
        self.lengths = np.asarray([sum(c.values()) for c in self.tf], dtype=np.float32)
        self.df = Counter(t for c in self.tf for t in c)
        n = len(self.tf)
        self.n = n
        self.avgdl = np.float32(float(self.lengths.sum()) / n) if n else np.float32(1.0)

    def query_tokens(self, query: str) -> list[str]:
        return tokens(query, self.params)  # a repeated word counts each time, as in Lance

    def scores(self, query_tokens: list[str]) -> Any:
        import numpy as np

        f32 = np.float32
        out = np.zeros(self.n, dtype=np.float32)
        norm = f32(K1) * (f32(1.0 - B) + f32(B) * self.lengths / self.avgdl)
        for tok in query_tokens:
            df = self.df.get(tok, 0)
            if not df:
                continue
            weight = f32(math.log((f32(self.n) - f32(df) + f32(0.5)) / (f32(df) + f32(0.5)) + f32(1.0)))
            freq = np.asarray([c.get(tok, 0) for c in self.tf], dtype=np.float32)
            out += weight * (f32(K1 + 1.0) * freq / (freq + norm))
        return out


class SnapshotIndex:
    """The snapshot's entries, vectors and full-text statistics of a store's current state."""

    def __init__(self, entries: dict[str, list[dict[str, Any]]], tables: dict[str, Any], vectors: dict[str, Any]):
        self.entries = {kind: {e["id"]: e for e in rows} for kind, rows in entries.items()}
        self.tables = tables
        self.vectors = vectors
        self.fts = {kind: _Fts(data) for kind, data in tables.items() if data["tokenizer"]}

    def has_table(self, kind: str) -> bool:
        return kind in self.tables

    def mask(self, kind: str, service: str | None, fault_kind: str | None, language: str | None) -> Any:
        """Rows passing kb/search.py's Filters (the SQL `where`, evaluated here)."""
        import numpy as np

        data = self.tables[kind]
        keep = np.ones(len(data["id"]), dtype=bool)
        for i in range(len(keep)):
            if service and service not in data["scope"][i]:
                keep[i] = False
            elif fault_kind and fault_kind not in (data["fault_kind"][i] if kind == "incident"
                                                   else data["fault_kind"][i][:1]):
                keep[i] = False
            elif language and data["language"][i] != language:
                keep[i] = False
        return keep

    def vector_hits(self, kind: str, qvec: Any, keep: Any, n: int) -> list[tuple[float, int]]:
        """(cosine distance, row) of the n nearest rows, nearest first."""
        import numpy as np

        vecs = self.vectors[kind]
        if not len(vecs):
            return []
        q = np.asarray(qvec, dtype=np.float32)
        norms = np.linalg.norm(vecs, axis=1) * np.float32(np.linalg.norm(q))
        dist = np.float32(1.0) - (vecs @ q) / np.where(norms == 0, np.float32(1.0), norms)
        rows = [i for i in np.lexsort((np.arange(len(dist)), dist)) if keep[i]][:n]
        return [(float(dist[i]), int(i)) for i in rows]

    def text_hits(self, kind: str, query: str, keep: Any, n: int) -> list[int]:
        """Rows of the n best BM25 scores (ties in row order), best first."""
        import numpy as np

        index = self.fts.get(kind)
        if index is None:
            return []
        scores = index.scores(index.query_tokens(query))
        order = np.lexsort((np.arange(len(scores)), -scores))
        return [int(i) for i in order if scores[i] > 0 and keep[i]][:n]

    def term_stats(self, kind: str) -> R.TermStats:
        return R.TermStats.of(self.tables[kind]["text"])

    def vector_stats(self, kind: str) -> R.VectorStats | None:
        langs = self.tables[kind]["language"]
        return R.VectorStats.of(self.vectors[kind], langs) if langs else None

    def row(self, kind: str, i: int) -> tuple[str, str, Any]:
        """(id, search text, vector) of row i."""
        data = self.tables[kind]
        return data["id"][i], data["text"][i], self.vectors[kind][i]


def usable_query(query: str) -> bool:
    return not (set(query) & _SPECIAL)


def load(uri: str, embedder_name: str) -> SnapshotIndex | None:
    """The search data of the store's present state, or None (LanceDB must answer)."""
    import numpy as np

    key = snapshot.state_key(uri, embedder_name)
    root = snapshot._local_root(uri)
    if key is None or root is None:
        return None
    entries = snapshot.load(uri, embedder_name)
    try:
        data = json.loads((root / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if entries is None or not isinstance(data, dict) or data.get("key") != key:
        return None
    tables = data.get("tables") or {}
    try:
        vectors = {kind: np.load(_paths(root, kind)) for kind in tables}
    except (OSError, ValueError):
        return None
    for kind, t in tables.items():
        if vectors[kind].shape[0] != len(t["id"]) or (len(t["id"]) and vectors[kind].shape[1] != data.get("dim")):
            return None
        if {e["id"] for e in entries.get(kind, [])} != set(t["id"]):
            return None
    if snapshot.state_key(uri, embedder_name) != key:  # a commit while the files were read
        return None
    try:
        _native()
    except ImportError:
        return None
    return SnapshotIndex(entries, tables, vectors)


def snapshot_index(settings: Any, query: str) -> tuple[SnapshotIndex | None, Any]:
    """For `kb search`: the snapshot index of the configured store when it can answer this
    query, and a store object that embeds the query without opening LanceDB."""
    from .embed import embedder_from_settings
    from .store import KnowledgeStore

    embedder = embedder_from_settings(settings)
    store = KnowledgeStore(settings.kb_location(), embedder)
    if not usable_query(query):
        return None, store
    return load(store.uri, embedder.name), store
