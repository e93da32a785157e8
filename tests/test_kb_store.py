"""The knowledge store: bundled knowledge, schema versions, upgrades, concurrent writers."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from copilot.diagnosis import FAULT_KINDS
from copilot.errors import CopilotError
from copilot.kb import schema as S
from copilot.kb import seed
from copilot.kb.store import KnowledgeStore
from tests.kb_fixtures import cache_home, embedder, kb_settings, store  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


def test_bundled_knowledge_covers_catalogue_in_both_languages(store):
    exps = store.list("experience")
    kinds = {(e["fault_kind"], e["language"]) for e in exps}
    for kind in FAULT_KINDS:
        if kind != "unknown":
            assert (kind, "en") in kinds and (kind, "zh") in kinds, kind
    by_id = {e["id"]: e for e in exps}
    assert by_id["exp-traffic-surge-zh"]["fault_name"] == "流量异常"
    assert "限流" in by_id["exp-traffic-surge-zh"]["mitigation"]
    assert "RollBack" in by_id["exp-pod-pending-spacex-en"]["mitigation"]
    assert "call business" in by_id["exp-pod-pending-ipv6-zh"]["mitigation"]
    assert "Add resources" in by_id["exp-pod-pending-resource-en"]["mitigation"]
    assert all(e["origin"] == "bundled" and not e["edited"] for e in exps)
    runbooks = {d["doc_id"] for d in store.list("document")}
    assert {"sop-pod-pending", "sop-disk-full", "sop-high-latency"} <= runbooks
    chunks = store.runbook("sop-disk-full")
    assert [c["position"] for c in chunks] == list(range(len(chunks)))
    assert chunks[1]["section"] == "Disk full SOP > 1. Confirm and find the volume"


def test_tables_carry_schema_version_and_embedder(store):
    meta = store.table("experience").schema.metadata
    assert int(meta[S.VERSION_KEY]) == S.SCHEMA_VERSION
    assert meta[S.EMBEDDER_KEY].decode() == store.embedder.name


def _write_table(uri: str, version: str | None):
    import lancedb
    import pyarrow as pa

    meta = {S.VERSION_KEY: version.encode()} if version else {}
    sch = pa.schema([pa.field("id", pa.string())], metadata=meta)
    lancedb.connect(uri).create_table("experiences", schema=sch, mode="overwrite")


def test_newer_schema_is_refused(tmp_path, embedder):
    _write_table(str(tmp_path), str(S.SCHEMA_VERSION + 1))
    with pytest.raises(CopilotError, match="newer sre-copilot"):
        KnowledgeStore(str(tmp_path), embedder).table("experience")


def test_foreign_table_is_refused(tmp_path, embedder):
    _write_table(str(tmp_path), None)
    with pytest.raises(CopilotError, match="not an sre-copilot knowledge table"):
        KnowledgeStore(str(tmp_path), embedder).table("experience")


def test_older_schema_without_migration_is_refused(store, monkeypatch):
    monkeypatch.setattr(S, "SCHEMA_VERSION", S.SCHEMA_VERSION + 1)
    fresh = KnowledgeStore(store.uri, store.embedder)
    with pytest.raises(CopilotError, match="no migration"):
        fresh.table("experience")


def test_older_schema_is_migrated(store, monkeypatch):
    old = {e["id"]: e for e in store.list("experience")}

    def add_tag(kind, rows):  # a migration that rewrites a field
        return [dict(r, source=f"{r['source']} (migrated)") for r in rows]

    monkeypatch.setattr(S, "SCHEMA_VERSION", S.SCHEMA_VERSION + 1)
    monkeypatch.setitem(S.MIGRATIONS, S.SCHEMA_VERSION - 1, add_tag)
    fresh = KnowledgeStore(store.uri, store.embedder)
    migrated = {e["id"]: e for e in fresh.list("experience")}
    assert migrated.keys() == old.keys()
    assert all(e["source"].endswith("(migrated)") for e in migrated.values())
    assert int(fresh.table("experience").schema.metadata[S.VERSION_KEY]) == S.SCHEMA_VERSION
    # Still searchable after the rewrite (the full-text index was rebuilt).
    from copilot.kb.search import search

    assert search(fresh, "磁盘空间不足", kind="experience", k=1)[0]["id"] == "exp-disk-full-zh"


class TinyEmbedder:
    """Another model (different name and size): stands in for a switch of embedder."""

    name = "test/tiny-8"
    dim = 8

    def passages(self, texts):
        import numpy as np

        out = np.zeros((len(texts), 8), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, len(t) % 8] = 1.0
        return out

    def query(self, text):
        return self.passages([text])[0]


def test_switching_embedder_recomputes_vectors(store):
    n = store.count("experience")
    other = KnowledgeStore(store.uri, TinyEmbedder())
    assert other.count("experience") == n
    tbl = other.table("experience")
    assert tbl.schema.metadata[S.EMBEDDER_KEY].decode() == "test/tiny-8"
    assert len(tbl.search().limit(1).to_list()[0]["vector"]) == 8


def test_upgrade_keeps_user_edits_and_deletions(store, tmp_path, monkeypatch):
    edited = store.get_row("exp-disk-full-en")
    edited = dict(edited, mitigation="Our own way: page the storage team.", updated_at=S.now_iso())
    edited.pop("vector")
    store.put("experience", [edited])
    store.delete("exp-cert-expiry-en")
    seed.forget_bundled(store, "exp-cert-expiry-en")
    assert store.get("exp-disk-full-en")["edited"] is True

    # A newer bundled release changes three entries.
    newer = tmp_path / "bundled"
    shutil.copytree(Path(seed.__file__).parent / "bundled", newer)
    path = newer / "experiences.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("then expand the volume; add log rotation.", "then expand the volume (v2).")
    text = text.replace("Renew and deploy the certificate,", "Renew the certificate (v2),")
    text = text.replace("Apply rate limiting at the gateway,", "Apply rate limiting at the edge (v2),")
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(seed, "bundled_paths", lambda: sorted(newer.glob("*.yaml")) + sorted((newer / "runbooks").glob("*.md")))

    fresh = KnowledgeStore(store.uri, store.embedder)
    counts = seed.sync_bundled(fresh)
    assert counts["updated"] == 1
    assert fresh.get("exp-disk-full-en")["mitigation"] == "Our own way: page the storage team."
    assert fresh.get("exp-cert-expiry-en") is None
    assert "(v2)" in fresh.get("exp-traffic-surge-en")["mitigation"]
    assert fresh.get("exp-traffic-surge-en")["edited"] is False
    assert seed.sync_bundled(KnowledgeStore(store.uri, store.embedder)) == {}


WRITER = textwrap.dedent(
    """
    import sys
    from copilot.config import Settings
    from copilot.kb.store import open_store
    store = open_store(Settings(kb_uri=sys.argv[1]))
    for i in range(8):
        store.put("experience", [{"id": f"exp-{sys.argv[2]}-{i}", "fault_name": f"fault {sys.argv[2]} {i}",
                                  "root_cause": "r", "mitigation": "m", "language": "en"}])
    """
)


def test_two_processes_writing_at_once_lose_nothing(tmp_path, cache_home):
    import os

    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home), PYTHONPATH=str(ROOT), LANCE_LOG="error")
    uri = str(tmp_path / "shared-kb")  # empty: both processes also race to load the bundled knowledge
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, uri, tag], env=env, stderr=subprocess.PIPE)
             for tag in ("a", "b")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]
    import lancedb

    rows = lancedb.connect(uri).open_table("experiences").to_arrow().to_pylist()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate rows"
    assert {f"exp-{t}-{i}" for t in "ab" for i in range(8)} <= set(ids)
    from copilot.kb.seed import bundled_plan

    bundled = {e["id"] for e in bundled_plan()[0].experiences}
    assert bundled <= set(ids) and len([i for i in ids if i in bundled]) == len(bundled)  # each once


def test_prebuilt_vectors_cover_the_bundled_knowledge_and_match_the_model():
    import numpy as np

    from copilot.kb import prebuilt
    from copilot.kb.embed import E5Embedder
    from copilot.kb.seed import bundled_plan

    plan, _ = bundled_plan()
    texts = [S.search_text("experience", {**S.blank("experience"), **e}) for e in plan.experiences]
    texts += [S.search_text("document", {**S.blank("document"), **c}) for cs in plan.documents.values() for c in cs]
    vectors = prebuilt.load(E5Embedder.name)
    missing = [t[:40] for t in texts if prebuilt.text_key(t) not in vectors]
    assert not missing, f"run `python -m copilot.kb.prebuilt` after editing kb/bundled/: {missing}"
    fresh = E5Embedder().passages(texts[:2])
    for text, vec in zip(texts[:2], fresh):
        assert float(np.dot(vectors[prebuilt.text_key(text)], vec)) > 0.999


def test_a_megabyte_entry_embeds_a_bounded_text_and_stays_searchable(store):  # noqa: F811
    """The embedder averages 512-token windows over the whole text: a 1 MB entry took ~5 min.
    Its vector now comes from a bounded text that keeps the head of every field; the full
    text is still indexed for full-text search."""
    from copilot.kb.search import search
    from copilot.kb.store import EMBED_CHARS

    seen: list[str] = []
    inner = store.embedder

    class Recording:
        name, dim = inner.name, inner.dim

        def passages(self, texts):
            seen.extend(texts)
            return inner.passages(texts)

        def query(self, text):
            return inner.query(text)

    store.embedder = Recording()
    filler = " ".join(["volume"] * 180_000)  # ~1.2 MB
    [entry_id] = store.put("experience", [{
        "fault_name": "Runaway compaction", "fault_kind": "disk_full",
        "root_cause": f"{filler} zyxwvut-compaction-marker",
        "mitigation": "pause the compaction job", "symptoms_logs": "compaction stalled"}])
    assert len(seen) == 1 and len(seen[0]) <= EMBED_CHARS
    assert "Runaway compaction" in seen[0] and "Mitigation: pause the compaction job" in seen[0]
    assert "compaction stalled" in seen[0]
    hits = search(store, "zyxwvut-compaction-marker", kind="experience", k=3)  # only in the tail
    assert hits and hits[0]["id"] == entry_id
