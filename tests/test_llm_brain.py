"""LLMBrain against a real local HTTP server that speaks the chat-completions API."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from copilot.agent import Agent, Budget
from copilot.brains.base import Decision, RunState, StepRecord, ToolCall
from copilot.brains.llm import LLMBrain
from copilot.config import Settings
from copilot.events import (
    ActionProposed,
    AnswerDelta,
    FinalAnswer,
    Observation,
    RunFailed,
    Thought,
    ThoughtDelta,
    Usage,
)
from copilot.tools import ToolContext, ToolRegistry, ToolResult, tool
from tests.fake_openai import FakeOpenAI


@tool
def get_metrics(service: str, minutes: int = 30) -> str:
    """Metrics of one service.

    Args:
        service: the service name
        minutes: how far back
    """
    return f"{service}: memory rose from 400MB to 1.9GB over {minutes} min"


@tool
def list_services() -> str:
    """List the services."""
    return "gateway, cart, checkout"


def registry() -> ToolRegistry:
    reg = ToolRegistry()
    reg.add(get_metrics)
    reg.add(list_services)
    return reg


@pytest.fixture
def server():
    with FakeOpenAI(models=["qwen-test", "other"]) as fake:
        yield fake


def settings(server: FakeOpenAI, **kw) -> Settings:
    base = dict(base_url=server.base_url, model="qwen-test", api_key="sk-test", request_timeout=5.0, retries=3)
    base.update(kw)
    return Settings(**base)


def state(question: str = "why is cart failing?", **kw) -> RunState:
    return RunState(question=question, tools=registry(), ctx=ToolContext(), max_steps=kw.pop("max_steps", 8), **kw)


async def collect(brain: LLMBrain, st: RunState) -> tuple[list, Decision]:
    events, decisions = [], []
    async for item in brain.step(st):
        (decisions if isinstance(item, Decision) else events).append(item)
    assert len(decisions) == 1
    return events, decisions[0]


async def run_agent(brain: LLMBrain, question: str = "why is cart failing?", max_steps: int = 8) -> list:
    return [e async for e in Agent(brain, registry(), budget=Budget(max_steps=max_steps)).run(question)]


async def test_native_tool_calls_are_assembled_from_fragments(server):
    server.reply(
        "I will check cart and list services.",
        tool_calls=[
            {"name": "get_metrics", "arguments": {"service": "cart", "minutes": 45}},
            {"name": "list_services", "arguments": {}},
        ],
        arg_chunk=3,
    )
    events, decision = await collect(LLMBrain(settings(server)), state())
    assert [(c.name, c.arguments) for c in decision.calls] == [
        ("get_metrics", {"service": "cart", "minutes": 45}),
        ("list_services", {}),
    ]
    assert all(c.id for c in decision.calls)
    assert decision.thought == "I will check cart and list services."
    assert "".join(e.text for e in events if isinstance(e, ThoughtDelta)) == decision.thought
    sent = server.chat_requests[0]
    assert sent["model"] == "qwen-test" and sent["stream"] is True
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_metrics", "list_services"]
    assert "stop" not in sent
    assert server.requests[-1].headers.get("authorization") == "Bearer sk-test"


async def test_native_run_replays_calls_and_results_and_streams_the_answer(server):
    server.reply(tool_calls=[{"id": "c1", "name": "get_metrics", "arguments": {"service": "cart"}}])
    server.reply("Final Answer: cart leaks memory; restart it and roll back the last deploy.")
    events = await run_agent(LLMBrain(settings(server)))
    answer = [e for e in events if isinstance(e, FinalAnswer)][0]
    assert answer.answer == "cart leaks memory; restart it and roll back the last deploy."
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)) == answer.answer
    obs = [e for e in events if isinstance(e, Observation)]
    assert [(o.tool, o.status) for o in obs] == [("get_metrics", "ok")]
    second = server.chat_requests[1]["messages"]
    assert second[0]["role"] == "system" and "SRE Copilot" in second[0]["content"]
    assert second[1] == {"role": "user", "content": "why is cart failing?"}
    assert second[2]["role"] == "assistant"
    assert second[2]["tool_calls"][0]["id"] == "c1"
    assert json.loads(second[2]["tool_calls"][0]["function"]["arguments"]) == {"service": "cart"}
    assert second[3] == {"role": "tool", "tool_call_id": "c1", "content": "[ok] cart: memory rose from 400MB to 1.9GB over 30 min"}


async def test_text_protocol_sends_no_tools_and_uses_stop_sequences(server):
    server.reply('Thought: check cart\nAction: get_metrics(service="cart")')
    server.reply("Thought: enough\nFinal Answer: the cart leaks memory")
    events = await run_agent(LLMBrain(settings(server, tool_protocol="text")))
    first, second = server.chat_requests
    assert "tools" not in first and "Observation:" in first["stop"]
    assert "- get_metrics(service: string, minutes: integer?) - Metrics of one service." in first["messages"][0]["content"]
    assert [(e.tool, e.arguments) for e in events if isinstance(e, ActionProposed)] == [("get_metrics", {"service": "cart"})]
    replay = second["messages"][-2:]
    assert replay[0]["role"] == "assistant" and "Action: get_metrics" in replay[0]["content"]
    assert replay[1] == {"role": "user", "content": "Observation: [ok] cart: memory rose from 400MB to 1.9GB over 30 min"}
    assert [e.text for e in events if isinstance(e, Thought)] == ["check cart", "enough"]
    assert [e.answer for e in events if isinstance(e, FinalAnswer)] == ["the cart leaks memory"]


async def test_auto_switches_to_text_when_the_model_writes_its_calls_as_text(server):
    server.reply('Thought: look\nAction: get_metrics\nAction Input: {"service": "cart"}')
    server.reply("Final Answer: cart")
    brain = LLMBrain(settings(server))
    events = await run_agent(brain)
    assert [e.tool for e in events if isinstance(e, ActionProposed)] == ["get_metrics"]
    first, second = server.chat_requests
    assert "tools" in first and "tools" not in second and "stop" in second
    assert brain.protocol == "text"
    # remembered for this model in this process: a new brain starts with the text protocol
    server.reply("Final Answer: still cart")
    await collect(LLMBrain(settings(server)), state())
    assert "tools" not in server.chat_requests[-1]


async def test_the_protocol_that_worked_is_remembered_by_the_next_process(server, monkeypatch):
    import copilot.brains.llm as llm
    from copilot.config import data_dir

    server.reply('Thought: look\nAction: get_metrics\nAction Input: {"service": "cart"}')
    server.reply("Final Answer: cart")
    await run_agent(LLMBrain(settings(server, model="text-only")))
    saved = json.loads((data_dir() / llm.PROTOCOLS_FILE).read_text())
    assert saved["text"] == [[server.base_url, "text-only"]]
    monkeypatch.setattr(llm, "_TEXT_MODELS", set())  # a new process: only the file remembers
    server.reply("Final Answer: still cart")
    await collect(LLMBrain(settings(server, model="text-only")), state())
    assert "tools" not in server.chat_requests[-1]
    # another model at the same endpoint still starts with native tool calls
    server.reply('<tool_call>{"name": "get_metrics", "arguments": {"service": "cart"}}</tool_call>')
    before = len(server.chat_requests)
    await collect(LLMBrain(settings(server, model="other")), state())
    assert "tools" in server.chat_requests[before]


async def test_an_unreadable_protocol_memory_is_ignored(server, monkeypatch):
    import copilot.brains.llm as llm
    from copilot.config import data_dir

    data_dir().mkdir(parents=True, exist_ok=True)
    (data_dir() / llm.PROTOCOLS_FILE).write_text("{not json")
    monkeypatch.setattr(llm, "_TEXT_MODELS", set())
    server.reply('<tool_call>{"name": "get_metrics", "arguments": {"service": "cart"}}</tool_call>')
    await collect(LLMBrain(settings(server, model="m")), state())
    assert "tools" in server.chat_requests[0]  # finds out again instead of failing


async def test_auto_switches_on_a_json_call_in_content(server):
    server.reply('<tool_call>{"name": "get_metrics", "arguments": {"service": "cart"}}</tool_call>')
    _, decision = await collect(LLMBrain(settings(server, model="json-caller")), state())
    assert [(c.name, c.arguments) for c in decision.calls] == [("get_metrics", {"service": "cart"})]


async def test_auto_retries_in_text_when_the_model_ignores_the_tools(server):
    server.reply("The cart is probably fine.")
    server.reply('Thought: check first\nAction: list_services\nAction Input: {}')
    brain = LLMBrain(settings(server, model="ignorer"))
    _, decision = await collect(brain, state())
    assert [c.name for c in decision.calls] == ["list_services"]
    assert "tools" in server.chat_requests[0] and "tools" not in server.chat_requests[1]


async def test_auto_retries_in_text_when_the_model_concludes_without_looking(server):
    server.reply("Final Answer: cart CPU is at 90% (invented)")
    server.reply("Thought: check first\nAction: list_services\nAction Input: {}")
    events, decision = await collect(LLMBrain(settings(server, model="hasty")), state())
    assert [c.name for c in decision.calls] == ["list_services"] and decision.answer is None
    assert not [e for e in events if isinstance(e, AnswerDelta)]  # the discarded answer never streamed


async def test_auto_accepts_a_direct_answer_in_a_follow_up_turn(server):
    server.reply("Final Answer: restart the cart pods")
    st = state(history=[{"role": "user", "content": "why is cart failing?"}, {"role": "assistant", "content": "memory leak"}])
    brain = LLMBrain(settings(server, model="follow-up"))
    _, decision = await collect(brain, st)
    assert decision.answer == "restart the cart pods" and brain.protocol == "auto"
    assert len(server.chat_requests) == 1


async def test_native_protocol_never_switches(server):
    server.reply("The cart is fine.")
    brain = LLMBrain(settings(server, tool_protocol="native", model="stubborn"))
    _, decision = await collect(brain, state())
    assert decision.answer == "The cart is fine." and not decision.calls
    assert brain.protocol == "native" and len(server.chat_requests) == 1


async def test_unknown_tool_becomes_a_readable_error(server):
    server.reply("Action: restart_cluster\nAction Input: {}")
    server.reply("Final Answer: done")
    events = await run_agent(LLMBrain(settings(server, tool_protocol="text")))
    obs = [e for e in events if isinstance(e, Observation)][0]
    assert obs.status == "error" and "get_metrics" in obs.output and "restart_cluster" in obs.output
    assert "Observation: [error] no tool named 'restart_cluster'" in server.chat_requests[1]["messages"][-1]["content"]


async def test_unparseable_reply_gets_a_correction_then_prose_is_accepted(server):
    server.reply("Hmm, the cart.")
    server.reply('Action: get_metrics\nAction Input: {"service": "cart"}')
    server.reply("I am not sure what happened.")
    server.reply("Still rambling without labels.")
    events = await run_agent(LLMBrain(settings(server, tool_protocol="text")))
    msgs = server.chat_requests[1]["messages"]
    assert msgs[-2] == {"role": "assistant", "content": "Hmm, the cart."}
    assert msgs[-1]["role"] == "user" and "could not be used" in msgs[-1]["content"]
    assert "get_metrics, list_services" in msgs[-1]["content"]
    # one correction per slip; a second slip in a row is taken as the answer
    assert [e.answer for e in events if isinstance(e, FinalAnswer)] == ["Still rambling without labels."]
    assert len(server.chat_requests) == 4


async def test_json_response_format(server):
    server.reply('{"thought": "check", "action": "get_metrics", "action_input": {"service": "cart"}}')
    _, decision = await collect(LLMBrain(settings(server, tool_protocol="text", response_format=True)), state())
    assert [(c.name, c.arguments) for c in decision.calls] == [("get_metrics", {"service": "cart"})]
    sent = server.chat_requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert "tools" not in sent and "stop" not in sent
    assert "anyOf" in sent["response_format"]["json_schema"]["schema"]
    server.reply('{"thought": "done", "final_answer": "cart"}')
    last = state(max_steps=2)
    last.steps.append(StepRecord(1, "", [ToolCall("c1", "list_services", {})], [ToolResult.ok("cart")]))
    await collect(LLMBrain(settings(server, tool_protocol="text", response_format=True)), last)
    assert server.chat_requests[1]["response_format"]["json_schema"]["schema"]["required"] == ["thought", "final_answer"]


async def test_json_schema_falls_back_to_json_object_with_schema(server):
    server.error(500, "validation error: ('body', 'response_format', 'type') Input should be 'text' or 'json_object'")
    server.reply('{"thought": "done", "final_answer": "cart"}')
    server.reply('{"thought": "done", "final_answer": "cart again"}')
    brain = LLMBrain(settings(server, tool_protocol="text", response_format=True))
    _, decision = await collect(brain, state())
    assert decision.answer == "cart"
    first, second = server.chat_requests
    assert first["response_format"]["type"] == "json_schema"
    assert second["response_format"]["type"] == "json_object"
    assert second["response_format"]["schema"] == first["response_format"]["json_schema"]["schema"]
    await collect(brain, state())  # remembered: no second rejection
    assert server.chat_requests[2]["response_format"]["type"] == "json_object"


async def test_final_answer_json_block_becomes_the_diagnosis(server):
    answer = (
        "Final Answer: Root cause: cart - memory leak\n```json\n"
        '{"root_causes": [{"component": "cart", "fault_type": "memory_leak", "confidence": 0.9}, '
        '{"component": "redis", "fault_type": "slow disk", "confidence": 2}]}\n```'
    )
    server.reply(answer)
    st = state()
    st.steps.append(StepRecord(1, "", [ToolCall("c1", "list_services", {})], [ToolResult.ok("cart")]))
    _, decision = await collect(LLMBrain(settings(server, tool_protocol="native")), st)
    causes = [(r.component, r.fault_type, r.confidence) for r in decision.diagnosis.root_causes]
    assert causes == [("cart", "memory_leak", 0.9), ("redis", "unknown", 1.0)]


async def test_answer_without_json_leaves_the_diagnosis_to_the_agent(server):
    server.reply("Final Answer: the cart leaks memory")
    st = state()
    st.steps.append(StepRecord(1, "", [ToolCall("c1", "list_services", {})], [ToolResult.ok("cart")]))
    _, decision = await collect(LLMBrain(settings(server)), st)
    assert decision.answer == "the cart leaks memory" and decision.diagnosis is None


async def test_usage_from_the_server_or_estimated(server):
    server.reply("Final Answer: x", usage={"prompt_tokens": 123, "completion_tokens": 7})
    events, _ = await collect(LLMBrain(settings(server, tool_protocol="native")), state())
    assert [(u.prompt_tokens, u.completion_tokens, u.total_tokens) for u in events if isinstance(u, Usage)] == [(123, 7, 130)]
    assert server.chat_requests[0]["stream_options"] == {"include_usage": True}
    server.reply("Final Answer: " + "word " * 40)  # no usage chunk: estimated
    events, _ = await collect(LLMBrain(settings(server, tool_protocol="native")), state())
    usage = [u for u in events if isinstance(u, Usage)][0]
    assert usage.prompt_tokens > 50 and 40 <= usage.completion_tokens <= 80


async def test_stream_options_rejected_by_the_server_are_dropped(server):
    server.error(400, "unrecognized request argument: stream_options")
    server.reply("Final Answer: ok")
    brain = LLMBrain(settings(server, tool_protocol="native"))
    _, decision = await collect(brain, state())
    assert decision.answer == "ok"
    assert "stream_options" in server.chat_requests[0] and "stream_options" not in server.chat_requests[1]


async def test_every_reply_is_capped_and_a_server_refusing_the_cap_is_asked_without_it(server):
    """A small model can ramble until its context is full: each reply asks for at most
    max_reply_tokens; a server that rejects the field gets the request without it."""
    server.reply("Final Answer: ok")
    brain = LLMBrain(settings(server, tool_protocol="native", max_reply_tokens=321))
    _, decision = await collect(brain, state())
    assert decision.answer == "ok" and server.chat_requests[0]["max_tokens"] == 321
    server.error(400, "Unsupported parameter: 'max_tokens' is not supported with this model")
    server.reply("Final Answer: still ok")
    brain = LLMBrain(settings(server, tool_protocol="native"))
    _, decision = await collect(brain, state())
    assert decision.answer == "still ok"
    assert server.chat_requests[1]["max_tokens"] == 1500 and "max_tokens" not in server.chat_requests[2]


async def test_empty_model_uses_the_first_listed(server):
    server.reply("Final Answer: ok")
    brain = LLMBrain(settings(server, model="", tool_protocol="native"))
    await collect(brain, state())
    assert server.chat_requests[0]["model"] == "qwen-test" and brain.label == "qwen-test"
    assert any(r.method == "GET" and r.path.endswith("/models") for r in server.requests)


async def test_reasoning_content_streams_as_thought(server):
    server.reply("Final Answer: cart", reasoning="memory grows, so cart")
    events, decision = await collect(LLMBrain(settings(server, tool_protocol="native")), state())
    assert "".join(e.text for e in events if isinstance(e, ThoughtDelta)) == "memory grows, so cart"
    assert decision.thought == "memory grows, so cart" and decision.answer == "cart"


async def test_chinese_question_history_and_memory_reach_the_model(server):
    server.reply("最终答案：cart 内存泄漏")
    st = state(
        "为什么 cart 服务从 14:05 开始报错？",
        language="zh",
        history=[{"role": "user", "content": "earlier question"}, {"role": "assistant", "content": "earlier answer"}],
        recalled=[{"id": "m1", "summary": "cart memory leak on 3 May", "similarity": 0.91}],
    )
    _, decision = await collect(LLMBrain(settings(server)), st)
    assert decision.answer == "cart 内存泄漏"
    msgs = server.chat_requests[0]["messages"]
    assert "简体中文" in msgs[0]["content"]
    assert msgs[1:3] == [{"role": "user", "content": "earlier question"}, {"role": "assistant", "content": "earlier answer"}]
    assert msgs[3]["content"].startswith("为什么 cart") and "cart memory leak on 3 May (similarity 0.91)" in msgs[3]["content"]


async def test_last_step_offers_no_tools_and_asks_for_the_answer(server):
    server.reply("Final Answer: cart")
    st = state(max_steps=2)
    st.steps.append(StepRecord(1, "", [ToolCall("c1", "list_services", {})], [ToolResult.ok("cart")]))
    await collect(LLMBrain(settings(server)), st)
    sent = server.chat_requests[0]
    assert "tools" not in sent
    assert sent["messages"][-1]["role"] == "user" and "last step" in sent["messages"][-1]["content"]


async def test_repeated_call_is_pointed_out(server):
    server.reply("Final Answer: cart")
    st = state()
    for i in (1, 2):
        st.steps.append(StepRecord(i, "", [ToolCall(f"c{i}", "list_services", {})], [ToolResult.ok("cart")]))
    await collect(LLMBrain(settings(server, tool_protocol="text")), st)
    msgs = server.chat_requests[0]["messages"]
    assert "already made this exact call at step 1" in msgs[-1]["content"]
    assert "already made" not in msgs[-3]["content"]


async def test_model_errors_end_the_run_with_one_line(server):
    server.error(401, "invalid api key")
    events = await run_agent(LLMBrain(settings(server)))
    failed = [e for e in events if isinstance(e, RunFailed)]
    assert failed and "set OPENAI_API_KEY" in failed[0].error and "\n" not in failed[0].error
    assert len(server.chat_requests) == 1  # 401 is not retried


def test_importing_the_brain_does_not_import_openai():
    code = "import sys, copilot.brains.llm; print('openai' in sys.modules, 'tenacity' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(_root()))
    assert out.stdout.split() == ["False", "False"]


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent
