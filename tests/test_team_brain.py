"""TeamBrain against a real local HTTP server speaking the chat-completions API: each role's
model reply is scripted; the tools are the real telemetry (and knowledge) plugins on the demo."""

from __future__ import annotations

import dataclasses
import json

import pytest

from copilot.agent import Agent, Budget
from copilot.brains import team_roles as roles
from copilot.brains.team import MAX_ROUNDS, TeamBrain
from copilot.brains.team_model import FieldStreamer, read_json_object
from copilot.config import Settings
from copilot.demo import ensure_demo
from copilot.diagnosis import Finding, RootCause
from copilot.events import AnswerDelta, FinalAnswer, RunFailed, Thought, ThoughtDelta, Usage
from copilot.report import summary_head
from copilot.tools import ToolContext, ToolRegistry, ToolResult, tool
from copilot.plugins.kb_plugin import plugin as kb_plugin
from copilot.plugins.telemetry_plugin import plugin as telemetry_plugin
from tests.fake_openai import FakeOpenAI
from tests.kb_fixtures import embedder, kb_settings, store  # noqa: F401

QUESTION = "Why is the shop slow since 13:29 UTC?"  # the demo: cpu_saturation injected into catalogue


@pytest.fixture
def server():
    with FakeOpenAI(models=["team-test"]) as fake:
        yield fake


def settings_for(server: FakeOpenAI, base: Settings | None = None, **kw) -> Settings:
    values = dict(base_url=server.base_url, model="team-test", api_key="sk-test", request_timeout=5.0, retries=1, memory=False)
    values.update(kw)
    return dataclasses.replace(base or Settings(), **values)


def registry(*, knowledge: bool = False, extra=()) -> ToolRegistry:
    reg = ToolRegistry()
    for t in list(telemetry_plugin.tools) + (list(kb_plugin.tools) if knowledge else []) + list(extra):
        reg.add(t)
    return reg


async def run(settings: Settings, reg: ToolRegistry, question: str = QUESTION, max_steps: int = 16):
    ctx = ToolContext(data_dir=ensure_demo("cpu_saturation"), settings=settings)
    events = [e async for e in Agent(TeamBrain(settings), reg, ctx, budget=Budget(max_steps=max_steps)).run(question)]
    return events, ctx


def final(events) -> FinalAnswer:
    done = [e for e in events if isinstance(e, FinalAnswer)]
    assert done, [e for e in events if isinstance(e, RunFailed)]
    return done[0]


def thoughts(events) -> list[Thought]:
    return [e for e in events if isinstance(e, Thought)]


def reply_json(server: FakeOpenAI, obj: dict, **kw) -> None:
    server.reply(json.dumps(obj, ensure_ascii=False), **kw)


def rca(component="catalogue", kind="cpu_saturation", evidence=("M3", "M1"), **extra) -> dict:
    cause = {"component": component, "fault_type": kind, "confidence": 0.9, "evidence": list(evidence),
             "reasons": ["its CPU went to 97% first"], "contradicting": []}
    return {"thought": "The CPU of catalogue saturated first.", "root_causes": [cause], "novel": False,
            "mechanism": "", **extra}


KEEP = {"thought": "Its CPU signature is there and it began first.", "verdict": "keep", "refuted_by": "normal CPU"}


