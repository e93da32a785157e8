"""The bundled example workflows: they validate against the real tool registry; pod-pending
runs against a real Prometheus (backfilled pending pods) and a local change-platform API,
also from a plain question (`--query ... --events`); high-latency runs against the demo."""

from __future__ import annotations

import http.server
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from copilot.cli import main
from tests.jsonserver import reply_json, serve, stop
from tests.test_registry_rules import END, START, STEP, prom  # noqa: F401  (fixture)


@pytest.fixture
def change_api(monkeypatch):
    seen: list[dict] = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}
            seen.append(q)
            changes = []
            if q.get("service") == "svc.b":
                changes = [{"id": "CH-2", "type": "deploy", "target": "svc.b", "author": "bob", "title": "enable ipv6",
                            "time": END - 16 * STEP}]
            elif q.get("service") == "":
                changes = [{"id": "CH-1", "type": "sops", "target": "c1", "author": "alice", "title": "node pool resize",
                            "time": END - 40 * STEP}]
            reply_json(self, 200, {"changes": changes})

        def log_message(self, *a):
            pass

    httpd, url = serve(H)
    monkeypatch.setenv("CHANGE_API", url)
    yield seen
    stop(httpd)


def test_bundled_workflows_validate_against_the_real_tools(capsys):
    from pathlib import Path

    files = sorted(str(p) for p in (Path(__file__).resolve().parents[1] / "kb" / "bundled" / "workflows").glob("*.yaml"))
    assert [Path(f).stem for f in files] == ["disk-full", "high-latency", "pod-pending"]
    assert main(["workflows", "validate", *files]) == 0
    assert capsys.readouterr().out.count(": ok") == 3


def test_pod_pending_runs_against_prometheus_and_the_change_platform(prom, change_api, monkeypatch, capsys):  # noqa: F811
    import time as _time

    monkeypatch.setenv("COPILOT_PROMETHEUS_URL", prom)
    since = f"{(_time.time() - START) / 60:.0f}m"
    code = main(["workflows", "run", "pod-pending", "--param", "cluster=c1", "--since", since, "--offline", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    steps = {s["id"]: s for s in data["workflow"]["steps"]}
    assert steps["pending"]["status"] == "ok" and steps["psm_changes"]["status"] == "ok"
    by_id = {f["id"]: f for f in data["findings"]}
    pending = [f for f in by_id.values() if f["signal"] == "pending_pods"]
    assert len(pending) == 1 and pending[0]["details"]["drilldown"][0]["value"] == "svc.b"
    changes = sorted(f["summary"] for f in by_id.values() if f["source"] == "changes")
    assert changes == ["deploy CH-2 on svc.b by bob: enable ipv6", "sops CH-1 on c1 by alice: node pool resize"]
    assert {q.get("service") for q in change_api} == {"", "svc.b"}  # the cluster, then each drilled-down psm
    assert data["root_causes"] and set(data["root_causes"][0]["evidence"]) <= set(by_id)
    assert "rule ranking stands in" in err


def test_query_names_pod_pending_and_events_show_it(prom, change_api, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("COPILOT_PROMETHEUS_URL", prom)
    code = main(["--query", "帮我看看集群 c1 为什么有 pod pending", "--offline", "--events"])
    out, err = capsys.readouterr()
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "final_answer"
    echo = events[1]
    assert echo["kind"] == "thought" and echo["text"].startswith("我将运行工作流 pod-pending：集群 c1")
    actions = [e for e in events if e["kind"] == "action"]
    assert {a["call_id"] for a in actions} >= {"pending", "cluster_changes"}
    final = events[-1]
    assert final["diagnosis"]["workflow"]["name"] == "pod-pending"
    assert "## 五、" in final["answer"]


def test_a_question_not_naming_a_bundled_workflow_does_not_run_it(change_api):
    from copilot.config import Settings
    from copilot.workflows.chatops import find_match

    match, _, problem = find_match("集群 c1 的 pod 有问题吗", Settings())
    assert problem == "" and match is None
    match, _, _ = find_match("why are pods pending in cluster c1? pod pending since 10:00", Settings())
    assert match is not None and match.workflow.name == "pod-pending" and match.params == {"cluster": "c1"}


def test_high_latency_runs_against_the_demo(capsys):
    from copilot.demo import ensure_demo

    code = main(["workflows", "run", "high-latency", "--param", "service=catalogue", "--data", str(ensure_demo()),
                 "--offline", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    steps = {s["id"]: s for s in data["workflow"]["steps"]}
    assert steps["traces"]["status"] == "ok" and steps["metrics"]["status"] == "ok"
    assert steps["p99"]["status"] == "error"  # no Prometheus configured: said in one line, the rest runs
    assert "Prometheus" in steps["p99"]["error"]
    assert data["root_causes"][0]["component"] == "catalogue"
