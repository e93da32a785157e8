"""Diagnosis items and workflows end to end, against a local HTTP server that answers like
the seed's cluster-status API: the contract files as written in issue 14, auth, retries,
the jq filter's sandbox, validation errors with FILE:LINE, and the workflow's JSON."""

from __future__ import annotations

import base64
import http.server
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from copilot.cli import main
from tests.jsonserver import reply_json, serve, stop

ROOT = Path(__file__).resolve().parent.parent

CLUSTER_STATUS = """\
name: cluster_status
kind: http
description: Cluster status from the platform API; entries whose status is NO are problems
params:
  cluster: {type: string, required: true}
request:
  method: GET
  url: ${env:CLUSTER_API}/api/v1/cluster/
  query: {cluster: "${cluster}", time_range: "${start},${end}"}
filter: '.data.client_status | map(select(.status == "NO")) | map(.result)'
component: ${cluster}
"""

CLUSTER_HEALTH = """\
name: cluster-health
description: 集群健康检查 — check a cluster's health
params:
  cluster: {type: string, required: true}
steps:
  - item: cluster_status
"""


class Api:
    """The platform API: per-cluster statuses, a bearer-protected path, a flaky path."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.flaky_failures = 2
        self.delay = {}

    def handler(self):
        api = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                api.requests.append({"path": parts.path, "query": query, "auth": self.headers.get("Authorization", ""),
                                     "key": self.headers.get("X-Api-Key", "")})
                if parts.path == "/secure/api/v1/cluster/" and self.headers.get("Authorization") != "Bearer tok-123":
                    return self.reply(401, {"error": "unauthorized"})
                if parts.path == "/basic/" and self.headers.get("Authorization") != "Basic " + base64.b64encode(b"bot:pw-9").decode():
                    return self.reply(401, {"error": "unauthorized"})
                if parts.path == "/flaky/":
                    if api.flaky_failures > 0:
                        api.flaky_failures -= 1
                        return self.reply(503, {"error": "busy"})
                cluster = query.get("cluster", "c1")
                statuses = [
                    {"status": "NO", "name": "延迟过大", "result": f"{cluster}: 延迟过大，延迟为2.8s", "reason": ""},
                    {"status": "OK", "name": "容量", "result": "capacity fine", "reason": ""},
                    {"status": "NO", "name": "节点", "result": f"{cluster}: 3 nodes NotReady", "reason": ""},
                ]
                if cluster == "healthy":
                    statuses = [s | {"status": "OK"} for s in statuses]
                self.reply(200, {"success": True, "data": {"cluster": cluster, "region": "cn-beijing", "client_status": statuses}})

            def reply(self, code, body):
                reply_json(self, code, body)

            def log_message(self, *args):
                pass

        return H


@pytest.fixture
def api():
    state = Api()
    server, state.url = serve(state.handler())
    yield state
    stop(server)


@pytest.fixture
def confdir(tmp_path, monkeypatch, api):
    conf = Path(__import__("os").environ["XDG_CONFIG_HOME"]) / "sre-copilot"
    (conf / "items").mkdir(parents=True)
    (conf / "workflows").mkdir(parents=True)
    (conf / "items" / "cluster-status.yaml").write_text(CLUSTER_STATUS, encoding="utf-8")
    (conf / "workflows" / "cluster-health.yaml").write_text(CLUSTER_HEALTH, encoding="utf-8")
    monkeypatch.setenv("CLUSTER_API", api.url)
    return conf


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_items_run_contract_prints_one_finding_per_filtered_string(confdir, api, capsys):
    code, out, _ = run_cli(capsys, "items", "run", "cluster_status", "--param", "cluster=c7", "--format", "json")
    assert code == 0
    data = json.loads(out)
    summaries = [f["summary"] for f in data["findings"]]
    assert summaries == ["c7: 延迟过大，延迟为2.8s", "c7: 3 nodes NotReady"]
    assert {f["component"] for f in data["findings"]} == {"c7"}
    assert [f["id"] for f in data["findings"]] == ["A1", "A2"]
    sent = api.requests[-1]
    assert sent["path"] == "/api/v1/cluster/" and sent["query"]["cluster"] == "c7"
    start, end = sent["query"]["time_range"].split(",")
    assert len(start) == len("2024-01-09 17:20:00") and start < end


def test_items_run_healthy_cluster_has_no_findings(confdir, capsys):
    code, out, _ = run_cli(capsys, "items", "run", "cluster_status", "--param", "cluster=healthy")
    assert code == 0 and "no problem found" in out


def test_items_run_missing_param_and_env_are_one_line(confdir, capsys, monkeypatch):
    code, _, err = run_cli(capsys, "items", "run", "cluster_status")
    assert code == 1 and "needs parameter cluster" in err and len(err.strip().splitlines()) == 1
    monkeypatch.delenv("CLUSTER_API")
    code, _, err = run_cli(capsys, "items", "run", "cluster_status", "--param", "cluster=c1")
    assert code == 1 and "CLUSTER_API" in err and len(err.strip().splitlines()) == 1


def test_workflows_run_contract_prints_standard_json_with_workflow(confdir, capsys):
    code, out, err = run_cli(capsys, "workflows", "run", "cluster-health", "--param", "cluster=c1", "--format", "json")
    assert code == 0
    data = json.loads(out)
    for key in ("findings", "root_causes", "report", "answer", "window", "mitigation", "model"):
        assert key in data
    assert data["workflow"]["name"] == "cluster-health"
    assert data["workflow"]["params"] == {"cluster": "c1"}
    ids = {f["id"] for f in data["findings"]}
    assert len(ids) == 2 and all(f["component"] == "c1" for f in data["findings"])
    # every claim of the report links to real findings
    report = data["report"]
    assert report["faulty_components"][0]["component"] == "c1"
    assert set(report["faulty_components"][0]["evidence"]) <= ids
    assert data["root_causes"] and set(data["root_causes"][0]["evidence"]) <= ids
    assert "## 5." in data["answer"]
    assert "I'll run cluster-health for cluster c1" in err


def test_validate_good_files(confdir, capsys):
    code, out, _ = run_cli(capsys, "items", "validate", str(confdir / "items" / "cluster-status.yaml"))
    assert code == 0 and "ok" in out
    code, out, _ = run_cli(capsys, "workflows", "validate", str(confdir / "workflows" / "cluster-health.yaml"))
    assert code == 0 and "ok" in out


@pytest.mark.parametrize("broken, line, field", [
    (CLUSTER_STATUS.replace("filter: '.data", "filter: '.data |||"), 10, "filter"),
    (CLUSTER_STATUS.replace('query: {cluster: "${cluster}"', 'query: {cluster: "${clutser}"'), 9, "request.query"),
    (CLUSTER_STATUS.replace("method: GET", "method: DELETE"), 7, "request.method"),
    (CLUSTER_STATUS.replace("kind: http", "kind: htp"), 2, "kind"),
    (CLUSTER_STATUS.replace("  method: GET\n", "  method: GET\n  auth: {type: bearer, token: abc}\n"), 8, "request.auth.token"),
    (CLUSTER_STATUS.replace("cluster: {type: string", "cluster: {type: str"), 5, "params.cluster.type"),
    (CLUSTER_STATUS + "query: x: y\n", 12, "(yaml)"),
])
def test_bad_item_file_is_one_line_with_file_line_field(confdir, capsys, tmp_path, broken, line, field):
    bad = tmp_path / "bad.yaml"
    bad.write_text(broken, encoding="utf-8")
    code, out, err = run_cli(capsys, "items", "validate", str(bad))
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"copilot: error: {bad}:{line}: {field}: "), lines[0]


@pytest.mark.parametrize("broken, line, field", [
    (CLUSTER_HEALTH.replace("item: cluster_status", "item: cluster_stats"), 6, "steps[0].item"),
    (CLUSTER_HEALTH + "  - item: cluster_status\n    if: steps.nope.count > 0\n", 8, "steps[1].if"),
    (CLUSTER_HEALTH + "  - item: cluster_status\n    if: __import__('os').system('x')\n", 8, "steps[1].if"),
    (CLUSTER_HEALTH.replace("  cluster: {type: string, required: true}\n", ""), 5, "steps[0]"),
    (CLUSTER_HEALTH + "  - tool: no_such_tool\n", 7, "steps[1].tool"),
    (CLUSTER_HEALTH.replace("description: 集群健康检查 — check a cluster's health\n", ""), 1, "description"),
])
def test_bad_workflow_file_is_one_line_with_file_line_field(confdir, capsys, tmp_path, broken, line, field):
    bad = tmp_path / "bad.yaml"
    bad.write_text(broken, encoding="utf-8")
    code, out, err = run_cli(capsys, "workflows", "validate", str(bad))
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"copilot: error: {bad}:{line}: {field}: "), lines[0]


def test_a_bad_file_in_the_config_dir_loads_nothing(confdir, capsys):
    (confdir / "items" / "zz-bad.yaml").write_text(CLUSTER_STATUS.replace("name: cluster_status", "name: other\nbogus: 1"), encoding="utf-8")
    code, out, err = run_cli(capsys, "items", "list")
    assert code == 1 and out == "" and "zz-bad.yaml:2: bogus: unknown field" in err


def test_items_paths_setting_adds_a_folder(confdir, capsys, tmp_path, monkeypatch):
    extra = tmp_path / "team-items"
    extra.mkdir()
    (extra / "other.yaml").write_text(CLUSTER_STATUS.replace("name: cluster_status", "name: cluster_status_b"), encoding="utf-8")
    monkeypatch.setenv("COPILOT_ITEMS_PATHS", str(extra))
    code, out, _ = run_cli(capsys, "items", "list", "--format", "json")
    assert code == 0
    names = {i["name"] for i in json.loads(out)["items"]}
    assert {"cluster_status", "cluster_status_b"} <= names


def _item(tmp_path: Path, text: str):
    from copilot.workflows.yamlspec import parse_spec
    from copilot.plugins.items.catalog import parse_item

    return parse_item(parse_spec(text, str(tmp_path / "x.yaml")))


async def test_bearer_auth_from_env_and_basic_from_a_secrets_file(api, tmp_path, monkeypatch):
    from copilot.plugins.items.catalog import run_item

    monkeypatch.setenv("CLUSTER_API", api.url)
    monkeypatch.setenv("API_TOKEN", "tok-123")
    item = _item(tmp_path, CLUSTER_STATUS.replace("/api/v1/cluster/", "/secure/api/v1/cluster/").replace(
        "  method: GET\n", "  method: GET\n  auth: {type: bearer, token_env: API_TOKEN}\n"))
    result = await run_item(item, {"cluster": "c1"}, (0.0, 60.0))
    assert len(result.findings) == 2 and api.requests[-1]["auth"] == "Bearer tok-123"
    monkeypatch.setenv("API_TOKEN", "wrong")
    with pytest.raises(Exception, match="HTTP 401"):
        await run_item(item, {"cluster": "c1"}, (0.0, 60.0))
    (tmp_path / "pw").write_text("pw-9\n")
    basic = _item(tmp_path, CLUSTER_STATUS.replace("/api/v1/cluster/", "/basic/").replace(
        "  method: GET\n", "  method: GET\n  auth: {type: basic, username: bot, password_file: pw}\n"))
    result = await run_item(basic, {"cluster": "c1"}, (0.0, 60.0))
    assert len(result.findings) == 2


async def test_retries_on_503_then_succeed(api, tmp_path, monkeypatch):
    from copilot.plugins.items.catalog import run_item

    monkeypatch.setenv("CLUSTER_API", api.url)
    item = _item(tmp_path, CLUSTER_STATUS.replace("/api/v1/cluster/", "/flaky/").replace("  method: GET\n", "  method: GET\n  retries: 3\n"))
    result = await run_item(item, {"cluster": "c1"}, (0.0, 60.0))
    assert len(result.findings) == 2
    assert sum(1 for r in api.requests if r["path"] == "/flaky/") == 3


async def test_filter_cannot_see_the_environment_and_is_time_limited(monkeypatch):
    from copilot.errors import CopilotError
    from copilot.plugins.items.jqfilter import run_filter

    monkeypatch.setenv("SUPER_SECRET", "hunter2")
    got = await run_filter("[env, $ENV] | tostring", {})
    assert "hunter2" not in json.dumps(got.outputs) and "SUPER_SECRET" not in json.dumps(got.outputs)
    with pytest.raises(CopilotError, match="longer than"):
        await run_filter("def f: f; f", {}, timeout_s=1.0)
    capped = await run_filter("range(100000)", {}, cap_bytes=200)
    assert capped.truncated and 0 < len(json.dumps(capped.outputs)) <= 200 + 2 * len(capped.outputs)


def test_contract_through_a_real_subprocess(confdir, api):
    """The installed entry point, as a user types it."""
    import os

    env = dict(os.environ, CLUSTER_API=api.url)
    proc = subprocess.run([sys.executable, "-m", "copilot", "items", "run", "cluster_status", "--param", "cluster=c1",
                           "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["findings"]) == 2


# -- chat-ops -----------------------------------------------------------------------------


def test_query_in_chinese_matches_the_workflow_and_runs_it(confdir, api, capsys):
    code, out, err = run_cli(capsys, "--query", "帮我看看集群 c1 的状态", "--offline", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["workflow"]["name"] == "cluster-health" and data["workflow"]["params"] == {"cluster": "c1"}
    assert "我将运行工作流 cluster-health：集群 c1" in err  # the echo, in the trace
    assert [f["summary"] for f in data["findings"]] == ["c1: 延迟过大，延迟为2.8s", "c1: 3 nodes NotReady"]
    assert data["report"]["language"] == "zh" and "延迟过大" in data["answer"]
    assert api.requests[-1]["query"]["cluster"] == "c1"


def test_english_question_with_a_time_window(confdir, api, capsys):
    code, out, err = run_cli(capsys, "--query", "check cluster prod-7 health between 10:00 and 10:30", "--offline",
                             "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["workflow"]["params"] == {"cluster": "prod-7"}
    start, end = data["window"]
    assert end - start == 1800
    assert "I'll run cluster-health for cluster prod-7" in err
    sent_start = api.requests[-1]["query"]["time_range"].split(",")[0]
    assert sent_start.endswith("10:00:00")


def test_match_needs_shared_words_and_every_required_param(tmp_path):
    from datetime import datetime, timezone

    from copilot.workflows.loader import parse_workflow
    from copilot.workflows.match import match_workflow
    from copilot.workflows.yamlspec import parse_spec

    wf = parse_workflow(parse_spec(CLUSTER_HEALTH, str(tmp_path / "w.yaml")))
    pods = parse_workflow(parse_spec(
        "name: pod-pending\ndescription: Pod pending 排查\nexamples: [为什么有 pod pending]\n"
        "params: {cluster: {type: string, required: true}}\nsteps: [{item: x}]\n", str(tmp_path / "p.yaml")))
    ref = datetime(2024, 1, 9, 18, 0, tzinfo=timezone.utc)
    m = match_workflow("帮我看看集群 c1 为什么有 pod pending", [wf, pods], "zh", reference=ref)
    assert m is not None and m.workflow.name == "pod-pending" and m.params == {"cluster": "c1"}
    assert match_workflow("集群有问题吗", [wf, pods], "zh", reference=ref) is None  # no cluster named
    assert match_workflow("why is checkout slow since 14:05?", [wf, pods], "en", reference=ref) is None
    assert match_workflow("cluster is down", [wf], "en", reference=ref) is None  # "is" is no cluster name
    m = match_workflow("cluster=c9 状态 17:20到17:40", [wf], "zh", reference=ref)
    assert m is not None and m.params == {"cluster": "c9"}
    assert m.window == (datetime(2024, 1, 9, 17, 20, tzinfo=timezone.utc).timestamp(),
                        datetime(2024, 1, 9, 17, 40, tzinfo=timezone.utc).timestamp())


# -- the plugin door ----------------------------------------------------------------------


async def test_items_plugin_turns_the_teams_items_into_read_only_tools(confdir, api):
    import tomllib

    from copilot.plugin_manager import load_plugins
    from copilot.tools import ToolContext
    from copilot.plugins.items_plugin import plugin

    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["sre_copilot.plugins"]
    assert eps["items"] == "copilot.plugins.items_plugin:plugin"
    loaded = load_plugins(extra=[plugin()], disabled={"items"})
    tool = loaded.registry.get("item_cluster_status")
    assert tool is not None and tool.risk == "read" and tool.parameters["required"] == ["cluster"]
    assert loaded.registry.get("item_pending_pods") is None  # bundled examples are not offered as tools
    ctx = ToolContext(window=(0.0, 3600.0))
    result = await loaded.registry.invoke("item_cluster_status", {"cluster": "c3"}, ctx)
    assert result.status == "ok" and [f.id for f in result.findings] == ["A1", "A2"]
    assert "[A1] c3: c3: 延迟过大，延迟为2.8s" in result.output
    assert api.requests[-1]["query"]["time_range"].startswith("1970-01-01")


def test_a_bad_item_file_fails_the_plugin_not_the_copilot(confdir, monkeypatch):
    from copilot.plugin_manager import Plugin, load_plugins

    (confdir / "items" / "bad.yaml").write_text("name: x\nkind: http\n", encoding="utf-8")

    class EP:
        name, value = "items", "copilot.plugins.items_plugin:plugin"

        def load(self):
            from copilot.plugins.items_plugin import plugin
            return plugin

    monkeypatch.setattr("copilot.plugin_manager._entry_points", lambda: [EP()])
    loaded = load_plugins()
    assert not any(isinstance(p, Plugin) and p.name == "items" for p in loaded.plugins)
    assert len(loaded.errors) == 1 and "bad.yaml:1: description: missing" in loaded.errors[0]
