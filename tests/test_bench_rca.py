"""The RCA benchmark harness end to end on tiny synthetic datasets in the published layouts."""

from __future__ import annotations

import json

import pytest

from copilot.bench import rank
from copilot.bench.__main__ import main
from copilot.bench.rca import format_text, run_benchmark
from tests.test_datasets_adapters import write_nezha, write_petshop, write_rcd

KEYS = {"cases", "ac@1", "ac@3", "avg@5", "fault_kind_accuracy", "floor", "per_case"}


def test_rcd_ranking_finds_injected_faults(tmp_path):
    write_rcd(tmp_path, [("carts", "cpu"), ("orders", "mem"), ("user", "cpu")])
    report = run_benchmark("rcd", str(tmp_path))
    assert KEYS <= set(report)
    assert report["cases"] == 3
    assert report["ac@1"] == 1.0 and report["fault_kind_accuracy"] == 1.0
    assert [c["rank"] for c in report["per_case"]] == [1, 1, 1]
    assert {"ac@1", "ac@3", "avg@5", "fault_kind_accuracy"} <= set(report["floor"])


def test_time_shift_moves_the_alert_the_ranking_sees(tmp_path, monkeypatch):
    write_rcd(tmp_path, [("carts", "cpu")])
    seen = []
    monkeypatch.setattr(rank, "rank_case", lambda tel, alert: seen.append(alert) or [("carts", "cpu_saturation")])
    run_benchmark("rcd", str(tmp_path), time_shift=60)
    assert seen == [2_000_060]
    report = run_benchmark("rcd", str(tmp_path), time_shift=60)
    assert report["time_shift"] == 60


def test_ranking_never_sees_ground_truth(tmp_path, monkeypatch):
    write_nezha(tmp_path, [("2022-08-22 03:40:10", "cartservice", "cpu_contention")])
    seen = []

    def spy(tel, alert):
        seen.append(tel)
        return []

    monkeypatch.setattr(rank, "rank_case", spy)
    report = run_benchmark("nezha", str(tmp_path))
    assert report["ac@1"] == 0.0 and report["per_case"][0]["rank"] is None
    text = repr(seen[0].meta) + repr(seen[0].alerts)
    assert "cpu_contention" not in text and "inject" not in text


def test_nezha_and_petshop_run_end_to_end(tmp_path):
    write_nezha(tmp_path / "nz", [("2022-08-22 03:40:10", "cartservice", "cpu_contention"),
                                  ("2022-08-22 04:10:30", "paymentservice", "network_delay")])
    nz = run_benchmark("nezha", str(tmp_path / "nz"))
    assert [c["rank"] for c in nz["per_case"]] == [1, 1]
    assert nz["per_case"][0]["top5"][0] == ["cartservice", "cpu_saturation"]
    write_petshop(tmp_path / "ps", ["PetSearchDB", "PayForAdoption"])
    ps = run_benchmark("petshop", str(tmp_path / "ps"))
    assert ps["cases"] == 2 and ps["ac@3"] == 1.0
    # scored per published cell too, beside the published baseline (the writer's target is latency)
    cell = ps["by_group"]["low_traffic / latency"]
    assert cell["cases"] == 2 and cell["top1"] == sum(c["rank"] == 1 for c in ps["per_case"])
    assert cell["published_ac@1"] == 0.57
    text = format_text(ps)
    assert "top-1 low_traffic / latency" in text and "published 0.57" in text
    assert "by_group" not in nz and "top-1" not in format_text(nz)  # no published cells for nezha


def test_cli_json_and_errors(tmp_path, capsys):
    write_rcd(tmp_path, [("carts", "cpu")])
    assert main(["rcd", str(tmp_path), "--json", "--time-shift", "30"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert KEYS <= set(data) and data["time_shift"] == 30
    assert main(["rcd", str(tmp_path)]) == 0
    assert "N-sigma floor" in capsys.readouterr().out
    assert main(["petshop", str(tmp_path / "missing")]) == 1
    assert "petshop" in capsys.readouterr().err
    assert main(["rcd"]) == 1


def test_a_benchmark_whose_module_is_missing_fails_with_one_line(monkeypatch, capsys):
    from copilot.bench import registry

    monkeypatch.setitem(registry.BENCHMARKS, "ghost", ("copilot.bench.no_such_module:run", "a missing benchmark"))
    assert main(["ghost", "x"]) == 1
    assert "not available" in capsys.readouterr().err