# -- the whole team, in order ----------------------------------------------------------
async def test_roles_act_through_native_tool_calls_and_see_their_results(server, kb_settings):
    server.reply("Catalogue's CPU looks hot; I check its series and logs.", arg_chunk=3, tool_calls=[
        {"id": "call_a", "name": "get_metric_series", "arguments": {"component": "Catalogue", "metric": "cpu"}},
        {"id": "call_b", "name": "detect_metric_anomalies", "arguments": {}},  # the detectors phase already ran this
        {"id": "call_c", "name": "detect_log_anomalies", "arguments": {"component": "catalogue service"}},
    ])
    server.reply("", arg_chunk=4, tool_calls=[{"id": "call_kb", "name": "kb_search",
                                               "arguments": {"query": "catalogue cpu saturation", "k": 2}}])
    reply_json(server, rca(evidence=("M3", "M1", "Z99")), usage={"prompt_tokens": 900, "completion_tokens": 80})
    reply_json(server, KEEP)
    server.reply("Catalogue's CPU saturated at 13:26 [M3] and slowed the shop [M1] [Q42]. Restart catalogue.")
    s = settings_for(server, kb_settings)
    events, ctx = await run(s, registry(knowledge=True))

    agents = [t.agent for t in thoughts(events)]
    assert agents == ["host", "data-sources", "rca", "data-sources", "rca", "rca", "rca", "reflection", "report"]
    drill_req, rca_req1, rca_req2, reflect_req, summary_req = server.chat_requests

    # the data-source agents start from where the firing alerts point (the host's reading)
    assert "Firing alerts point to:\n- traces: HighLatency on frontend" in drill_req["messages"][1]["content"]

    # every request of a role's loop offers that role's own tools
    offered = {t["function"]["name"] for t in drill_req["tools"]}
    assert "get_metric_series" in offered and "kb_search" not in offered and "rank_root_causes" not in offered
    assert {t["function"]["name"] for t in rca_req1["tools"]} == {"kb_search", "get_runbook", "similar_incidents"}
    assert "tools" not in reflect_req and "tools" not in summary_req

    drill = thoughts(events)[3]
    actions = [e for e in events if getattr(e, "step", None) == drill.step and type(e).__name__ == "ActionProposed"]
    assert [(a.tool, a.arguments) for a in actions] == [
        ("get_metric_series", {"component": "catalogue", "metric": "cpu"}),
        ("detect_log_anomalies", {"component": "catalogue"}),
    ]  # arguments streamed in fragments were put together; the repeated scan dropped, names fixed
    assert "already done" in drill.text
    keys = [roles.finding_key(f) for f in ctx.findings]
    assert len(keys) == len(set(keys))  # re-detected findings under new ids were dropped
    assert "no new finding" in thoughts(events)[4].text  # so the drill-down stopped after one round

    # the RCA agent's tool call ran, and its result went back to the model in its next request
    kb_results = [e for e in events if type(e).__name__ == "Observation" and e.tool == "kb_search"]
    assert len(kb_results) == 2  # the knowledge phase's search, then the RCA agent's own
    messages = rca_req2["messages"]
    call_msg = [m for m in messages if m["role"] == "assistant" and m.get("tool_calls")]
    assert call_msg and call_msg[-1]["tool_calls"][0]["id"] == "call_kb"
    assert json.loads(call_msg[-1]["tool_calls"][0]["function"]["arguments"]) == {"query": "catalogue cpu saturation", "k": 2}
    tool_msg = messages[-1]
    assert tool_msg["role"] == "tool" and tool_msg["tool_call_id"] == "call_kb"
    assert tool_msg["content"].startswith("[ok]") and kb_results[-1].output[:80] in tool_msg["content"]
    assert "role" in rca_req1["messages"][1] and "Rule ranking:" in rca_req1["messages"][1]["content"]

    answer = final(events)
    top = answer.diagnosis["root_causes"][0]
    assert (top["component"], top["fault_type"]) == ("catalogue", "cpu_saturation")
    ids = {f["id"] for f in answer.diagnosis["findings"]}
    assert set(top["evidence"]) <= ids and "Z99" not in top["evidence"]
    report = answer.diagnosis["report"]
    assert report["summary"].startswith("Catalogue's CPU saturated") and "[M3]" in report["summary"]
    assert "Q42" not in report["summary"] and "Q42" in thoughts(events)[-1].text
    assert any("model reflection: keep" in n for n in report["reflection"])
    streamed = "".join(e.text for e in events if isinstance(e, AnswerDelta))
    assert streamed.startswith(summary_head(report)) and answer.answer.startswith(streamed.replace(" [Q42]", ""))
    for heading in ("## Summary", "1. When", "2. Faulty", "3. How", "4. Most likely", "5. Recommended"):
        assert heading in answer.answer

    rca_thought = thoughts(events)[6]
    deltas = "".join(e.text for e in events if isinstance(e, ThoughtDelta) and e.step == rca_thought.step)
    assert deltas == rca_thought.text and "The CPU of catalogue saturated first." in deltas
    usage = [e for e in events if isinstance(e, Usage)]
    assert len(usage) == 5 and any(u.total_tokens == 980 for u in usage)
    assert all(r["model"] == "team-test" and "response_format" not in r for r in server.chat_requests)


async def test_roles_act_through_the_text_protocol_when_the_model_writes_calls_as_text(server, kb_settings):
    server.reply('Thought: catalogue CPU first.\nAction: get_metric_series\nAction Input: {"component": "catalogue", "metric": "cpu"}')
    server.reply('Thought: is there a runbook?\nAction: kb_search\nAction Input: {"query": "cpu saturation", "k": 2}')
    server.reply("Thought: the runbook fits.\nFinal Answer: " + json.dumps(rca()))
    reply_json(server, KEEP)
    server.reply("Catalogue's CPU saturated [M3].")
    s = settings_for(server, kb_settings)
    events, _ = await run(s, registry(knowledge=True))
    drill_req, rca_req1, rca_req2, _, _ = server.chat_requests
    assert "tools" in drill_req  # native first ...
    assert "tools" not in rca_req1 and "Action Input" in rca_req1["messages"][0]["content"]  # ... then text, remembered
    assert "kb_search" in rca_req1["messages"][0]["content"] and rca_req1["stop"]
    last = rca_req2["messages"][-1]
    kb = [e for e in events if type(e).__name__ == "Observation" and e.tool == "kb_search"][-1]
    assert last["role"] == "user" and last["content"].startswith("Observation: [ok]") and kb.output[:60] in last["content"]
    assert rca_req2["messages"][-2]["content"].startswith("Thought: is there a runbook?\nAction: kb_search")
    series = [e for e in events if type(e).__name__ == "ActionProposed" and e.tool == "get_metric_series"]
    assert series and series[0].arguments == {"component": "catalogue", "metric": "cpu"}
    top = final(events).diagnosis["root_causes"][0]
    assert (top["component"], top["fault_type"]) == ("catalogue", "cpu_saturation")


