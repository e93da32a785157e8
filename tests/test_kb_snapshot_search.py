"""`kb search` from the snapshot (kb/snapshot_search.py): the same entries in the same order
as the LanceDB path, never from a stale snapshot, and without importing LanceDB or pyarrow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kb_fixtures import cache_home, embedder, store  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent

# English and Chinese questions about the bundled knowledge (none of them meets a tie in
# the full-text scores, whose order LanceDB leaves arbitrary: see kb/snapshot_search.py).
QUERIES = (
    "disk full, no space left on device",
    "TLS certificate expired",
    "connection pool exhausted, timeout waiting for connection",
    "pods pending after SpaceX cluster change orders",
    "OutOfMemoryError GC overhead limit exceeded in a Java service",
    "orders-api latency p99 jumped after the deploy",
    "磁盘空间不足，写入失败",
    "内存泄漏，内存持续上涨",
    "连接池耗尽，获取连接超时",
    "JAVA进程GC异常",
    "数据库死锁，锁等待超时",
)
VARIANTS = (
    {"k": 5},
    {"k": 10},
    {"k": 3, "kind": "experience"},
    {"k": 5, "kind": "document"},
    {"k": 5, "language": "zh"},
    {"k": 5, "fault_kind": "disk_full"},
    {"k": 5, "service": "checkout"},
    {"k": 5, "relevant_only": True},
)

PROBE = (
    "import sys\n"
    "from copilot.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('IMPORTED:' + ','.join(m for m in ('lancedb', 'pyarrow') if m in sys.modules), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run(store_path: Path, cache: Path, *argv: str) -> tuple[str, str]:
    """stdout, and which of LanceDB and pyarrow the command imported."""
    env = dict(os.environ, COPILOT_KB_URI=str(store_path), XDG_CACHE_HOME=str(cache), LANCE_LOG="error",
               PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout, r.stderr.rsplit("IMPORTED:", 1)[1].strip()


def test_snapshot_ranking_equals_lancedb(store):  # noqa: F811
    from copilot.kb import snapshot, snapshot_search
    from copilot.kb.search import search

    snapshot.refresh(store)
    index = snapshot_search.load(store.uri, store.embedder.name)
    assert index is not None
    compared = 0
    for query in QUERIES:
        for opts in VARIANTS:
            expected = search(store, query, **opts)
            got = search(store, query, index=index, **opts)
            assert [e["id"] for e in got] == [e["id"] for e in expected], (query, opts)
            assert got == expected, (query, opts)  # scores, similarity, coverage, relevance, fields
            compared += bool(expected)
    assert compared > len(QUERIES) * 4  # most variants find something: the comparison is not empty


def test_full_text_scores_equal_the_index(store):  # noqa: F811
    """Lance's BM25 and the numpy one agree on every scored row of a query."""
    from copilot.kb import snapshot, snapshot_search

    snapshot.refresh(store)
    index = snapshot_search.load(store.uri, store.embedder.name)
    assert index is not None
    tbl = store.table("experience")
    data = index.tables["experience"]
    for query in ("disk full disk", "证书过期导致TLS握手失败"):
        theirs = tbl.search(query, query_type="fts", fts_columns="text").select(["id", "_score"]).limit(100).to_list()
        fts = index.fts["experience"]
        mine = dict(zip(data["id"], fts.scores(fts.query_tokens(query)).tolist()))
        assert theirs and {r["id"] for r in theirs} == {i for i, s in mine.items() if s > 0}
        for r in theirs:
            assert mine[r["id"]] == pytest.approx(r["_score"], rel=1e-5)


def test_a_write_makes_the_search_snapshot_stale(store):  # noqa: F811
    from copilot.kb import snapshot, snapshot_search

    snapshot.refresh(store)
    assert snapshot_search.load(store.uri, store.embedder.name) is not None
    store.put("experience", [{"fault_name": "Quota exhausted", "root_cause": "the project quota ran out",
                              "mitigation": "raise the quota", "language": "en"}])
    assert snapshot_search.load(store.uri, store.embedder.name) is None
    snapshot.refresh(store)
    index = snapshot_search.load(store.uri, store.embedder.name)
    assert index is not None and any(i.startswith("exp-quota-exhausted") for i in index.tables["experience"]["id"])


def test_cli_search_reads_the_snapshot_and_falls_back_when_stale(store, cache_home):  # noqa: F811
    path = Path(store.location)
    first, imported = run(path, cache_home, "kb", "search", "磁盘满了", "--json")
    assert "lancedb" in imported  # no snapshot yet: LanceDB answers and writes one
    second, imported = run(path, cache_home, "kb", "search", "磁盘满了", "--json")
    assert imported == "" and second == first  # neither LanceDB nor pyarrow, the same answer
    english, imported = run(path, cache_home, "kb", "search", "disk full", "--json")
    assert imported == "" and json.loads(english)[0]["id"].startswith(("exp-disk-full", "sop-disk-full"))

    assert store.delete("exp-disk-full-zh") == 1  # a commit by another process
    stale, imported = run(path, cache_home, "kb", "search", "磁盘满了", "--json")
    assert "lancedb" in imported
    assert "exp-disk-full-zh" in [e["id"] for e in json.loads(first)]
    assert "exp-disk-full-zh" not in [e["id"] for e in json.loads(stale)]
    again, imported = run(path, cache_home, "kb", "search", "磁盘满了", "--json")
    assert imported == "" and again == stale


def test_query_syntax_goes_to_lancedb(store, cache_home):  # noqa: F811
    from copilot.kb import snapshot_search

    assert not snapshot_search.usable_query('"disk full"')
    path = Path(store.location)
    run(path, cache_home, "kb", "search", "disk full")
    _, imported = run(path, cache_home, "kb", "search", '"disk full"')
    assert "lancedb" in imported


def test_an_index_updated_in_place_is_not_served_until_rebuilt(store, monkeypatch):  # noqa: F811
    """An index an older version updated in place (it still counts deleted rows) scores
    differently: the probe refuses it, and a refresh rebuilds it once."""
    import copilot.kb.store
    from copilot.kb import snapshot, snapshot_search
    from copilot.kb.search import search

    monkeypatch.setattr(copilot.kb.store, "FTS_REBUILD_MAX_ROWS", 0)  # the old behaviour: update in place
    assert store.delete("exp-disk-full-en") == 1
    key = snapshot.state_key(store.uri, store.embedder.name)
    snapshot_search.save(store, key)  # no repair: refused
    assert snapshot_search.load(store.uri, store.embedder.name) is None
    monkeypatch.undo()
    snapshot.refresh(store)  # repairs
    index = snapshot_search.load(store.uri, store.embedder.name)
    assert index is not None
    for query in ("disk full, no space left on device", "磁盘空间不足，写入失败"):
        assert search(store, query, index=index) == search(store, query)
