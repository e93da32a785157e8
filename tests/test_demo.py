"""The demo incident generator: deterministic, every fault kind, clear errors, cached default."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

import pytest

from copilot.demo import DEFAULT_SERVICE, GENERATED_KINDS, ensure_demo, generate, valid_services
from copilot.diagnosis import FAULT_KINDS
from copilot.errors import CopilotError

FILES = ("metrics.csv", "logs.jsonl", "traces.csv", "changes.jsonl", "alerts.jsonl", "topology.json", "incident.json", "question.txt")


def test_same_seed_gives_same_bytes_and_another_seed_differs(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, "jvm_gc", seed=3)
    generate(b, "jvm_gc", seed=3)
    generate(c, "jvm_gc", seed=4)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "metrics.csv").read_bytes() != (c / "metrics.csv").read_bytes()


def test_generated_kinds_are_the_canonical_ones_without_unknown():
    assert set(GENERATED_KINDS) == set(FAULT_KINDS) - {"unknown"}
    assert set(DEFAULT_SERVICE) == set(GENERATED_KINDS)


@pytest.mark.parametrize("fault", GENERATED_KINDS)
def test_every_fault_kind_generates_a_small_complete_incident(tmp_path, fault):
    truth = generate(tmp_path, fault, seed=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) < 5_000_000
    saved = json.loads((tmp_path / "incident.json").read_text())
    assert saved == truth
    assert set(saved) == {"component", "fault_kind", "start", "seed", "description"}
    assert saved["fault_kind"] == fault and saved["component"] == DEFAULT_SERVICE[fault] and saved["seed"] == 5
    start = datetime.fromisoformat(saved["start"].replace("Z", "+00:00")).timestamp()
    first_cell = (tmp_path / "metrics.csv").read_text().splitlines()[1].split(",")[0]
    first = datetime.fromisoformat(first_cell.replace("Z", "+00:00")).timestamp()
    assert 0.69 * 7200 <= start - first <= 0.81 * 7200  # onset 70-80% into the two hours
    question = (tmp_path / "question.txt").read_text().strip()
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    first_alert = min(datetime.fromisoformat(a["timestamp"].replace("Z", "+00:00")) for a in alerts)
    assert first_alert.timestamp() > start  # alerts fire after the onset
    assert first_alert.strftime("%H:%M") in question and question.endswith("?")


def test_code_exception_has_a_deploy_just_before_the_onset_and_exception_logs(tmp_path):
    truth = generate(tmp_path, "code_exception", seed=2)
    start = datetime.fromisoformat(truth["start"].replace("Z", "+00:00")).timestamp()
    changes = [json.loads(x) for x in (tmp_path / "changes.jsonl").read_text().splitlines()]
    near = [c for c in changes if 0 < start - datetime.fromisoformat(c["timestamp"].replace("Z", "+00:00")).timestamp() < 600]
    assert [c["component"] for c in near] == [truth["component"]]
    logs = [json.loads(x) for x in (tmp_path / "logs.jsonl").read_text().splitlines()]
    assert any("Exception" in r["message"] and r["component"] == truth["component"] and r["level"] == "ERROR" for r in logs)


def test_non_default_service_and_its_validation(tmp_path):
    assert generate(tmp_path, "disk_full", service="cache")["component"] == "cache"
    assert valid_services("traffic_surge") == ["gateway"]
    with pytest.raises(CopilotError, match="use one of: .*checkout"):
        generate(tmp_path / "x", "jvm_gc", service="cache")
    with pytest.raises(CopilotError, match="unknown fault 'meltdown'; use one of: cpu_saturation"):
        generate(tmp_path / "y", "meltdown")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_ensure_demo_generates_once_into_the_cache():
    first = ensure_demo("memory_leak")
    stamp = (first / "metrics.csv").stat().st_mtime_ns
    again = ensure_demo("memory_leak")
    assert again == first and (again / "metrics.csv").stat().st_mtime_ns == stamp
    assert "demo" in first.parts and first.name == "memory_leak"
    assert json.loads((first / "incident.json").read_text())["fault_kind"] == "memory_leak"


def _parser():
    from copilot.commands import demo

    parser = argparse.ArgumentParser(prog="copilot")
    demo.register(parser.add_subparsers(dest="command"))
    return parser


def test_demo_command_generates_and_prints_the_question(tmp_path, capsys):
    parser = _parser()
    args = parser.parse_args(["demo", "generate", "--fault", "network_loss", "--service", "db", "--seed", "9", "--out", str(tmp_path)])
    assert args.func(args) == 0
    assert json.loads((tmp_path / "incident.json").read_text())["component"] == "db"
    assert "network loss injected into db" in capsys.readouterr().out
    args = parser.parse_args(["demo", "question", "--fault", "cpu_saturation"])
    assert args.func(args) == 0
    out = capsys.readouterr().out.strip()
    assert out == (ensure_demo("cpu_saturation") / "question.txt").read_text().strip()
    args = parser.parse_args(["demo", "generate", "--fault", "bogus", "--out", str(tmp_path / "z")])
    with pytest.raises(CopilotError, match="unknown fault 'bogus'"):
        args.func(args)


def test_command_module_imports_no_heavy_library():
    import subprocess
    import sys

    code = "import sys; import copilot.commands.demo; print(sorted(m for m in ('numpy', 'lancedb', 'textual', 'openai') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]", out.stderr


def test_same_bytes_in_another_process_with_another_hash_seed(tmp_path):
    import os
    import subprocess
    import sys

    generate(tmp_path / "here", "code_exception", seed=8)
    code = f"from copilot.demo import generate; generate({str(tmp_path / 'there')!r}, 'code_exception', seed=8)"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=Path(__file__).resolve().parent.parent)
    for name in FILES:
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "there" / name).read_bytes(), name