async def test_a_wrong_cause_from_the_model_is_overruled_by_the_evidence(server):
    server.reply("The findings are clear enough.")
    wrong = rca(component="payment", kind="disk_full", evidence=("X1",))
    wrong["root_causes"][0]["confidence"] = 1.0
    reply_json(server, wrong)
    reply_json(server, {"thought": "payment it is", "verdict": "revise", "component": "payment", "fault_type": "disk_full"})
    server.reply("I think the database is overloaded. Restart it.")  # cites nothing
    events, _ = await run(settings_for(server), registry())
    answer = final(events)
    top = answer.diagnosis["root_causes"][0]
    assert (top["component"], top["fault_type"]) == ("catalogue", "cpu_saturation")  # the offline answer stands
    assert any("rules floor" in n or "kept catalogue" in n for n in answer.diagnosis["report"]["reflection"]) or \
        any("kept catalogue" in t.text for t in thoughts(events))
    assert "summary" not in answer.diagnosis["report"] and "database is overloaded" not in answer.answer
    assert "cited no evidence id" in thoughts(events)[-1].text


async def test_a_model_may_reorder_with_resolving_evidence():
    findings = [Finding("M1", "metrics", "cart", "cpu_usage", "spike", "cart cpu_usage rose 3x", 9.0, 100.0),
                Finding("M2", "metrics", "db", "disk_used", "trend", "db disk usage 99%", 5.0, 90.0)]
    rules = [RootCause("cart", "cpu_saturation", 0.7, ["M1"]), RootCause("db", "disk_full", 0.5, ["M2"])]
    model = [RootCause("db", "disk_full", 0.9, ["M2"]), RootCause("cart", "cpu_saturation", 0.3, ["M1"])]
    merged = roles.merge_rankings(model, rules)
    moved, why = roles.floor(merged, rules, findings, {"db": ["M2"]})
    assert moved[0].component == "db" and why == ""
    held, why = roles.floor(merged, rules, findings, {"db": []})
    assert held[0].component == "cart" and "no evidence id" in why
    wrong_kind = [RootCause("db", "memory_leak", 0.9, ["M2"])] + rules
    held, why = roles.floor(wrong_kind, rules, findings, {"db": ["M2"]})
    assert held[0].component == "cart" and "memory_leak signature is missing" in why
    stranger = [RootCause("web", "cpu_saturation", 0.9, ["M1"])] + rules
    assert roles.floor(stranger, rules, findings, {"web": ["M1"]})[0][0].component == "cart"


async def test_with_no_rule_cause_a_model_cause_needs_evidence_a_confounder_does_not_explain():
    cpu = Finding("M1", "metrics", "orders-db", "CPUUtilization", "level_shift", "CPU 25% -> 85%", 94.0, 100.0)
    checkpoint = Finding("D1", "database", "orders-db", "maintenance", "maintenance", "checkpoint 11:30-11:40", 0.0, 100.0,
                         {"confounder": True, "explains": ["CPUUtilization"]})
    model = [RootCause("orders-db", "cpu_saturation", 0.8, ["M1"])]
    kept, why = roles.floor(model, [], [cpu, checkpoint], {"orders-db": ["M1", "D1"]})
    assert kept == [] and "cites no evidence of its own" in why and "orders-db / cpu_saturation" in why
    # the same claim on a CPU rise nothing explains stands: the model may add what the rules missed
    kept, why = roles.floor(model, [], [cpu], {"orders-db": ["M1"]})
    assert [c.component for c in kept] == ["orders-db"] and why == ""
    # but not on an id it did not cite, nor with the signature of another kind
    assert roles.floor(model, [], [cpu], {"orders-db": []})[0] == []
    assert roles.floor([RootCause("orders-db", "disk_full", 0.8, ["M1"])], [], [cpu], {"orders-db": ["M1"]})[0] == []
    # nor on alerts, nor on a fault the platform detector checked and ruled out (a node Ready again)
    alert = Finding("A1", "alerts", "node-3", "KubeNodeNotReady", "alert", "alert fired on node-3", 0.0, 100.0)
    flapped = Finding("K2", "platform", "node-3", "node", "ruled_out", "node-3 NotReady 2 min, Ready since 10:27",
                      0.0, 100.0, {"fault_kind": "", "active": False})
    node = [RootCause("node-3", "node_not_ready", 0.9, ["A1", "K2"])]
    assert roles.floor(node, [], [alert, flapped], {"node-3": ["A1", "K2"]})[0] == []


