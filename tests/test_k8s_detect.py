"""Platform detectors on recorded cluster states (tests/k8s_states.py), the ranking they feed,
the verdict and the ruled-out part, and the whole offline run through the CLI."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from copilot.verdict import decide
from copilot.plugins.platform.detect import detect_platform, scheduler_reasons
from copilot.plugins.platform.rank import combine
from copilot.plugins.telemetry.files import load_directory
from tests import k8s_states as K

ROOT = Path(__file__).resolve().parent.parent


def findings_of(tmp_path: Path, state, extra=None):
    if isinstance(state, tuple):
        state, extra = state
    tel = load_directory(K.write(tmp_path / "s", {**K.save(state), **(extra or {})}))
    n = itertools.count(1)
    return detect_platform(tel, lambda p: f"{p}{next(n)}")


def faults(found):
    return [f for f in found if f.kind != "ruled_out"]


def only(found, kind):
    hits = [f for f in found if f.kind == kind]
    assert len(hits) == 1, [(f.kind, f.summary) for f in found]
    return hits[0]


def test_oom_killed_names_the_limit_and_time(tmp_path):
    f = only(findings_of(tmp_path, K.oom_killed()), "oom_killed")
    assert f.id.startswith("K") and f.component == "checkout" and f.details.active
    assert f.details.limit == "512Mi" and f.details.limit_bytes == 512 * 2**20 and f.details.restarts == 5
    assert "10:38 UTC" in f.summary and "512Mi" in f.summary and "CrashLoopBackOff" in f.summary


def test_crash_loop_with_exit_code(tmp_path):
    f = only(findings_of(tmp_path, K.crash_loop()), "crash_loop")
    assert f.details.exit_code == 1 and f.details.restarts == 9 and "exit code 1" in f.summary


def test_image_pull_and_the_stuck_rollout_it_causes(tmp_path):
    found = findings_of(tmp_path, K.image_pull())
    pull = only(found, "image_pull_error")
    assert "not found" in pull.summary and pull.details.image.endswith("checkout:1.3")
    stuck = only(found, "rollout_stuck")
    assert "ProgressDeadlineExceeded" in stuck.summary
    causes = combine(found, [])
    assert causes[0].component == "checkout" and causes[0].fault_type == "image_pull_error"
    assert causes[0].category == "configuration_error" and stuck.id in causes[0].evidence


def test_missing_configmap(tmp_path):
    f = only(findings_of(tmp_path, K.missing_configmap()), "missing_config")
    assert f.details.missing == "configmap checkout-config"


@pytest.mark.parametrize("message, kind, category", [
    (K.INSUFFICIENT, "pod_unschedulable_resources", "resource_exhaustion"),
    (K.TAINTS, "pod_unschedulable_constraints", "configuration_error"),
    (K.UNBOUND, "pvc_unbound", "infrastructure"),
])
def test_pending_pods_and_the_scheduler_message(tmp_path, message, kind, category):
    found = findings_of(tmp_path, K.pending(message))
    f = only(found, kind)
    assert "Pending for 18 min" in f.summary
    assert combine(found, [])[0].category == category


def test_scheduler_message_parsed():
    assert scheduler_reasons(K.TAINTS) == [
        (1, "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
        (2, "node(s) didn't match Pod's node affinity/selector")]
    assert scheduler_reasons(K.INSUFFICIENT) == [(3, "Insufficient memory")]


def test_quota_refusal(tmp_path):
    f = only(findings_of(tmp_path, K.quota_refused()), "quota_exceeded")
    assert f.details.quota == "compute-resources" and f.details.limited == "limits.memory=2Gi"


def test_probe_failures_and_probe_restarts(tmp_path):
    found = findings_of(tmp_path, K.probe_restarts())
    f = only(found, "probe_failure")
    assert f.details.probe_failures == {"liveness": 15} and f.details.probe_restarts == 4
    assert combine(found, [])[0].fault_type == "probe_failure"


def test_eviction_under_node_memory_pressure_points_at_the_node(tmp_path):
    found = findings_of(tmp_path, K.evicted())
    assert "1203Mi" in only(found, "pod_evicted").summary
    top = combine(found, [])[0]
    assert (top.component, top.fault_type) == ("node-1", "node_pressure")


def test_node_not_ready_and_the_pods_it_hits(tmp_path):
    f = only(findings_of(tmp_path, K.node_not_ready()), "node_not_ready")
    assert f.component == "node-2" and len(f.details.pods) == 2 and "10:31 UTC" in f.summary


def test_hpa_at_max(tmp_path):
    f = only(findings_of(tmp_path, K.hpa_max()), "hpa_at_max")
    assert "3/3 replicas" in f.summary and "cpu 184% (target 70%)" in f.summary


def test_dns_failures_in_pod_logs(tmp_path):
    f = only(findings_of(tmp_path, K.dns_logs()), "dns_failure")
    assert f.details.lines == 30 and f.component == "checkout"


@pytest.mark.parametrize("state, what", [
    (K.healthy, "rollout to revision 2"),
    (K.finished_rollout, "old pods terminating"),
    (K.node_flapped, "is Ready again"),
])
def test_nothing_wrong_variants_are_ruled_out_and_healthy(tmp_path, state, what):
    found = findings_of(tmp_path, state())
    assert not faults(found)
    assert any(what in f.summary for f in found if f.kind == "ruled_out")
    verdict = decide(combine(found, []), found)
    assert verdict.state == "healthy" and verdict.ruled_out


def test_restart_long_ago_is_recovered_not_a_fault(tmp_path):
    cluster = K.base_cluster()
    term = {"terminated": {"exitCode": 137, "finishedAt": "2024-06-03T09:05:00Z", "reason": "OOMKilled",
                           "startedAt": "2024-06-03T08:00:00Z"}}
    cluster["pods"][0] = K.pod("checkout", 2, "x2x9q", restarts=1, last=term, started=K.at(21))
    found = findings_of(tmp_path, cluster)
    f = only(found, "oom_killed")
    assert not f.details.active
    verdict = decide(combine(found, []), found)
    assert verdict.state == "recovered" and "09:05" in " ".join(verdict.reasons)


def run_cli(data: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LANCE_LOG": "error", "XDG_DATA_HOME": str(data.parent / "xdg"), "COPILOT_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "copilot", "--offline", "--no-memory", "--data", str(data), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_cli_fault_json_and_healthy_exit_zero(tmp_path):
    bad = K.write(tmp_path / "bad" / "d", K.save(K.missing_configmap()))
    r = run_cli(bad, "--format", "json", "--query", "why is checkout failing?")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["verdict"] == "fault"
    top = out["root_causes"][0]
    assert (top["component"], top["fault_type"], top["category"]) == ("checkout", "missing_config", "configuration_error")
    assert "kubectl -n shop get configmap,secret" in out["answer"]  # proposed with the cause's own namespace
    # a cluster dump holds no metrics: the report says so rather than "no anomaly found"
    assert out["data_held"]["metrics"] is False and out["data_held"]["platform"] is True
    assert {o["source"]: o["status"] for o in out["report"]["alert_onsets"]}["metrics"] == "no_data"
    assert "the data holds no metrics" in out["answer"]
    good = K.write(tmp_path / "good" / "d", K.save(K.finished_rollout()))
    r = run_cli(good, "--query", "checkout alert fired, is something wrong?")
    assert r.returncode == 0, r.stderr
    assert "healthy" in r.stdout and "Ruled out" in r.stdout and "old pods terminating" in r.stdout


def test_the_teams_pod_pending_cause_from_an_experience_becomes_the_diagnosis(tmp_path):
    """The seed's pod-pending row (IPv6 config inconsistent after a change) describes a pod
    stuck creating its sandbox for want of an IPv6 address: its kind is the diagnosis, cited."""
    import yaml

    from copilot.experience_match import apply

    found = findings_of(tmp_path, K.pending_ipv6())
    f = only(found, "pod_pending")
    assert "FailedCreatePodSandBox" in f.summary and "IPv6" in f.summary
    bundled = yaml.safe_load((ROOT / "kb" / "bundled" / "experiences.yaml").read_text(encoding="utf-8"))["experiences"]
    entries = [e for e in bundled if e["id"].startswith("exp-pod-pending")]
    top = apply(combine(found, []), found, entries, "en")[0]
    assert (top.fault_type, top.category, top.experience) == ("pod_pending_ipv6_config", "configuration_error",
                                                              "exp-pod-pending-ipv6-en")
    # an unrelated pending pod (short of memory) keeps the rules' kind and cites the resources row
    found = findings_of(tmp_path / "2", K.pending(K.INSUFFICIENT))
    top = apply(combine(found, []), found, entries, "en")[0]
    assert (top.fault_type, top.experience) == ("pod_unschedulable_resources", "exp-pod-pending-resource-en")


def test_service_whose_selector_matches_no_pod(tmp_path):
    found = findings_of(tmp_path, K.selector_mismatch())
    f = only(found, "service_selector_mismatch")
    assert f.component == "checkout" and "app=chekout" in f.summary
    top = combine(found, [])[0]
    assert (top.fault_type, top.category) == ("service_selector_mismatch", "configuration_error")
    assert not [x for x in found if x.component == "cart" and x.kind != "ruled_out"]  # cart has endpoints
    assert not [x for x in found if x.component == "checkout" and x.kind == "ruled_out"]  # its rollout is no red herring


def test_every_platform_fault_has_expert_experience_in_english_and_chinese(tmp_path):
    import yaml

    from copilot.experience_match import apply

    bundled = yaml.safe_load((ROOT / "kb" / "bundled" / "experiences.yaml").read_text(encoding="utf-8"))["experiences"]
    langs: dict[str, set[str]] = {}
    for e in bundled:
        langs.setdefault(e.get("fault_kind") or "", set()).add(e["language"])
    for kind in ("oom_killed", "crash_loop", "image_pull_error", "missing_config", "pod_unschedulable_resources",
                 "pod_unschedulable_constraints", "pvc_unbound", "pod_evicted", "node_not_ready", "node_pressure",
                 "probe_failure", "rollout_stuck", "hpa_at_max", "tls_failure", "cert_expiring"):
        assert langs.get(kind) == {"en", "zh"}, kind
    # a Chinese run cites the Chinese experience of the cause's own kind
    found = findings_of(tmp_path, K.oom_killed())
    top = apply(combine(found, []), found, bundled, "zh")[0]
    assert (top.fault_type, top.experience) == ("oom_killed", "exp-k8s-oom-killed-zh")
