"""Chat-ops with a model: a workflow's parameters read by structured output (a JSON schema
from the workflow's typed parameters) from a scripted OpenAI-compatible local server, then
validated and echoed; the offline reading stays the fallback. The workflow's item runs
against the local platform API of tests/test_items_workflows.py."""

from __future__ import annotations

import dataclasses
import json

import pytest

from copilot.config import Settings
from copilot.events import FinalAnswer, Thought
from copilot.workflows.chatops import workflow_events
from copilot.workflows.extract import param_schema, validate
from copilot.workflows.loader import load_workflows
from copilot.plugins.items.catalog import load_catalog
from tests.fake_openai import FakeOpenAI
from tests.test_items_workflows import Api, api, confdir  # noqa: F401


@pytest.fixture
def model():
    with FakeOpenAI(models=["chatops-test"]) as fake:
        yield fake


def settings_for(model: FakeOpenAI) -> Settings:
    return dataclasses.replace(Settings(), base_url=model.base_url, model="chatops-test", api_key="sk-test",
                               request_timeout=5.0, retries=1, memory=False)


async def run(question: str, settings: Settings) -> tuple[list[str], dict | None]:
    thoughts, final = [], None
    async for event in workflow_events(question, settings, on_finish=lambda run: None):
        if isinstance(event, Thought):
            thoughts.append(event.text)
        elif isinstance(event, FinalAnswer):
            final = event.diagnosis
    return thoughts, final


async def test_the_model_reads_what_the_offline_reading_misses(confdir, api: Api, model):
    question = "c7 这个集群现在健康吗？"  # the value before the word: the offline reading finds no cluster
    offline, _ = await run(question, Settings())
    assert offline == []  # no workflow offline: a required parameter is missing
    model.reply(json.dumps({"cluster": "c7"}))
    thoughts, final = await run(question, settings_for(model))
    (request,) = model.chat_requests
    schema = request["response_format"]["json_schema"]["schema"]
    assert schema["properties"] == {"cluster": {"type": ["string", "null"]}} and schema["required"] == ["cluster"]
    assert "cluster-health" in request["messages"][0]["content"] and question in request["messages"][0]["content"]
    assert thoughts[0].startswith("我将运行工作流 cluster-health：集群 c7，时间 ")
    assert thoughts[1] == "参数由模型按结构化输出读出并校验：cluster=c7。"
    assert final is not None and final["workflow"]["params"] == {"cluster": "c7"}
    assert [r["query"]["cluster"] for r in api.requests] == ["c7"]


async def test_an_invented_value_is_dropped_and_the_offline_one_kept(confdir, api: Api, model):
    model.reply(json.dumps({"cluster": "prod-9"}))
    thoughts, final = await run("帮我看看集群 c1 的状态", settings_for(model))
    assert "丢弃：cluster: 'prod-9' is not in the question。" in thoughts[1]
    assert final["workflow"]["params"] == {"cluster": "c1"}
    assert [r["query"]["cluster"] for r in api.requests] == ["c1"]


async def test_a_failing_model_leaves_the_offline_reading(confdir, api: Api, model):
    model.error(500, "model overloaded")
    thoughts, final = await run("please check the health of cluster c3", settings_for(model))
    assert thoughts[1].startswith("The model could not read the parameters (")
    assert thoughts[1].endswith("read offline instead.")
    assert final["workflow"]["params"] == {"cluster": "c3"}


def test_schema_and_validation_follow_the_typed_params(confdir):
    from copilot.workflows.loader import parse_workflow
    from copilot.workflows.yamlspec import parse_spec

    catalog = load_catalog(Settings())
    wf = parse_workflow(parse_spec("name: w\ndescription: d\nparams:\n  cluster: {type: string, required: true}\n"
                                   "  level: {type: enum, values: [low, high]}\n  top: {type: int, default: 5}\n"
                                   "steps:\n  - item: cluster_status\n", "w.yaml"), catalog)
    schema = param_schema(wf)
    assert schema["properties"]["level"] == {"type": ["string", "null"], "enum": ["low", "high", None]}
    assert schema["properties"]["top"] == {"type": ["integer", "null"]}
    got = validate(wf, {"cluster": "c2", "level": "extreme", "top": "3", "other": "x"}, "cluster c2, top 3")
    assert got.values == {"cluster": "c2", "top": 3}
    assert set(got.rejected) == {"level"} and "must be one of low, high" in got.rejected["level"]
    assert load_workflows(Settings(), catalog)  # the bundled and the test's workflows still load