async def test_drill_down_rounds_are_capped_and_repeats_skipped(server):
    seen: list[str] = []

    @tool
    def probe(component: str, ctx: ToolContext = None) -> ToolResult:
        """Look deeper at one component.

        Args:
            component: the component
        """
        seen.append(component)
        n = len(seen)
        f = Finding(f"P{n}", "metrics", component, f"probe_{n}", "spike", f"{component} probe {n} spiked", 5.0, None)
        return ToolResult.ok(f"P{n} {f.summary}", findings=[f])

    for comp in ("cart", "payment", "db", "cache"):
        server.reply("more", tool_calls=[{"name": "probe", "arguments": {"component": comp}},
                                         {"name": "probe", "arguments": {"component": comp}}])
    reply_json(server, rca())
    reply_json(server, KEEP)
    server.reply("Catalogue CPU [M3].")
    events, _ = await run(settings_for(server), registry(extra=[probe]))
    assert seen == ["cart", "payment", "db"]  # MAX_ROUNDS rounds, each call once
    assert MAX_ROUNDS == 3
    drills = [t for t in thoughts(events) if "Drill-down (round" in t.text]
    assert len(drills) == 3
    assert any("ranking the root causes again" in t.text for t in thoughts(events))
    assert len(server.chat_requests) == 6
    third = server.chat_requests[2]["messages"]
    assert [m["content"] for m in third if m["role"] == "tool"] == ["[ok] P1 cart probe 1 spiked", "[ok] P2 payment probe 2 spiked"]
    assert final(events).diagnosis["root_causes"][0]["component"] == "catalogue"


async def test_model_with_enough_skips_the_drill_down(server):
    server.reply("Clear enough: catalogue's CPU [M3].")
    reply_json(server, rca())
    reply_json(server, KEEP)
    server.reply("Catalogue CPU [M3].")
    events, _ = await run(settings_for(server), registry())
    assert not any("Drill-down (round" in t.text for t in thoughts(events))
    assert "the evidence is enough" in thoughts(events)[3].text


# -- fallbacks ---------------------------------------------------------------------------
@pytest.mark.parametrize("reply", [
    "I think the database is the problem.",  # no JSON at all
    json.dumps({"thought": "x", "root_causes": [{"component": "mysql-primary", "fault_type": "cpu_saturation"}]}),
    '{"thought": "x", "root_causes": [',  # cut off
])
async def test_unusable_rca_output_falls_back_to_the_rule_ranking(server, reply):
    server.reply("Enough.")
    server.reply(reply)
    reply_json(server, KEEP)
    server.reply("Catalogue CPU [M3].")
    events, _ = await run(settings_for(server), registry())
    rca_step = [t for t in thoughts(events) if t.agent == "rca"][-1]
    assert "unusable" in rca_step.text and "rule ranking" in rca_step.text
    top = final(events).diagnosis["root_causes"][0]
    assert (top["component"], top["fault_type"]) == ("catalogue", "cpu_saturation")


async def test_a_model_failing_mid_run_leaves_the_rules_to_finish(server):
    server.reply("Enough.")
    server.error(500, "model crashed")
    events, _ = await run(settings_for(server), registry())
    assert "The model failed" in " ".join(t.text for t in thoughts(events))
    from copilot.events import ModelFailed

    failed = [e for e in events if isinstance(e, ModelFailed)]  # one structured event, for --quiet and JSON
    assert len(failed) == 1 and "model crashed" in failed[0].error and failed[0].to_dict()["kind"] == "model_failed"
    answer = final(events)
    assert answer.diagnosis["root_causes"][0]["component"] == "catalogue"
    assert "summary" not in answer.diagnosis["report"]
    warning = [line for line in answer.answer.splitlines() if "became unavailable mid-run" in line]
    assert len(warning) == 1 and "rules' result" in warning[0] and answer.answer.startswith(warning[0])


async def test_the_run_header_names_the_model_the_server_offered(server):
    server.reply("Enough.")
    reply_json(server, rca())
    reply_json(server, KEEP)
    server.reply("Catalogue CPU [M3].")
    events, _ = await run(settings_for(server, model=""), registry())
    started = events[0]
    assert type(started).__name__ == "RunStarted" and started.model == "team-test"
    assert all(r["model"] == "team-test" for r in server.chat_requests)


