"""Importing experiences (YAML, JSON, CSV) and runbooks (Markdown): all or nothing, with
file, line and field named for every problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.kb.importer import ImportError_, apply_plan, import_paths, plan_import, split_runbook
from tests.kb_fixtures import embedder, store  # noqa: F401

GOOD_YAML = """\
experiences:
  - fault_name: Kafka consumer lag
    root_cause: Consumers fell behind after a partition rebalance.
    symptoms:
      metrics: consumer lag grows on one group
      logs: rebalance in progress
    mitigation: Restart the stuck consumers and check partition assignment.
    services: [orders-consumer]
    tags: kafka, lag
  - fault_name: 消息积压
    root_cause: 消费者处理变慢导致消息积压。
    mitigation: 扩容消费者。
"""


def _counts(store):
    return store.count("experience"), store.count("document")


def test_yaml_import_adds_entries_and_is_idempotent(store, tmp_path):
    f = tmp_path / "exp.yaml"
    f.write_text(GOOD_YAML, encoding="utf-8")
    before = _counts(store)
    plan, ids = import_paths(store, [f])
    assert len(ids) == 2 and all(i.startswith("exp-") for i in ids)
    kafka = store.get(ids[0])
    assert kafka["services"] == ["orders-consumer"] and kafka["tags"] == ["kafka", "lag"]
    assert kafka["symptoms"]["logs"] == "rebalance in progress" and kafka["language"] == "en"
    assert store.get(ids[1])["language"] == "zh"
    import_paths(store, [f])
    assert _counts(store) == (before[0] + 2, before[1])


def test_json_and_csv_with_the_seed_table_headers(store, tmp_path):
    j = tmp_path / "a.json"
    j.write_text(json.dumps([{"fault_name": "DNS failure", "root_cause": "resolver down", "mitigation": "fail over DNS",
                              "fault_kind": "network_loss"}]), encoding="utf-8")
    c = tmp_path / "b.csv"
    c.write_text("故障名称,故障根源,根因描述,故障止损措施\nPod pending,quota,命名空间配额用尽，Pod无法创建,提高配额\n",
                 encoding="utf-8")
    plan, ids = import_paths(store, [j, c])
    assert len(ids) == 2
    pod = store.get(ids[1])
    assert pod["fault_name"] == "Pod pending" and pod["mitigation"] == "提高配额" and pod["tags"] == ["quota"]


@pytest.mark.parametrize(
    "name, text, where",
    [
        ("bad.yaml", GOOD_YAML.replace("    mitigation: 扩容消费者。\n", "    mitigation: 扩容消费者。\n    fault_kind: disk_fill\n"),
         "bad.yaml:13: entry 2: fault_kind"),
        ("missing.yaml", GOOD_YAML.replace("    root_cause: 消费者处理变慢导致消息积压。\n", ""),
         "missing.yaml:10: entry 2: root_cause: is required"),
        ("typo.yaml", GOOD_YAML.replace("    tags: kafka, lag", "    tagz: kafka"), "typo.yaml:9: entry 1: tagz: unknown field"),
        ("broken.json", '[{"fault_name": "x",\n "root_cause": }]', "broken.json:2: not valid JSON"),
        ("rows.csv", "fault_name,root_cause,mitigation\nA,b,c\nD,,f\n", "rows.csv:3: row 2: root_cause"),
        ("broken.yaml", "experiences:\n  - fault_name: [unclosed\n", "broken.yaml:3: not valid YAML"),
    ],
)
def test_malformed_import_names_file_line_field_and_writes_nothing(store, tmp_path, name, text, where):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD_YAML, encoding="utf-8")
    bad = tmp_path / name
    bad.write_text(text, encoding="utf-8")
    before = _counts(store)
    plan = plan_import([good, bad])
    assert any(p.startswith(f"{tmp_path}/{where}") for p in plan.problems), plan.problems
    with pytest.raises(ImportError_, match="nothing imported"):
        apply_plan(store, plan)
    assert _counts(store) == before


RUNBOOK = """\
---
title: Redis failover SOP
tags: [redis]
language: en
---
Intro text before any heading.

## Detect
Check replication lag.

## Fail over
### Manual
Promote the replica.
"""


def test_runbook_split_by_heading_and_reimport_replaces_chunks(store, tmp_path):
    meta, chunks, problems = split_runbook(RUNBOOK, "fallback")
    assert not problems and meta["title"] == "Redis failover SOP"
    assert [s for s, _ in chunks] == ["Redis failover SOP", "Detect", "Fail over > Manual"]
    f = tmp_path / "redis-failover.md"
    f.write_text(RUNBOOK, encoding="utf-8")
    import_paths(store, [f])
    book = store.runbook("sop-redis-failover")
    assert [c["id"] for c in book] == ["sop-redis-failover#0", "sop-redis-failover#1", "sop-redis-failover#2"]
    assert book[2]["body"] == "Promote the replica." and book[0]["source_uri"] == str(f)
    f.write_text(RUNBOOK.split("## Fail over")[0], encoding="utf-8")
    import_paths(store, [f])
    assert len(store.runbook("sop-redis-failover")) == 2


def test_directory_import_and_unknown_paths(store, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "e.yaml").write_text(GOOD_YAML, encoding="utf-8")
    (tmp_path / "d" / "r.md").write_text(RUNBOOK, encoding="utf-8")
    plan = plan_import([tmp_path / "d"])
    assert not plan.problems and len(plan.experiences) == 2 and list(plan.documents) == ["sop-r"]
    assert "no such file" in plan_import([tmp_path / "nope.yaml"]).problems[0]
    (tmp_path / "x.pdf").write_text("x")
    assert "unsupported file type" in plan_import([tmp_path / "x.pdf"]).problems[0]


def test_bundled_files_pass_the_importer():
    from copilot.kb.seed import bundled_plan

    plan, version = bundled_plan()
    assert not plan.problems and len(plan.experiences) >= 30 and len(plan.documents) >= 3
    assert len({e["id"] for e in plan.experiences}) == len(plan.experiences)
