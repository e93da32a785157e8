"""End to end through the telemetry plugin's tools, in the offline brain's plan order:
for every generated fault kind the top root cause is the injected component and kind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from copilot.demo import DEFAULT_SERVICE, GENERATED_KINDS, ensure_demo, generate
from copilot.tools import ToolContext, ToolRegistry
from copilot.plugins.telemetry_plugin import plugin

PLAN = ["describe_telemetry", "detect_metric_anomalies", "detect_log_anomalies", "detect_trace_anomalies",
        "list_changes", "rank_root_causes"]
OTHER_SERVICE = {
    "cpu_saturation": ("payment", 7), "memory_leak": ("checkout", 7), "disk_full": ("cache", 7),
    "network_delay": ("cart", 7), "network_loss": ("db", 7), "traffic_surge": ("gateway", 21),
    "jvm_gc": ("checkout", 7), "code_exception": ("catalogue", 7),
}


def registry() -> ToolRegistry:
    reg = ToolRegistry()
    for t in plugin.tools:
        reg.add(t)
    return reg


async def investigate(data_dir: Path, window=None):
    """Run the plan the way the agent loop does: every result's findings join ctx.findings."""
    reg, ctx = registry(), ToolContext(data_dir=data_dir, window=window)
    results = {}
    for name in PLAN:
        result = await reg.invoke(name, {}, ctx)
        results[name] = result
        for f in result.findings:
            if all(f.id != g.id for g in ctx.findings):
                ctx.findings.append(f)
    return results, ctx


def truth_of(path: Path) -> dict:
    return json.loads((path / "incident.json").read_text())


@pytest.mark.parametrize("fault", GENERATED_KINDS)
async def test_default_demo_top_cause_is_the_injected_fault(fault):
    root = ensure_demo(fault)
    truth = truth_of(root)
    results, ctx = await investigate(root)
    for name in PLAN:
        assert results[name].status in ("ok", "no_data"), (name, results[name].output)
    ranked = results["rank_root_causes"].data["root_causes"]
    assert (ranked[0]["component"], ranked[0]["fault_type"]) == (DEFAULT_SERVICE[fault], fault), results["rank_root_causes"].output
    assert (ranked[0]["component"], ranked[0]["fault_type"]) == (truth["component"], truth["fault_kind"])
    assert ranked[0]["confidence"] > ranked[1]["confidence"]
    ids = {f.id for f in ctx.findings}
    assert ranked[0]["evidence"] and set(ranked[0]["evidence"]) <= ids
    assert results["rank_root_causes"].data["mitigation"]


@pytest.mark.parametrize("fault", GENERATED_KINDS)
async def test_non_default_service_without_ground_truth_on_disk(tmp_path, fault):
    service, seed = OTHER_SERVICE[fault]
    truth = generate(tmp_path, fault, service, seed)
    (tmp_path / "incident.json").unlink()  # the tools never need it
    results, _ = await investigate(tmp_path)
    top = results["rank_root_causes"].data["root_causes"][0]
    assert (top["component"], top["fault_type"]) == (truth["component"], fault), results["rank_root_causes"].output


async def test_question_window_from_the_run_still_finds_the_cause(tmp_path):
    """The run's window (e.g. "since HH:MM" in the question, after the onset) is widened back."""
    root = ensure_demo("code_exception")
    question_time = json.loads((root / "alerts.jsonl").read_text().splitlines()[0])["timestamp"]
    from copilot.plugins.telemetry.tables import parse_time

    t = parse_time(question_time)
    results, _ = await investigate(root, window=(t, t + 3600))
    top = results["rank_root_causes"].data["root_causes"][0]
    assert (top["component"], top["fault_type"]) == ("checkout", "code_exception")


async def test_tool_outputs_are_compact_and_ids_unique():
    root = ensure_demo("traffic_surge")
    results, ctx = await investigate(root)
    assert len({f.id for f in ctx.findings}) == len(ctx.findings)
    assert all(len(r.output) <= 6000 for r in results.values())
    metrics = results["detect_metric_anomalies"]
    lines = metrics.output.splitlines()
    assert lines[0].startswith("window ") and "baseline" in lines[0]
    assert lines[1].startswith("M") and len(lines) <= 27
    scores = [f.score for f in metrics.findings]
    assert scores == sorted(scores, reverse=True)
    describe = results["describe_telemetry"].output
    assert "gateway->frontend" in describe and "alerts: 2" in describe
    assert [f.source for f in results["describe_telemetry"].findings] == ["alerts", "alerts"]


async def test_tool_errors_are_readable(tmp_path):
    reg = registry()
    ctx = ToolContext(data_dir=ensure_demo("cpu_saturation"))
    bad = await reg.invoke("detect_metric_anomalies", {"component": "nope"}, ctx)
    assert bad.status == "error" and bad.output.startswith("unknown component 'nope'; known: cache, cart")
    bad = await reg.invoke("detect_metric_anomalies", {"start": "lunchtime"}, ctx)
    assert bad.status == "error" and "is not a time" in bad.output
    empty = await reg.invoke("rank_root_causes", {}, ToolContext(data_dir=tmp_path))
    assert empty.status == "no_data" and "run the detectors" in empty.output
    missing = await reg.invoke("describe_telemetry", {}, ToolContext(data_dir=tmp_path / "none"))
    assert missing.status == "error" and "no such telemetry directory" in missing.output


async def test_explicit_window_and_series_drill_down():
    reg = registry()
    root = ensure_demo("cpu_saturation")
    ctx = ToolContext(data_dir=root)
    early = await reg.invoke("detect_metric_anomalies", {"component": "catalogue", "start": "12:30", "end": "13:00"}, ctx)
    assert early.status == "ok" and "window 12:30-13:00 UTC" in early.output and not early.findings
    series = await reg.invoke("get_metric_series", {"component": "catalogue", "metric": "cpu"}, ctx)
    assert series.status == "ok" and series.output.startswith("catalogue/cpu_usage (120 points)")
    buckets = series.data["series"][0]["buckets"]
    assert len(buckets) == 10 and buckets[-1]["median"] > 2 * buckets[0]["median"]


def test_plugin_tools_are_the_contract():
    names = [t.name for t in plugin.tools]
    assert plugin.name == "telemetry"
    assert names == ["describe_telemetry", "detect_metric_anomalies", "detect_log_anomalies", "detect_trace_anomalies",
                     "list_changes", "rank_root_causes", "get_metric_series"]
    assert all(t.risk == "read" for t in plugin.tools)
    schema = {t.name: t.parameters for t in plugin.tools}
    assert set(schema["detect_metric_anomalies"]["properties"]) == {"component", "start", "end"}
    assert schema["get_metric_series"]["required"] == ["component", "metric"]
    assert schema["rank_root_causes"]["properties"]["top_k"] == {"type": "integer", "description": "how many candidates to return",
                                                                "default": 5}


def test_copying_the_demo_elsewhere_gives_the_same_diagnosis(tmp_path):
    import asyncio

    src = ensure_demo("network_delay")
    shutil.copytree(src, tmp_path / "copy")
    a, _ = asyncio.run(investigate(src))
    b, _ = asyncio.run(investigate(tmp_path / "copy"))
    assert a["rank_root_causes"].data == b["rank_root_causes"].data