async def test_a_model_down_from_its_first_call_still_leaves_the_rule_result(server):
    server.error(503, "loading model")
    events, _ = await run(settings_for(server), registry())
    answer = final(events)
    assert not [e for e in events if isinstance(e, RunFailed)]
    assert answer.diagnosis["root_causes"][0]["component"] == "catalogue"
    warning = [line for line in answer.answer.splitlines() if "became unavailable" in line]
    assert len(warning) == 1 and "HTTP 503" in warning[0] and answer.answer.startswith(warning[0])


async def test_an_unreachable_model_fails_the_run_with_one_line(server):
    server.error(401, "bad key")
    events, _ = await run(settings_for(server), registry())
    failed = [e for e in events if isinstance(e, RunFailed)]
    assert failed and "API key" in failed[0].error


async def test_a_tight_step_budget_skips_the_optional_model_roles(server):
    server.reply("Catalogue CPU [M3].")
    events, _ = await run(settings_for(server), registry(), max_steps=5)
    assert [t.agent for t in thoughts(events)] == ["host", "data-sources", "rca", "report"]
    assert len(server.chat_requests) == 1 and final(events).diagnosis["report"]["summary"]


# -- unknown faults, JSON schema, Chinese -------------------------------------------------
async def test_novel_fault_when_the_knowledge_base_has_nothing(server):
    server.reply("Enough.")
    reply_json(server, rca(kind="unknown", novel=True,
                           mechanism="a runaway batch job on the catalogue host starves request threads",
                           confirm="a batch process at the top of the host's CPU table from 13:26"))
    reply_json(server, KEEP)
    server.reply("A novel fault in catalogue [M3].")
    events, _ = await run(settings_for(server), registry())  # no knowledge tools: nothing can fit
    assert "consider a novel fault" in server.chat_requests[1]["messages"][1]["content"]
    answer = final(events)
    top = answer.diagnosis["root_causes"][0]
    assert top["fault_type"] == "cpu_saturation"  # the model could not classify it; the rules could
    assert "novel fault" in top["reasons"][0] and "runaway batch job" in top["reasons"][0]
    assert "runaway batch job" in answer.answer
    assert "Hypothesis (unconfirmed) of its mechanism: a runaway batch job" in top["reasons"][0]
    assert "What would confirm it: a batch process at the top" in answer.answer


async def test_json_schema_response_format_when_enabled(server, kb_settings):
    server.reply("Enough.")
    reply_json(server, rca())
    reply_json(server, KEEP)
    server.reply("Catalogue CPU [M3].")
    events, _ = await run(settings_for(server, kb_settings, response_format=True), registry(knowledge=True))
    final(events)
    drill, rca_req, reflect_req, summary_req = server.chat_requests
    # the acting roles call tools natively; the single-shot roles get the JSON schema
    assert "tools" in drill and "tools" in rca_req and "response_format" not in rca_req
    assert reflect_req["response_format"]["type"] == "json_schema" and "response_format" not in summary_req
    verdict = reflect_req["response_format"]["json_schema"]["schema"]["properties"]["verdict"]
    assert verdict["enum"] == ["keep", "revise", "demote"]


async def test_text_protocol_with_json_schema_when_the_model_cannot_call_tools(server, kb_settings):
    server.reply('{"name": "get_metric_series", "arguments": {"component": "catalogue", "metric": "cpu"}}')
    reply_json(server, {"thought": "clear", "final_answer": json.dumps(rca())})
    reply_json(server, KEEP)
    server.reply("Catalogue CPU [M3].")
    events, _ = await run(settings_for(server, kb_settings, response_format=True), registry(knowledge=True))
    drill, rca_req, _, _ = server.chat_requests
    assert "tools" in drill and "tools" not in rca_req  # the JSON call in the text switched the protocol
    schema = rca_req["response_format"]["json_schema"]["schema"]
    assert set(schema["anyOf"][0]["properties"]["action"]["enum"]) == {"kb_search", "get_runbook", "similar_incidents"}
    top = final(events).diagnosis["root_causes"][0]
    assert (top["component"], top["fault_type"]) == ("catalogue", "cpu_saturation")


async def test_chinese_investigation_writes_chinese(server):
    reply_json(server, {"thought": "证据已足够。", "enough": True, "calls": []})
    reply_json(server, rca())
    reply_json(server, {"thought": "CPU 特征存在，且最先异常。", "verdict": "keep"})
    server.reply("catalogue 的 CPU 在 13:26 打满 [M3]，导致整体变慢。建议立即重启。")
    events, _ = await run(settings_for(server), registry(), question="为什么商城从13:29开始变慢？")
    assert "简体中文" in server.chat_requests[0]["messages"][0]["content"]
    assert thoughts(events)[0].text.startswith("[规则]")
    answer = final(events).answer
    assert "## 摘要" in answer and "一、各类告警/异常的开始时间" in answer and "[M3]" in answer


