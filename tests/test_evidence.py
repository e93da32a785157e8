"""Typed finding evidence (copilot/evidence.py): every kind reads a details dict and gives it
back unchanged, a third-party dict loses nothing, the JSON output keeps today's details,
memory round-trips, and the engine reads attributes that mypy checks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from copilot.diagnosis import Diagnosis, Finding, RootCause
from copilot.evidence import (AlertEvidence, ChangeEvidence, DatabaseEvidence, ItemEvidence, LogEvidence,
                              MetricEvidence, OtherEvidence, PlatformEvidence, RuleEvidence, TraceEvidence,
                              evidence_from_dict)
from copilot.plugins.detectors.rank import categorise, explained_signals
from copilot.verdict import decide, is_active, is_ruled_out
from tests.kb_fixtures import store  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "evidence"
# One details dict of every shape the 80 offline scenarios produce (source, kind, keys), as
# the detectors wrote them before the evidence was typed.
SAMPLES = json.loads((DATA / "scenario_details.json").read_text(encoding="utf-8"))
CLASS_OF = {"metrics": MetricEvidence, "logs": LogEvidence, "traces": TraceEvidence, "changes": ChangeEvidence,
            "alerts": AlertEvidence, "platform": PlatformEvidence, "database": DatabaseEvidence}
ITEM = {"item": "es_heap", "direction": "up", "value": 97.0, "at": 1700000300.0, "normal": "0–85",
        "times": [1700000240.0, 1700000300.0], "values": [91.0, 97.0], "meaning": "heap pressure",
        "drilldown_tag": "node", "drilldown": [{"value": "es-2", "peak": 97.0, "out_of_range": True}],
        "link": "https://grafana.example/d/es"}
ITEM_OUTPUT = {"item": "slow_queries", "value": {"summary": "3 slow queries", "count": 3}, "meaning": "db is slow",
               "description": "3 slow queries"}
RULE = {"rule": "cpu_high", "group": "db", "threshold": 80.0, "labels": {"instance": "db1"},
        "times": [1700000000.0, 1700000060.0], "values": [91.0, 95.0], "direction": "up"}
RULE_ABSENT = {"rule": "heartbeat", "group": "db"}


def test_the_samples_cover_every_kind_of_evidence():
    assert {s["source"] for s in SAMPLES} == set(CLASS_OF)
    assert len(SAMPLES) >= 50


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"{s['source']}-{s['kind']}-{len(s['details'])}")
def test_each_kind_round_trips_its_details_unchanged(sample):
    data = {"id": "X1", "source": sample["source"], "component": "c", "signal": "s", "kind": sample["kind"],
            "summary": "a finding", "score": 1.0, "onset": None, "details": sample["details"]}
    f = Finding.from_dict(json.loads(json.dumps(data)))
    assert type(f.details) is CLASS_OF[sample["source"]]
    assert f.details.extra == {}  # every key the detectors write has a field
    out = f.to_dict()["details"]
    assert json.dumps(out) == json.dumps(sample["details"])  # the same keys, values and order
    # and again from the typed form: what memory and transcripts read back
    assert Finding.from_dict(json.loads(json.dumps(f.to_dict()))) == f


@pytest.mark.parametrize("source, data, cls", [
    ("metrics", ITEM, ItemEvidence), ("logs", ITEM_OUTPUT, ItemEvidence),
    ("metrics", RULE, RuleEvidence), ("metrics", RULE_ABSENT, RuleEvidence),
])
def test_items_and_rules_round_trip_under_any_source(source, data, cls):
    f = Finding("", source, "db1", "x", "out_of_range", "s", 3.0, None, dict(data))
    assert type(f.details) is cls and f.details.extra == {}
    assert json.dumps(f.to_dict()["details"]) == json.dumps(data)


def test_writers_in_code_give_the_keys_they_always_wrote():
    # a metric whose window had no finite value still says "after": null, as before
    m = MetricEvidence(family="cpu", direction="up", harmful=True, baseline=1.0, after=None, peak=2.0, unit="%",
                       labels={}, slope_per_min=0.0, series="a/cpu")
    assert list(m.to_dict()) == ["family", "direction", "harmful", "baseline", "after", "peak", "unit", "labels",
                                 "slope_per_min", "series"]
    m.moves_with_alert, m.query = 0.9, "up"  # set later (the ranking test, the Prometheus tool)
    assert list(m.to_dict())[-2:] == ["moves_with_alert", "query"]
    assert LogEvidence(template="t", count=1, baseline_count=0, examples=[], baseline_minutes=None,
                       baseline_adjacent=False).to_dict()["baseline_minutes"] is None
    # an optional key nobody set is left out
    assert TraceEvidence(caller="a", callee="b", ms_before=1.0, ms_after=2.0).to_dict() == {
        "caller": "a", "callee": "b", "ms_before": 1.0, "ms_after": 2.0}
    assert Finding("M1", "metrics", "a", "cpu", "spike", "s").to_dict()["details"] == {}


def test_a_third_party_dict_keeps_its_own_keys_and_the_engine_reads_the_shared_ones():
    given = {"vendor_score": 0.7, "family": "cpu", "extra": "a key named like the bookkeeping field",
             "runbook": {"url": "https://runbooks.example/cpu"}, "active": False, "ended": 1700000000.0}
    f = Finding("X1", "metrics", "api", "cpu", "spike", "cpu high", 5.0, None, dict(given))
    assert isinstance(f.details, MetricEvidence) and f.details.family == "cpu"
    assert f.details.extra == {"vendor_score": 0.7, "extra": "a key named like the bookkeeping field",
                               "runbook": {"url": "https://runbooks.example/cpu"}}
    assert json.dumps(f.to_dict()["details"]) == json.dumps(given)
    assert not is_active(f)  # "active" and "ended" mean the same from any writer
    back = Finding.from_dict(json.loads(json.dumps(f.to_dict())))
    assert back == f and back.details.extra == f.details.extra

    # a source no class knows: the shared fields are typed, the rest kept as given
    custom = {"fault_kind": "cpu_saturation", "why": "the vendor agent saw it", "probe": "p1", "samples": [1, 2]}
    g = Finding("V1", "vendor", "api", "agent", "cpu_saturation", "agent says cpu", 9.0, None, dict(custom))
    assert type(g.details) is OtherEvidence and g.details.fault_kind == "cpu_saturation"
    assert g.details.extra == {"probe": "p1", "samples": [1, 2]}
    assert categorise(g) == "declared"  # ranked as a declared fault, as a dict was before
    assert json.dumps(g.to_dict()["details"]) == json.dumps(custom)
    assert evidence_from_dict("vendor", None).to_dict() == {}


def test_confounders_from_a_dict_are_ruled_out_and_explain_their_signals():
    f = Finding("D9", "database", "db1", "checkpoint", "maintenance", "checkpoint", 0.0, 100.0,
                {"confounder": True, "ruled_out": "CPU came back at 11:38", "explains": ["CPUUtilization"]})
    assert isinstance(f.details, DatabaseEvidence) and f.details.confounder
    assert is_ruled_out(f) and categorise(f) is None
    assert explained_signals([f]) == {("db1", "CPUUtilization")}
    assert decide([], [f]).ruled_out[0].text == "CPU came back at 11:38"


def test_diagnosis_round_trips_through_json_and_memory(memory_store):
    findings = [Finding.from_dict({"id": f"X{i}", "source": s["source"], "component": "c", "signal": "s",
                                   "kind": s["kind"], "summary": "x", "score": 1.0, "details": s["details"]})
                for i, s in enumerate(SAMPLES)]
    findings.append(Finding("V1", "vendor", "c", "s", "k", "x", 1.0, None, {"probe": "p1"}))
    diag = Diagnosis("why?", "c cpu", [RootCause("c", "cpu_saturation", 0.9, ["X0"])], findings)
    text = json.dumps(diag.to_dict())
    back = Diagnosis.from_dict(json.loads(text))
    assert back.findings == findings and [type(f.details) for f in back.findings] == [type(f.details) for f in findings]
    assert json.dumps(back.to_dict()) == text

    inc = memory_store.save(diag)
    stored = memory_store.get(inc)["diagnosis"]["findings"]
    assert [Finding.from_dict(f) for f in stored] == findings


@pytest.fixture
def memory_store(store):  # noqa: F811
    from copilot.kb.memory import KnowledgeMemory

    return KnowledgeMemory(store)


def test_the_demo_json_keeps_the_details_it_had(tmp_path):
    """`copilot --demo --query ... --offline --format json`: each finding's details as the
    detectors wrote them before the evidence was typed (tests/data/evidence/demo_findings.json,
    from that version's output). A detector change that moves these numbers regenerates it."""
    before = json.loads((DATA / "demo_findings.json").read_text(encoding="utf-8"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOT_", "OPENAI_"))}
    env.update(LANCE_LOG="error", PYTHONPATH=str(ROOT), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    r = subprocess.run([sys.executable, "-m", "copilot", "--demo", "--query", before["question"], "--offline",
                        "--format", "json", "--no-memory"], capture_output=True, text=True, env=env, timeout=180, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    now = json.loads(r.stdout)["findings"]
    assert [f["id"] for f in now] == [f["id"] for f in before["findings"]]
    for old, new in zip(before["findings"], now):
        assert json.dumps(new["details"]) == json.dumps(old["details"]), old["id"]  # same keys, values, order
        assert {k: v for k, v in new.items() if k != "details"} == {k: v for k, v in old.items() if k != "details"}


# the engine reads details by attribute: no key lookups left in the engine or the plugins
KEY_READ = re.compile(r"\bdetails\s*(\.get\(|\.setdefault\(|\[\s*[\"'])")


def test_no_details_key_reads_left_in_the_engine_or_plugins():
    hits = []
    for folder in ("copilot", "plugins", "kb", "sessions", "tui"):
        for path in (ROOT / folder).rglob("*.py"):
            if any((ROOT / p).is_symlink() for p in path.relative_to(ROOT).parents):
                continue  # copilot/plugins and the like: the real folder is read on its own
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if KEY_READ.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, hits


MYPY_PROBE = '''
from copilot.diagnosis import Finding
from copilot.evidence import MetricEvidence


def narrowed(f: Finding) -> float | None:
    return f.details.moves_with_alert if isinstance(f.details, MetricEvidence) else None


def shared(f: Finding) -> bool:
    return bool(f.details.confounder or f.details.fault_kind)


def not_narrowed(f: Finding) -> object:
    return f.details.moves_with_alert


def misspelt(f: Finding) -> object:
    return f.details.fault_knd


def by_key(f: Finding) -> object:
    return f.details.get("baseline")
'''


def test_mypy_checks_the_rankings_attribute_reads(tmp_path):
    """The ranking type-checks as it is, and the reads it must not make are errors: a field of
    one kind read without narrowing, a misspelt field, a key lookup."""
    from mypy import api

    probe = tmp_path / "probe.py"
    probe.write_text(MYPY_PROBE, encoding="utf-8")
    rank = ROOT / "plugins" / "detectors" / "rank.py"
    out, err, _ = api.run([str(probe), str(rank), "--cache-dir", str(tmp_path / "cache"), "--follow-imports", "silent",
                           "--ignore-missing-imports", "--no-error-summary", "--python-version", "3.11",
                           "--config-file", os.devnull])
    errors = [line for line in out.splitlines() if ": error:" in line]
    lines = MYPY_PROBE.splitlines()
    flagged = {lines[int(e.split(":")[1]) - 1].strip() for e in errors if e.startswith(str(probe))}
    assert flagged == {"return f.details.moves_with_alert", "return f.details.fault_knd",
                       'return f.details.get("baseline")'}, out + err
    assert not [e for e in errors if not e.startswith(str(probe))], out  # rank.py itself is clean
