"""The workflow engine: independent steps run concurrently (bounded), `if` skips, `foreach`
fans out over a drill-down list, registered tools run as steps, and the model step infers
root causes with a model (a local fake OpenAI server) or, offline, says the rule ranking
stands in. HTTP items run against a local server with per-request delays."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from copilot.config import Settings
from copilot.events import ActionProposed, FinalAnswer, Observation, Thought
from copilot.workflows.loader import parse_workflow
from copilot.workflows.run import run_workflow
from copilot.workflows.yamlspec import parse_spec
from copilot.plugins.items.catalog import Catalog, parse_item
from tests.fake_openai import FakeOpenAI
from tests.jsonserver import reply_json, serve, stop


class Server:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict, float]] = []
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def handler(self):
        srv = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with srv.lock:
                    srv.active += 1
                    srv.peak = max(srv.peak, srv.active)
                    srv.seen.append((parts.path, q, time.monotonic()))
                time.sleep(float(q.get("delay", 0)))
                if parts.path == "/nodes":
                    body = {"nodes": [{"name": "n1", "ready": False}, {"name": "n2", "ready": True}, {"name": "n3", "ready": False}]}
                elif parts.path == "/node":
                    body = {"name": q["node"], "events": [f"{q['node']}: kubelet stopped posting status"]}
                else:
                    body = {"problems": [f"{parts.path.strip('/')} problem"] if q.get("bad") == "1" else []}
                with srv.lock:
                    srv.active -= 1
                reply_json(self, 200, body)

            def log_message(self, *a):
                pass

        return H


@pytest.fixture
def server(monkeypatch):
    state = Server()
    httpd, url = serve(state.handler())
    monkeypatch.setenv("API", url)
    yield state
    stop(httpd)


def item(name: str, path: str, filt: str, params: str = "", query: str = "{}", extra: str = "") -> str:
    return (f"name: {name}\nkind: http\ndescription: {name} check\n{params}"
            f"request:\n  url: ${{env:API}}{path}\n  query: {query}\nfilter: '{filt}'\n{extra}")


def catalog(tmp_path: Path, *texts: str) -> Catalog:
    cat = Catalog()
    for i, text in enumerate(texts):
        it = parse_item(parse_spec(text, str(tmp_path / f"i{i}.yaml")))
        cat.items[it.name] = it
    return cat


def workflow(tmp_path: Path, text: str, cat: Catalog, tools: set[str] | None = None):
    return parse_workflow(parse_spec(text, str(tmp_path / "wf.yaml")), cat, tools)


async def collect(wf, params, **kw):
    events = [e async for e in run_workflow(wf, params, **kw)]
    final = next(e for e in events if isinstance(e, FinalAnswer))
    return events, final


async def test_independent_steps_run_concurrently_and_if_foreach_work(tmp_path, server):
    cat = catalog(
        tmp_path,
        item("a", "/a", ".problems", query='{delay: "0.4", bad: "1"}', extra="component: web\n"),
        item("b", "/b", ".problems", query='{delay: "0.4", bad: "1"}', extra="component: db\n"),
        item("c", "/c", ".problems", query='{delay: "0.4", bad: "0"}'),
        item("nodes", "/nodes", "[.nodes[] | select(.ready | not) | .name]"),
        item("node_events", "/node", ".events", params="params:\n  node: {type: string, required: true}\n",
             query='{node: "${node}"}', extra="component: ${node}\n"),
    )
    wf = workflow(tmp_path, """\
name: wf
description: test
steps:
  - item: a
  - item: b
  - item: c
  - id: notready
    item: nodes
  - id: per_node
    item: node_events
    foreach: flatten(steps.notready.output)
    with: {node: "${each}"}
  - id: only_if_c
    item: c
    if: steps.c_2.count > 0
  - model: true