# -- knowledge questions --------------------------------------------------------------------
async def local_ids(s: Settings, question: str) -> list[str]:
    """The ids kb_search returns for a question (what the brain will show the model)."""
    result = await registry(knowledge=True).invoke("kb_search", {"query": question, "k": 3}, ToolContext(settings=s))
    return [e["id"] for e in (result.data or [])]


async def test_knowledge_answer_cites_local_entries_only(server, kb_settings):
    s = settings_for(server, kb_settings)
    question = "How do I handle a disk full alert?"
    cite = (await local_ids(s, question))[0]
    server.reply(f"Delete old logs and expand the volume [{cite}]; see also [exp-made-up-1].")
    events, _ = await run(s, registry(knowledge=True), question=question)
    assert [t.agent for t in thoughts(events)] == ["host", "host"]
    prompt = server.chat_requests[0]["messages"][1]["content"]
    assert f"[{cite}]" in prompt and "disk" in prompt.lower()
    answer = final(events).answer
    assert f"[{cite}]" in answer and "exp-made-up-1" not in answer
    assert f"Source: the local knowledge base [{cite}]" in answer
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)).startswith("Delete old logs")


async def test_knowledge_answer_says_when_the_local_knowledge_has_none(server, kb_settings):
    server.reply("The local knowledge base has no answer. In general, Kafka consumer lag means consumers fall behind.")
    s = settings_for(server, kb_settings)
    events, _ = await run(s, registry(knowledge=True), question="What is Kafka consumer lag in Flink checkpoints?")
    answer = final(events).answer
    prompt = server.chat_requests[0]["messages"][1]["content"]
    if "(none:" in prompt:
        assert "the local knowledge base has nothing on this" in answer
    else:  # something came back, but the model cited none of it
        assert "entries do not answer this" in answer
    assert "Source: the model's general knowledge" in answer


async def test_a_knowledge_question_naming_the_local_source_never_gets_general_knowledge(server, kb_settings):
    server.reply("In general, Kafka consumer lag means consumers fall behind the producers.")
    s = settings_for(server, kb_settings)
    question = "What is Kafka consumer lag in Flink checkpoints? 请参考local的数据源"
    events, _ = await run(s, registry(knowledge=True), question=question)
    answer = final(events).answer
    assert "Source: the model's general knowledge" not in answer and "In general, Kafka" not in answer
    assert answer.startswith(("The local knowledge base has nothing", "From the local knowledge base"))
    assert thoughts(events)[-1].text.endswith("answering from the local knowledge base only.")


async def test_chinese_knowledge_question(server, kb_settings):
    s = settings_for(server, kb_settings)
    question = "如何处理磁盘写满的问题？"
    cite = (await local_ids(s, question))[0]
    server.reply(f"清理旧日志并扩容磁盘 [{cite}]。")
    events, _ = await run(s, registry(knowledge=True), question=question)
    answer = final(events).answer
    assert f"来源：本地知识库 [{cite}]" in answer
    assert "简体中文" in server.chat_requests[0]["messages"][0]["content"]


async def test_knowledge_question_without_a_knowledge_base_uses_general_knowledge(server):
    server.reply("A runbook is a written procedure for a known operational task.")
    events, _ = await run(settings_for(server), registry(), question="What is a runbook?")
    answer = final(events).answer
    assert "local knowledge base has nothing on this" in answer
    assert "(none:" in server.chat_requests[0]["messages"][1]["content"]


# -- the checks, one by one -------------------------------------------------------------------
FINDINGS = [
    Finding("M1", "metrics", "payment", "cpu_usage", "level_shift", "payment cpu rose", 12.0, 1000.0),
    Finding("M2", "metrics", "checkout", "latency_p90", "spike", "checkout latency rose", 8.0, 1060.0),
    Finding("L1", "logs", "checkout", "NullPointerException <*>", "error_surge", "checkout exceptions", 5.0, 1000.0),
]


def test_rca_reply_is_validated():
    data = {"root_causes": [
        {"component": "Payment service", "fault_type": "CPU saturation", "confidence": 3, "evidence": ["[M1]", "Z9", "M2"],
         "contradicting": ["latency normal"]},
        {"component": "mysql", "fault_type": "disk_full", "confidence": 0.5, "evidence": ["M1"]},
        {"component": "checkout", "fault_type": "weird stuff", "confidence": "high", "evidence": []},
    ]}
    causes, problem = roles.read_rca(data, ["payment", "checkout"], FINDINGS)
    assert problem == ""
    assert [(c.component, c.fault_type, c.confidence) for c in causes] == [
        ("payment", "cpu_saturation", 1.0), ("checkout", "unknown", 0.5)]
    assert causes[0].evidence == ["M1", "M2"] and "against: latency normal" in causes[0].reasons
    assert causes[1].evidence == ["M2", "L1"]  # no valid id given: its own strongest findings
    assert roles.read_rca({"root_causes": [{"component": "mysql"}]}, ["payment"], FINDINGS)[0] == []


