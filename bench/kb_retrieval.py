"""Knowledge-base benchmark: retrieval quality, search latency at scale, import throughput.

    .venv/bin/python bench/kb_retrieval.py                    # recall@3 + import figures
    .venv/bin/python bench/kb_retrieval.py --scale 100000     # also search p50 at 100k entries
    .venv/bin/python bench/kb_retrieval.py --json             # one JSON object

Relevance ("I don't know"): the knowledge tools search with relevant_only; an answerable
question (bench/kb_queries.yaml, and the answerable questions in bench/kb_relevance.yaml)
that gets nothing back is a false "no answer"; an unanswerable one (bench/kb_relevance.yaml)
that gets anything back is a false answer. Figures per split: the calibration split was
looked at while choosing kb/relevance.py's thresholds, the held-out split only after.

Recall@3: the labelled queries in bench/kb_queries.yaml against the bundled knowledge
(hybrid search, k=3). Latency: the same queries against a store grown to --scale
experience entries. Building 100k real embeddings would take ~20 minutes on two cores, so
the filler entries are synthetic texts whose vectors are noisy copies of a few thousand real
embeddings (full-text indexing runs on every filler text as normal); query embedding time
is reported apart from store time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LANCE_LOG", "error")


def load_queries(path: Path) -> list[dict]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))["queries"]


def hit(ids: list[str], expect: list[str]) -> bool:
    return any(i.startswith(e) for i in ids for e in expect)


def recall(store, queries: list[dict], k: int = 3) -> dict:
    from copilot.kb.search import search

    per: dict[str, list[int]] = {}
    misses = []
    rr = []
    for q in queries:
        ids = [h["id"] for h in search(store, q["q"], k=10, language=q.get("language"))]
        ok = hit(ids[:k], q["expect"])
        per.setdefault(q["cat"], []).append(int(ok))
        rank = next((n for n, i in enumerate(ids, 1) if hit([i], q["expect"])), None)
        rr.append(1.0 / rank if rank else 0.0)
        if not ok:
            misses.append({"q": q["q"], "expect": q["expect"], "got": ids[:k]})
    total = [x for v in per.values() for x in v]
    return {
        "queries": len(total),
        "recall_at_3": round(sum(total) / len(total), 4),
        "mrr_at_10": round(sum(rr) / len(rr), 4),
        "by_category": {c: {"n": len(v), "recall_at_3": round(sum(v) / len(v), 4)} for c, v in per.items()},
        "misses": misses,
    }


def lang_of(q: str) -> str:
    from copilot.language import detect_language

    return detect_language(q)


def _rate(flags: list[bool]) -> dict:
    return {"n": len(flags), "rate": round(sum(flags) / len(flags), 4) if flags else None}


def relevance(store, queries: list[dict], relevance_set: dict, k: int = 3) -> dict:
    """False "no answer" on answerable questions, false answers on unanswerable ones."""
    from copilot.kb.search import search

    answerable = [dict(q, split="calibration", set=q["cat"]) for q in queries]
    answerable += [dict(q, set="on-call") for q in relevance_set.get("answerable", [])]
    groups: dict[str, dict[str, list[bool]]] = {}
    wrong: dict[str, list[bool]] = {}
    examples: list[dict] = []
    for q in answerable:
        hits = [h["id"] for h in search(store, q["q"], k=k, language=q.get("language"), relevant_only=True)]
        key = f"{q['split']}/{q['set']}/{lang_of(q['q'])}"
        groups.setdefault("false_no_answer", {}).setdefault(key, []).append(not hits)
        wrong.setdefault(key, []).append(not hit(hits, q["expect"]))
        if not hits:
            examples.append({"kind": "false no-answer", "split": q["split"], "q": q["q"]})
    for q in relevance_set.get("unanswerable", []):
        hits = [h["id"] for h in search(store, q["q"], k=k, relevant_only=True)]
        key = f"{q['split']}/unanswerable/{lang_of(q['q'])}"
        groups.setdefault("false_answer", {}).setdefault(key, []).append(bool(hits))
        if hits:
            examples.append({"kind": "false answer", "split": q["split"], "q": q["q"], "got": hits})

    def roll(table: dict[str, list[bool]], level: int) -> dict:
        out: dict[str, list[bool]] = {}
        for key, flags in table.items():
            out.setdefault("/".join(key.split("/")[:level]), []).extend(flags)
        return {key: _rate(v) for key, v in sorted(out.items())}

    return {
        "false_no_answer": {"by_split": roll(groups["false_no_answer"], 1), "detail": roll(groups["false_no_answer"], 3)},
        "no_expected_entry": {"by_split": roll(wrong, 1)},
        "false_answer": {"by_split": roll(groups["false_answer"], 1), "detail": roll(groups["false_answer"], 3)},
        "errors": examples,
    }


def synthetic_experiences(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    parts = {
        "what": ["latency", "error rate", "CPU usage", "memory usage", "queue depth", "disk usage", "GC time",
                 "connection count", "5xx responses", "timeouts", "延迟", "错误率", "内存", "磁盘", "连接数"],
        "how": ["rises sharply", "creeps up", "drops to zero", "oscillates", "doubles", "持续上涨", "突增", "跌零"],
        "cause": ["a bad config push", "a noisy neighbour", "an expired token", "a slow dependency", "a cache stampede",
                  "a schema migration", "a retry storm", "a leaked file handle", "配置错误", "依赖变慢", "缓存击穿"],
        "fix": ["roll back", "restart the pods", "scale out", "fail over", "flush the cache", "raise the limit",
                "回滚", "重启", "扩容", "切流"],
    }
    out = []
    for i in range(n):
        svc = f"svc-{rnd.randrange(2000):04d}"
        out.append({
            "id": f"exp-synthetic-{i:06d}",
            "fault_name": f"{svc} {rnd.choice(parts['what'])} {rnd.choice(parts['how'])}",
            "root_cause": f"{rnd.choice(parts['cause'])} in {svc}",
            "mitigation": rnd.choice(parts["fix"]),
            "services": [svc], "tags": ["synthetic"], "language": "en", "origin": "import",
        })
    return out


def import_throughput(store, n: int) -> dict:
    """Entries per second through the importer: first with embedding, then cached."""
    import yaml

    from copilot.kb.importer import import_paths

    entries = synthetic_experiences(n, seed=11)
    for e in entries:
        e.pop("origin")
        e["id"] = e["id"].replace("synthetic", "import")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "import.yaml"
        path.write_text(yaml.safe_dump({"experiences": entries}, allow_unicode=True), encoding="utf-8")
        t0 = time.perf_counter()
        import_paths(store, [path])
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        import_paths(store, [path])  # same content: vectors come from the cache
        warm = time.perf_counter() - t0
    return {"entries": n, "per_s_with_embedding": round(n / cold, 1), "per_s_cached_vectors": round(n / warm, 1)}


def grow(store, total: int, pool: int = 2000, seed: int = 3) -> float:
    """Add filler experiences until the table holds `total` rows; returns seconds taken."""
    import numpy as np

    from copilot.kb import schema as S

    have = store.count("experience")
    need = max(0, total - have)
    if not need:
        return 0.0
    t0 = time.perf_counter()
    rows = synthetic_experiences(need)
    full = [store._complete_row("experience", r) for r in rows]
    base = store.embedder.passages([r["text"] for r in full[:pool]])
    rng = np.random.default_rng(seed)
    tbl = store.table("experience")
    for start in range(0, need, 20_000):
        chunk = full[start:start + 20_000]
        vecs = base[rng.integers(0, len(base), len(chunk))] + rng.normal(0, 0.02, (len(chunk), base.shape[1]))
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        for row, vec in zip(chunk, vecs.astype(np.float32)):
            row["vector"] = vec.tolist()
        tbl.add(chunk)
    store._index(tbl, force=True)
    del S
    return time.perf_counter() - t0


def latency(store, queries: list[dict], rounds: int = 3) -> dict:
    from copilot.kb.search import search

    t0 = time.perf_counter()
    search(store, queries[0]["q"], k=5)  # the first search after a write builds the term statistics
    first_search_ms = (time.perf_counter() - t0) * 1000
    for q in queries[:5]:
        search(store, q["q"], k=5)  # warm up (caches, index)
    store_ms, embed_ms = [], []
    for _ in range(rounds):
        for q in queries:
            t0 = time.perf_counter()
            store.embedder.query(q["q"])  # cached after the first round
            t1 = time.perf_counter()
            search(store, q["q"], k=5)
            t2 = time.perf_counter()
            embed_ms.append((t1 - t0) * 1000)
            store_ms.append((t2 - t1) * 1000)
    inner = getattr(store.embedder, "inner", store.embedder)
    first = []
    for q in queries:  # the model itself, bypassing the cache
        t0 = time.perf_counter()
        inner.query(q["q"])
        first.append((time.perf_counter() - t0) * 1000)
    qs = statistics.quantiles(store_ms, n=20)
    return {
        "rows": {k: store.count(k) for k in ("experience", "document", "incident")},
        "search_p50_ms": round(statistics.median(store_ms), 2),
        "search_p95_ms": round(qs[18], 2),
        "query_embedding_p50_ms": round(statistics.median(first), 2),
        "first_search_after_write_ms": round(first_search_ms, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=Path, default=ROOT / "bench" / "kb_queries.yaml")
    ap.add_argument("--relevance-set", type=Path, default=ROOT / "bench" / "kb_relevance.yaml")
    ap.add_argument("--scale", type=int, default=0, help="grow the store to this many experiences for latency")
    ap.add_argument("--import-n", type=int, default=300, help="entries for the import throughput run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import yaml

    from copilot.kb.embed import CachedEmbedder, E5Embedder
    from copilot.kb.seed import sync_bundled
    from copilot.kb.store import KnowledgeStore

    queries = load_queries(args.queries)
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        emb = CachedEmbedder(E5Embedder(), Path(tmp) / "emb.sqlite")
        store = KnowledgeStore(str(Path(tmp) / "kb"), emb)
        t0 = time.perf_counter()
        sync_bundled(store)
        result["bundled_load_s"] = round(time.perf_counter() - t0, 2)
        result["retrieval"] = recall(store, queries)
        result["relevance"] = relevance(store, queries, yaml.safe_load(args.relevance_set.read_text(encoding="utf-8")))
        result["latency_bundled"] = latency(store, queries)
        imp_store = KnowledgeStore(str(Path(tmp) / "kb-import"), emb)
        result["import"] = import_throughput(imp_store, args.import_n)
        if args.scale:
            result["grow_s"] = round(grow(store, args.scale), 1)
            result["latency_scaled"] = latency(store, queries)
            result["retrieval_scaled"] = {k: v for k, v in recall(store, queries).items() if k != "misses"}
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    r = result["retrieval"]
    print(f"bundled knowledge loaded (embedded) in {result['bundled_load_s']} s")
    print(f"recall@3 {r['recall_at_3']:.3f}  MRR@10 {r['mrr_at_10']:.3f}  over {r['queries']} queries")
    for cat, v in r["by_category"].items():
        print(f"  {cat:<8} n={v['n']:<3} recall@3 {v['recall_at_3']:.3f}")
    for m in r["misses"]:
        print(f"  miss: {m['q']!r} expected {m['expect']} got {m['got']}")
    rel = result["relevance"]
    print("relevance (relevant_only, k=3):")
    for split, v in rel["false_no_answer"]["by_split"].items():
        miss = rel["no_expected_entry"]["by_split"][split]
        print(f"  answerable   {split:<12} n={v['n']:<3} false no-answer {v['rate']:.3f}  "
              f"(no expected entry among those returned {miss['rate']:.3f})")
    for split, v in rel["false_answer"]["by_split"].items():
        print(f"  unanswerable {split:<12} n={v['n']:<3} false answer    {v['rate']:.3f}")
    for table in ("false_no_answer", "false_answer"):
        for key, v in rel[table]["detail"].items():
            print(f"    {table:<16} {key:<32} n={v['n']:<3} {v['rate']:.3f}")
    for e in rel["errors"]:
        print(f"  {e['kind']} ({e['split']}): {e['q']!r}" + (f" -> {e['got']}" if "got" in e else ""))
    for key in ("latency_bundled", "latency_scaled"):
        if key in result:
            lat = result[key]
            print(f"{key}: rows {lat['rows']}  search p50 {lat['search_p50_ms']} ms  p95 {lat['search_p95_ms']} ms  "
                  f"(+ query embedding p50 {lat['query_embedding_p50_ms']} ms when not cached; first search after "
                  f"a write {lat['first_search_after_write_ms']} ms)")
    if "retrieval_scaled" in result:
        print(f"recall@3 with {args.scale} entries: {result['retrieval_scaled']['recall_at_3']:.3f}")
    imp = result["import"]
    print(f"import: {imp['per_s_with_embedding']} entries/s with embedding, {imp['per_s_cached_vectors']} entries/s "
          f"with cached vectors ({imp['entries']} entries)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
