"""Bundled knowledge for every database fault kind: an expert experience and a runbook in
English and in Chinese, tagged with the kind, found by the offline brain's query for it."""

from __future__ import annotations

import pytest

from copilot.kb.search import search
from copilot.kb.seed import bundled_plan
from copilot.plugins.cloud.kinds import KINDS, NAMES
from tests.kb_fixtures import store  # noqa: F401


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_database_kind_has_experiences_and_runbooks_in_both_languages(kind):
    plan, _ = bundled_plan()
    experiences = {e["language"] for e in plan.experiences if kind in (e.get("tags") or [])}
    runbooks = {c["language"] for chunks in plan.documents.values() for c in chunks if kind in (c.get("tags") or [])}
    assert experiences == {"en", "zh"} and runbooks == {"en", "zh"}
    assert set(NAMES) == set(KINDS)
    # each names the kind it describes, with the plugin's category
    own = [e for e in plan.experiences if kind in (e.get("tags") or [])]
    assert {e["fault_kind"] for e in own} == {kind} and all(f"category:{KINDS[kind]}" in e["tags"] for e in own)


def _storage_full(lang: str) -> dict:
    from copilot.diagnosis import Diagnosis, Finding, RootCause
    from copilot.report import build_report

    found = Finding("D1", "database", "orders-db", "FreeStorageSpace", "db_storage_full",
                    "orders-db FreeStorageSpace fell to 0.4 GiB", 9.0, 1000.0, {"fault_kind": "db_storage_full"})
    d = Diagnosis("why do orders fail?", "", root_causes=[RootCause("orders-db", "db_storage_full", 0.8, ["D1"])],
                  findings=[found])
    return build_report(d, lang)


@pytest.mark.parametrize("lang, exp_id, name, later", [
    ("en", "exp-db-storage-full-en", "database storage full", "FreeStorageSpace below 20%"),
    ("zh", "exp-db-storage-full-zh", "数据库存储空间耗尽", "FreeStorageSpace低于20%"),
])
def test_a_database_fault_is_named_and_mitigated_from_data_not_generic_lines(lang, exp_id, name, later):
    """Without a knowledge-base search the report's actions for a database kind still come
    from its bundled experience (cited, with the instance filled in); the plugin supplies
    its name and the improvement as data."""
    from copilot.plugin_manager import load_plugins

    load_plugins()
    report = _storage_full(lang)
    now = report["actions"]["now"][0]
    assert now["source"] == exp_id
    assert "aws rds modify-db-instance --db-instance-identifier orders-db" in now["text"]
    assert report["root_cause"]["fault_name"] == name
    assert later in report["actions"]["later"][0]["text"]


@pytest.mark.parametrize("kind", ["db_storage_full", "db_replication_lag", "db_cpu_query", "db_failover"])
def test_the_offline_query_for_a_kind_finds_its_knowledge(store, kind):  # noqa: F811
    hits = search(store, kind.replace("_", " "), k=3, relevant_only=True)
    assert hits and kind in (hits[0].get("tags") or [])