def test_merge_weighs_model_and_rules_and_keeps_rule_kinds_for_unknown():
    rules = [RootCause("payment", "cpu_saturation", 0.8, ["M1"]), RootCause("checkout", "code_exception", 0.3, ["L1"])]
    model = [RootCause("checkout", "unknown", 0.9, ["M2"]), RootCause("payment", "cpu_saturation", 0.4, ["M1"])]
    merged = roles.merge_rankings(model, rules)
    assert [(c.component, c.fault_type, c.confidence) for c in merged] == [
        ("checkout", "code_exception", 0.6), ("payment", "cpu_saturation", 0.6)]
    alone = roles.merge_rankings([RootCause("db", "disk_full", 1.0, [])], rules)
    assert [c.component for c in alone] == ["db", "payment", "checkout"] and alone[1].confidence == 0.4


def test_a_novel_fault_stays_unknown_when_the_models_kind_lacks_its_signature():
    from copilot.diagnosis import Finding

    findings = [Finding("M1", "metrics", "search", "open_fds", "trend", "search open_fds rose 9x", 9.0, 100.0),
                Finding("M2", "metrics", "search", "cpu_usage", "spike", "search cpu_usage rose 3x", 5.0, 100.0)]
    rules = [RootCause("search", "unknown", 0.6, ["M1"])]
    guessed = roles.merge_rankings([RootCause("search", "network_delay", 0.9, ["M1"])], rules, findings=findings)
    assert guessed[0].fault_type == "unknown" and "signature is missing" in guessed[0].reasons[-1]
    backed = roles.merge_rankings([RootCause("search", "cpu_saturation", 0.9, ["M2"])], rules, findings=findings)
    assert backed[0].fault_type == "cpu_saturation"


def test_reflection_verdicts_must_be_backed_by_the_data():
    causes = [RootCause("checkout", "cpu_saturation", 0.8, ["M2"]), RootCause("payment", "cpu_saturation", 0.5, ["M1"])]
    revised, verdict, _ = roles.apply_verdict(causes, {"verdict": "revise", "fault_type": "code_exception"}, FINDINGS,
                                              ["payment", "checkout"])
    assert verdict == "revise" and revised[0].fault_type == "code_exception"  # its exceptions are in the logs
    kept, verdict, note = roles.apply_verdict(causes, {"verdict": "revise", "fault_type": "disk_full"}, FINDINGS,
                                              ["payment", "checkout"])
    assert verdict == "keep" and kept[0].fault_type == "cpu_saturation" and "no signature" in note
    demoted, verdict, _ = roles.apply_verdict(causes, {"verdict": "demote"}, FINDINGS, ["payment", "checkout"])
    assert verdict == "demote" and demoted[0].component == "checkout" and demoted[0].confidence == pytest.approx(0.56)
    moved, verdict, _ = roles.apply_verdict(causes, {"verdict": "revise", "component": "Payment"}, FINDINGS,
                                            ["payment", "checkout"])
    assert verdict == "revise" and moved[0].component == "payment" and moved[0].evidence == ["M1"]


def test_citations_not_backed_by_a_finding_are_dropped():
    text, removed = roles.filter_citations("CPU rose [M1] and [M1, X2] then [X3]. See [rules] and [a](http://x).", {"M1"})
    assert text == "CPU rose [M1] and [M1] then. See [rules] and [a](http://x)."
    assert removed == ["X2", "X3"]


def test_drill_reply_in_json_or_react_text():
    tools = {t.name: t for t in telemetry_plugin.tools}
    calls, enough = roles.read_drill_reply({"tool": "get_metric_series", "arguments": {"component": "cart", "metric": "cpu"}},
                                           "", tools)
    assert calls == [("get_metric_series", {"component": "cart", "metric": "cpu"})] and not enough
    text = 'Thought: look\nAction: detect_log_anomalies\nAction Input: {"component": "cart"}'
    assert roles.read_drill_reply(None, text, tools) == ([("detect_log_anomalies", {"component": "cart"})], False)
    assert roles.read_drill_reply({"enough": True, "calls": []}, "", tools) == ([], True)


def test_thought_field_streams_out_of_partial_json():
    streamer = FieldStreamer()
    text = '```json\n{"thought": "CPU \\"hot\\"\\n on \\u7f13\\u5b58", "enough": true}'
    out = "".join(streamer.feed(text[i:i + 3]) for i in range(0, len(text), 3))
    assert out == 'CPU "hot"\n on 缓存'
    assert read_json_object(text)[0] == {"thought": 'CPU "hot"\n on 缓存', "enough": True}
    assert read_json_object("no json here")[0] is None
    assert read_json_object('{"evidence": ["M1", T1, L1], "novel": false}')[0] == {"evidence": ["M1", "T1", "L1"], "novel": False}


