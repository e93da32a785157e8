"""Read-only `kb` and `memory` commands answer from a snapshot while the store is unchanged
(no LanceDB import), and never from a stale one (kb/snapshot.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.kb_fixtures import cache_home, embedder, store  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent

# Runs the real CLI entry point in a fresh interpreter and says whether LanceDB was imported.
PROBE = (
    "import sys\n"
    "from copilot.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('LANCEDB-IMPORTED' if 'lancedb' in sys.modules else 'NO-LANCEDB', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run(store_path: Path, cache: Path, *argv: str) -> tuple[int, str, bool]:
    env = dict(os.environ, COPILOT_KB_URI=str(store_path), XDG_CACHE_HOME=str(cache), LANCE_LOG="error",
               PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.returncode, r.stdout, "LANCEDB-IMPORTED" in r.stderr


def test_second_read_uses_the_snapshot_and_matches_the_store(store, cache_home):  # noqa: F811
    path = Path(store.location)
    _, first, imported = run(path, cache_home, "kb", "list", "--json")
    assert imported  # no snapshot yet: read through LanceDB, which writes one
    assert (path / ".snapshot.json").exists()
    _, second, imported = run(path, cache_home, "kb", "list", "--json")
    assert not imported and second == first
    assert sorted(e["id"] for e in json.loads(second)) == sorted(e["id"] for e in store.list())
    _, shown, imported = run(path, cache_home, "kb", "show", "exp-disk-full-en", "--json")
    assert not imported and json.loads(shown) == store.get("exp-disk-full-en")
    doc_id = next(e["doc_id"] for e in store.list("document"))
    _, runbook, imported = run(path, cache_home, "kb", "show", doc_id, "--json")
    assert not imported and [c["id"] for c in json.loads(runbook)] == [c["id"] for c in store.runbook(doc_id)]


def test_a_write_by_another_process_makes_the_snapshot_stale(store, cache_home):  # noqa: F811
    path = Path(store.location)
    run(path, cache_home, "kb", "list", "--json")
    removed = store.delete("exp-disk-full-en")  # a commit: a new table version
    assert removed == 1
    _, out, imported = run(path, cache_home, "kb", "list", "--json")
    assert imported  # the snapshot no longer matches the store: read through LanceDB
    assert "exp-disk-full-en" not in [e["id"] for e in json.loads(out)]
    _, again, imported = run(path, cache_home, "kb", "list", "--json")
    assert not imported and again == out  # and the fresh snapshot serves the next read


def test_a_pending_journal_or_a_foreign_snapshot_is_never_read(store, cache_home):  # noqa: F811
    from copilot.kb import journal

    path = Path(store.location)
    run(path, cache_home, "kb", "list", "--json")
    # a killed import left its journal: the full store must recover it before anyone reads
    staged = journal.journal_path(store)
    staged.write_text(json.dumps([journal.delete("exp-disk-full-en")]), encoding="utf-8")
    _, out, imported = run(path, cache_home, "kb", "list", "--json")
    assert imported and "exp-disk-full-en" not in [e["id"] for e in json.loads(out)]
    assert not staged.exists()
    # a snapshot whose key does not match the store's state is ignored
    snap = json.loads((path / ".snapshot.json").read_text())
    snap["entries"]["experience"] = []
    snap["key"] = "0" * 64
    (path / ".snapshot.json").write_text(json.dumps(snap))
    _, out, imported = run(path, cache_home, "kb", "list", "--kind", "experience", "--json")
    assert imported and json.loads(out)


def test_memory_list_reads_the_snapshot_after_a_save(store, cache_home):  # noqa: F811
    from copilot.diagnosis import Diagnosis, RootCause
    from copilot.kb.memory import KnowledgeMemory

    path = Path(store.location)
    memory = KnowledgeMemory(store)
    saved = memory.save(Diagnosis(question="why is cart slow?", root_causes=[
        RootCause("cart", "memory_leak", 0.8, ["M1"])], answer="cart leaks memory"))
    # the saving process wrote the snapshot: the very next list needs no LanceDB
    _, out, imported = run(path, cache_home, "memory", "list", "--json")
    assert not imported and [e["id"] for e in json.loads(out)] == [saved]
    (path / ".snapshot.json").unlink()
    _, through_store, imported = run(path, cache_home, "memory", "list", "--json")
    assert imported and through_store == out  # the same as reading the store itself
    _, shown, imported = run(path, cache_home, "memory", "show", saved, "--json")
    assert not imported and json.loads(shown)["id"] == saved
