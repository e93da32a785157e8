"""bench/nezha_stress.py: the renamed, column-dropped nezha variant keeps the faults and loses every Online Boutique name."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

from copilot.plugins.telemetry import datasets
from tests.test_datasets_adapters import NEZHA_PODS, write_nezha

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import nezha_stress  # noqa: E402


def test_variant_renames_every_service_and_keeps_the_faults(tmp_path):
    src = write_nezha(tmp_path / "src", [("2022-08-22 03:40:10", "cartservice", "cpu_contention")])
    info = nezha_stress.transform(src, tmp_path / "out", drop=0.0, seed=3)
    new = info["services"]
    assert set(new) == set(NEZHA_PODS) and all(v.startswith("ts-") and v.endswith("-service") for v in new.values())
    case = datasets.nezha_cases(tmp_path / "out")[0]
    assert case.truth.component == new["cartservice"] and case.truth.fault_kind == "cpu_saturation"
    tel = case.load()
    assert {m.component for m in tel.metrics if not m.component.startswith("node-")} <= set(new.values())
    assert ("cpu_usage_percent" in {m.metric for m in tel.metrics}) and not any("CpuUsageRate" in m.metric for m in tel.metrics)
    assert set(tel.call_graph) == {(new["frontend"], new["cartservice"]), (new["frontend"], new["paymentservice"])}
    text = "".join(p.read_text() if p.suffix != ".gz" else gzip.open(p, "rt").read()
                   for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert not any(old in text for old in NEZHA_PODS)  # no Online Boutique name is left anywhere


def test_dropped_columns_are_gone_from_every_pod(tmp_path):
    src = write_nezha(tmp_path / "src", [("2022-08-22 03:40:10", "cartservice", "cpu_contention")])
    info = nezha_stress.transform(src, tmp_path / "out", drop=1.0, seed=3)
    tel = datasets.nezha_cases(tmp_path / "out")[0].load()
    dropped = {nezha_stress.COLUMNS[c] for c in info["dropped_columns"]}
    assert dropped and not dropped & {m.metric for m in tel.metrics}