def test_long_summaries_end_at_a_sentence():
    text = "Catalogue saturated [M3]. " * 40 + "It then"
    trimmed = roles.trim_summary(text, 100)
    assert len(trimmed) <= 100 and trimmed.endswith("[M3].") and text.startswith(trimmed)
    assert roles.trim_summary("短摘要。") == "短摘要。"
    assert roles.trim_summary("结论是 catalogue 的 CPU 打满。然后", 25) == "结论是 catalogue 的 CPU 打满。"


def test_an_answer_that_repeats_an_entry_without_citing_it_is_attributed_to_it():
    entries = [{"id": "sop-disk#1", "body": "Check disk usage and inode usage per mount point with df -h and df -i."},
               {"id": "exp-gc", "root_cause": "Long stop-the-world pauses", "mitigation": "Tune the heap and collector."}]
    body = lambda e: e.get("body") or e["root_cause"] + " " + e["mitigation"]  # noqa: E731
    said = "First check disk usage and inode usage on every mount point (df -h, df -i)."
    assert roles.grounded_in(said, entries, body) == ["sop-disk#1"]
    assert roles.grounded_in("The local knowledge base has no answer. " + said, entries, body) == []
    assert roles.grounded_in("检查每个挂载点的磁盘使用率", [{"id": "z", "body": "检查挂载点的磁盘使用率和inode"}], body) == ["z"]


def test_a_knowledge_answer_must_be_prose_in_the_users_language():
    assert roles.usable_answer('{"root_causes": []}', "en")[0] == ""
    assert roles.usable_answer('```json\n{"a": 1}\n```', "zh")[0] == ""
    text, why = roles.usable_answer("The pod is Pending because no node has enough CPU.", "zh")
    assert text == "" and "中文" in why
    # commands and names inside a Chinese answer do not make it English
    zh = "先查看事件：\n```\nkubectl describe pod cart-7d9f -n shop\nkubectl get events --field-selector reason=FailedScheduling\n```\n然后检查节点资源。"
    assert roles.usable_answer(zh, "zh") == (zh, "")
    assert roles.usable_answer("Check `kubectl describe pod` for events.", "en")[1] == ""


def test_a_detector_recognised_fault_is_not_displaced_by_a_plain_symptom():
    # the replica's lag is recognised by the database detector and accounts for the primary's write load
    findings = [Finding("M1", "metrics", "orders-db", "WriteIOPS", "level_shift", "write IOPS 3x", 99.0, 100.0),
                Finding("M4", "metrics", "orders-db", "CPUUtilization", "level_shift", "CPU 30% -> 60%", 28.0, 100.0),
                Finding("D1", "database", "orders-db-replica", "ReplicaLag", "db_replication_lag", "lag 900 s", 20.0, 90.0,
                        {"fault_kind": "db_replication_lag", "explains": [["orders-db", "WriteIOPS"]]})]
    rules = [RootCause("orders-db-replica", "db_replication_lag", 0.8, ["D1"]), RootCause("orders-db", "cpu_saturation", 0.4, ["M4"])]
    model = [RootCause("orders-db", "cpu_saturation", 0.9, ["M4"]), RootCause("orders-db-replica", "db_replication_lag", 0.3, ["D1"])]
    held, why = roles.floor(model, rules, findings, {"orders-db": ["M4", "M1"]})
    assert held[0].component == "orders-db-replica" and "a detector recognised db_replication_lag" in why
    # citing only what the replica's lag explains is no evidence at all
    assert "nothing else explains" in roles.may_lead(model[0], rules, findings, {"orders-db": ["M1"]})


def test_the_rules_kind_stands_where_the_data_backs_it():
    findings = [Finding("M1", "metrics", "gateway", "request_rate", "level_shift", "requests 3x baseline", 40.0, 100.0),
                Finding("M2", "metrics", "gateway", "cpu_usage", "level_shift", "cpu 35% -> 80%", 20.0, 110.0)]
    rules = [RootCause("gateway", "traffic_surge", 0.8, ["M1", "M2"])]
    model = [RootCause("gateway", "cpu_saturation", 0.9, ["M2"])]
    kept, why = roles.floor(model, rules, findings, {"gateway": ["M2"]})
    assert kept[0].fault_type == "traffic_surge" and "does not overturn it" in why
    # where the rules could not name a kind, the model's kind with its signature present is taken
    unknown = [RootCause("gateway", "unknown", 0.6, ["M2"])]
    assert roles.floor(model, unknown, findings, {"gateway": ["M2"]})[0][0].fault_type == "cpu_saturation"
