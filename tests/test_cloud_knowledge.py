"""Bundled knowledge for every database fault kind: an expert experience and a runbook in
English and in Chinese, tagged with the kind, found by the offline brain's query for it."""

from __future__ import annotations

import pytest

from kb.search import search
from kb.seed import bundled_plan
from plugins.cloud.kinds import KINDS, NAMES
from tests.kb_fixtures import store  # noqa: F401


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_database_kind_has_experiences_and_runbooks_in_both_languages(kind):
    plan, _ = bundled_plan()
    experiences = {e["language"] for e in plan.experiences if kind in (e.get("tags") or [])}
    runbooks = {c["language"] for chunks in plan.documents.values() for c in chunks if kind in (c.get("tags") or [])}
    assert experiences == {"en", "zh"} and runbooks == {"en", "zh"}
    assert set(NAMES) == set(KINDS)


@pytest.mark.parametrize("kind", ["db_storage_full", "db_replication_lag", "db_cpu_query", "db_failover"])
def test_the_offline_query_for_a_kind_finds_its_knowledge(store, kind):  # noqa: F811
    hits = search(store, kind.replace("_", " "), k=3, relevant_only=True)
    assert hits and kind in (hits[0].get("tags") or [])