""", cat)
    events, final = await collect(wf, {}, settings=Settings(offline=True), catalog=cat)
    assert server.peak >= 3  # a, b, c (0.4 s each) were in flight together
    d = final.diagnosis
    steps = {s["id"]: s for s in d["workflow"]["steps"]}
    assert steps["only_if_c"]["status"] == "skipped"
    assert steps["per_node"]["status"] == "ok"
    node_calls = sorted(q["node"] for p, q, _ in server.seen if p == "/node")
    assert node_calls == ["n1", "n3"]
    summaries = {f["component"]: f["summary"] for f in d["findings"] if f["component"] in ("n1", "n3")}
    assert summaries == {"n1": "n1: kubelet stopped posting status", "n3": "n3: kubelet stopped posting status"}
    ids = [f["id"] for f in d["findings"]]
    assert len(ids) == len(set(ids))
    # the model step, offline, says the rule ranking stands in
    assert any(isinstance(e, Thought) and e.agent == "rca" and "rule ranking stands in" in e.text for e in events)
    # each step's action carries its input
    per_node = [e for e in events if isinstance(e, ActionProposed) and e.call_id == "per_node"]
    assert sorted(e.arguments["node"] for e in per_node) == ["n1", "n3"]


async def test_concurrency_is_bounded(tmp_path, server):
    texts = [item(f"s{i}", f"/s{i}", ".problems", query='{delay: "0.2"}') for i in range(6)]
    cat = catalog(tmp_path, *texts)
    wf = workflow(tmp_path, "name: wf\ndescription: t\nsteps:\n" + "".join(f"  - item: s{i}\n" for i in range(6)), cat)
    await collect(wf, {}, settings=Settings(offline=True), catalog=cat, concurrency=2)
    assert server.peak == 2


async def test_tool_step_runs_a_registered_tool(tmp_path, server):
    from copilot.plugin_manager import load_plugins

    registry = load_plugins().registry
    cat = catalog(tmp_path, item("a", "/a", ".problems", query='{bad: "1"}'))
    from copilot.demo import ensure_demo

    wf = workflow(tmp_path, "name: wf\ndescription: t\nsteps:\n  - item: a\n  - tool: detect_metric_anomalies\n", cat,
                  set(registry.names()))
    from copilot.plugins.telemetry.files import load_directory

    data = ensure_demo()
    lo, hi = load_directory(data).time_range()  # a recorded incident: the window is the data's last hour
    events, final = await collect(wf, {}, settings=Settings(offline=True), catalog=cat, registry=registry, data_dir=data,
                                  window=(hi - 3600, hi))
    obs = [e for e in events if isinstance(e, Observation) and e.call_id == "detect_metric_anomalies_1"]
    assert obs and obs[0].status == "ok"
    sources = {f["source"] for f in final.diagnosis["findings"]}
    assert {"alerts", "metrics"} <= sources


async def test_model_step_uses_the_model_and_keeps_only_real_evidence(tmp_path, server):
    cat = catalog(tmp_path, item("a", "/a", ".problems", query='{bad: "1"}', extra="component: web\n"))
    prompt = tmp_path / "my-prompt.md"
    prompt.write_text("TEAM TEMPLATE for {workflow}\n{findings}\n{experiences}\nJSON only.\n{language}")
    wf = workflow(tmp_path, "name: wf\ndescription: pod pending check\nsteps:\n  - item: a\n  - model: {prompt: my-prompt.md}\n", cat)
    with FakeOpenAI(models=["m"]) as fake:
        fake.reply(json.dumps({"thought": "web is broken", "root_causes": [
            {"component": "web", "fault_type": "code_exception", "confidence": 0.9, "evidence": ["A1"], "reasons": ["a problem"]},
            {"component": "ghost", "fault_type": "disk_full", "confidence": 0.8, "evidence": ["X9"], "reasons": []}]}))
        events, final = await collect(wf, {}, settings=Settings(base_url=fake.base_url, model="m"), catalog=cat)
        sent = fake.chat_requests[0]["messages"][0]["content"]
    assert sent.startswith("TEAM TEMPLATE for wf") and "[A1] alerts web a: a problem" in sent
    assert "Pod pending" in sent  # the retrieved expert experience
    causes = final.diagnosis["root_causes"]
    assert [(c["component"], c["fault_type"]) for c in causes] == [("web", "code_exception")]
    assert "web" in final.answer and "[A1]" in final.answer
