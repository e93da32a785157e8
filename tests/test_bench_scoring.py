"""RCA scores, detection counts and the benchmark registry."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from copilot.bench import detect_bench, registry
from copilot.bench.baseline_rank import metric_kind
from copilot.bench.scoring import score_ranking, summarize
from copilot.errors import CopilotError


def test_ranking_scores_follow_rcaeval():
    ranking = [("a", "cpu_saturation"), ("B", "memory_leak"), ("c", "unknown")]
    assert score_ranking(ranking, "a", "cpu_saturation").rank == 1
    assert score_ranking(ranking, "a", "cpu_saturation").kind_right
    assert not score_ranking(ranking, "a", "memory_leak").kind_right
    assert score_ranking(ranking, "b", "memory_leak").rank == 2  # names compare case-insensitively
    assert not score_ranking(ranking, "b", "memory_leak").kind_right  # right kind, but not top-1
    assert score_ranking(ranking, "z", "unknown").rank is None
    scores = [score_ranking(ranking, t, "cpu_saturation") for t in ("a", "b", "c", "z")]
    s = summarize(scores)
    assert s["cases"] == 4
    assert s["ac@1"] == 0.25 and s["ac@3"] == 0.75
    assert s["avg@5"] == pytest.approx((0.25 + 0.5 + 0.75 + 0.75 + 0.75) / 5, abs=1e-4)
    assert s["fault_kind_accuracy"] == 0.25


def test_metric_families():
    assert metric_kind("CpuUsageRate(%)") == "cpu_saturation"
    assert metric_kind("mem") == "memory_leak"
    assert metric_kind("lat_90") == "network_delay"
    assert metric_kind("PodSuccessRate(%)") == "code_exception"
    assert metric_kind("lod") == "traffic_surge"
    assert metric_kind("jvm_gc_pause") == "jvm_gc"
    assert metric_kind("mystery") == "unknown"


def test_detection_counts_point_event_and_adjusted():
    labels = np.array([0, 1, 1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)
    flags = np.array([0, 0, 1, 0, 0, 0, 0, 0, 1, 1], dtype=bool)
    c = detect_bench.counts(labels, flags)
    assert (c["tp"], c["fp"], c["fn"]) == (1, 2, 4)
    assert (c["segments"], c["segments_detected"]) == (2, 1)
    assert (c["events_predicted"], c["events_correct"]) == (2, 1)
    assert (c["adj_tp"], c["adj_fn"]) == (3, 2)
    m = detect_bench.metrics(c)
    assert m["point"]["precision"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["event"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert m["point_adjusted"]["precision"] == 0.6


def test_detect_benchmark_on_labelled_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    folder = tmp_path / "data" / "domain"
    folder.mkdir(parents=True)
    for k in range(2):
        x = 50 + rng.normal(0, 1, 200)
        x[150 + k * 10: 153 + k * 10] += 20
        rows = ["TimeStamp,Value,Label"] + [
            f"{1_600_000_000 + 60 * i},{v},{int(150 + k * 10 <= i < 153 + k * 10)}" for i, v in enumerate(x)]
        (folder / f"s{k}.csv").write_text("\n".join(rows) + "\n")
    report = detect_bench.run_benchmark(str(tmp_path))
    assert report["series"] == 2 and report["points"] == 400
    assert report["event"]["recall"] == 1.0
    assert report["point"]["recall"] > 0
    args = argparse.Namespace(path=str(tmp_path), json=False)
    assert detect_bench.run(args) == 0
    assert "event-wise" in capsys.readouterr().out


def test_registry_tolerates_missing_benchmark_modules(monkeypatch):
    monkeypatch.setitem(registry.BENCHMARKS, "ghost", ("copilot.bench.no_such_module:run", "absent"))
    with pytest.raises(CopilotError, match="not available in this build"):
        registry.resolve("ghost")
    with pytest.raises(CopilotError, match="unknown benchmark"):
        registry.resolve("nope")
    assert registry.resolve("rcd").__module__ == "copilot.bench.rca"
