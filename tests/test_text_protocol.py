"""The text ReAct protocol: parsing what small models actually write, and streaming it."""

from __future__ import annotations

import pytest

from copilot.brains import text_protocol as tp
from copilot.tools import tool


@tool
def detect_metric_anomalies(component: str, minutes: int = 30) -> str:
    """Find anomalous metrics of one component.

    Args:
        component: the service name
        minutes: how far back to look
    """
    return component


@tool
def list_services() -> str:
    """List the services and their call graph."""
    return ""


@tool
def search_logs(component: str, pattern: str) -> str:
    """Search the logs of a component."""
    return ""


TOOLS = {t.name: t for t in (detect_metric_anomalies, list_services, search_logs)}


def parse(text: str) -> tp.ReactStep:
    return tp.parse_react(text, TOOLS)


def test_standard_action():
    step = parse('Thought: check cart first\nAction: detect_metric_anomalies\nAction Input: {"component": "cart", "minutes": 15}')
    assert step.problem is None
    assert step.thought == "check cart first"
    assert step.action == "detect_metric_anomalies"
    assert step.arguments == {"component": "cart", "minutes": 15}


@pytest.mark.parametrize(
    "action",
    [
        'Action: detect_metric_anomalies(component="cart")',
        "Action: detect_metric_anomalies(component='cart')",
        "Action: detect_metric_anomalies(component=cart)",
        'Action: detect_metric_anomalies(component: "cart")',
        'Action: detect_metric_anomalies("cart")',
        'Action: detect_metric_anomalies({"component": "cart"})',
        'Action: detect_metric_anomalies {"component": "cart"}',
        'Action: detect_metric_anomalies Action Input: {"component": "cart"}',
        "**Action:** `detect_metric_anomalies`\n**Action Input:** {'component': 'cart',}",
        "ACTION: Detect_Metric_Anomalies\naction input: cart",
        "Action: detect metric anomalies\nAction Input: component: cart",
        'Action: detect_metric_anomalies\nAction Input:\n```json\n{"component": "cart"}\n```',
        'Action: I will call detect_metric_anomalies now\nAction Input: {component: "cart"}',
        'Action: detect_metric_anomalies\nAction Input: {"component": "cart"}\nI will wait for the result.',
        '行动：detect_metric_anomalies\n行动输入：{"component": "cart"}',
    ],
)
def test_forgiven_action_spellings(action):
    step = parse("Thought: look at cart\n" + action)
    assert step.problem is None, step
    assert step.action == "detect_metric_anomalies"
    assert step.arguments == {"component": "cart"}


def test_invented_observation_and_answer_are_cut():
    text = (
        "Thought: check\nAction: detect_metric_anomalies\nAction Input: {\"component\": \"cart\"}\n"
        "Observation: cart memory is fine\nThought: so it is fine\nFinal Answer: nothing is wrong"
    )
    step = parse(text)
    assert step.final_answer is None
    assert step.action == "detect_metric_anomalies"
    assert step.arguments == {"component": "cart"}


def test_invented_result_line_is_cut():
    step = parse('Action: search_logs\nAction Input: {"component": "cart", "pattern": "OOM"}\nResult: 3 lines found')
    assert step.arguments == {"component": "cart", "pattern": "OOM"}


def test_trailing_commas_and_single_quotes_in_two_argument_input():
    step = parse("Action: search_logs\nAction Input: {'component': 'cart', 'pattern': 'OutOfMemory',}")
    assert step.arguments == {"component": "cart", "pattern": "OutOfMemory"}


def test_tool_without_arguments():
    step = parse("Thought: what is there?\nAction: list_services\nAction Input: {}")
    assert (step.action, step.arguments, step.problem) == ("list_services", {}, None)
    assert parse("Action: list_services()").arguments == {}


def test_final_answer_keeps_its_markdown():
    step = parse("Thought: it is the cart\nFinal Answer: **cart** leaks memory.\n\n```json\n{\"a\": 1}\n```")
    assert step.thought == "it is the cart"
    assert step.final_answer == "**cart** leaks memory.\n\n```json\n{\"a\": 1}\n```"
    assert step.action is None


def test_chinese_final_answer_label():
    step = parse("思考：证据足够了\n最终答案：cart 服务内存泄漏")
    assert step.final_answer == "cart 服务内存泄漏"


def test_unknown_tool_is_kept_as_written_for_a_readable_error():
    step = parse('Action: restart_everything\nAction Input: {"now": true}')
    assert step.problem is None
    assert step.action == "restart_everything"
    assert step.arguments == {"now": True}


def test_no_action_and_no_answer_is_a_problem_not_a_crash():
    step = parse("I think the cart service might be slow because of memory.")
    assert step.problem and "Action" in step.problem
    assert step.thought.startswith("I think the cart")
    assert parse("Action:\nAction Input: {}").problem


def test_json_blob_call_in_content():
    step = parse('<tool_call>\n{"name": "detect_metric_anomalies", "arguments": {"component": "cart"}}\n</tool_call>')
    assert (step.action, step.arguments) == ("detect_metric_anomalies", {"component": "cart"})
    assert tp.looks_like_json_call('{"name": "nope", "arguments": {}}', TOOLS) is None
    assert tp.looks_like_json_call("The cart is fine.", TOOLS) is None


def test_think_tags_become_thought():
    step = parse("<think>memory grows</think>\nFinal Answer: memory leak in cart")
    assert step.thought == "memory grows"
    assert step.final_answer == "memory leak in cart"


def test_json_reply_protocol():
    call = tp.parse_json_reply('{"thought": "t", "action": "search_logs", "action_input": {"component": "cart", "pattern": "x"}}', TOOLS)
    assert (call.thought, call.action, call.arguments) == ("t", "search_logs", {"component": "cart", "pattern": "x"})
    final = tp.parse_json_reply('{"thought": "done", "final_answer": "cart leaks"}', TOOLS)
    assert final.final_answer == "cart leaks" and final.action is None
    single = tp.parse_json_reply('{"thought": "", "action": "detect_metric_anomalies", "action_input": "cart"}', TOOLS)
    assert single.arguments == {"component": "cart"}
    assert tp.parse_json_reply('{"thought": "hmm"}', TOOLS).problem


def test_response_format_schema_lists_tools():
    fmt = tp.response_format(["a", "b"])
    assert fmt["type"] == "json_schema"
    variants = fmt["json_schema"]["schema"]["anyOf"]
    assert variants[0]["properties"]["action"]["enum"] == ["a", "b"]
    assert variants[1]["required"] == ["thought", "final_answer"]


def test_render_tools_uses_signature_lines():
    text = tp.render_tools(TOOLS.values())
    assert "- detect_metric_anomalies(component: string, minutes: integer?) - Find anomalous metrics" in text
    assert "- list_services() - List the services" in text


def test_loads_lenient_rejects_prose():
    with pytest.raises(ValueError):
        tp.loads_lenient("the cart service")


REPLY = (
    "Thought: memory of cart grows.\nIt restarted twice.\n"
    "Final Answer: **cart** has a memory leak.\nMitigation: roll back."
)


def _stream(text: str, size: int) -> tuple[str, str]:
    splitter = tp.StreamSplitter()
    parts = []
    for i in range(0, len(text), size):
        parts += splitter.feed(text[i : i + size])
    parts += splitter.finish()
    thought = "".join(t for k, t in parts if k == "thought")
    answer = "".join(t for k, t in parts if k == "answer")
    return thought, answer


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 1000])
def test_streaming_splits_thought_and_answer_at_any_chunk_size(size):
    thought, answer = _stream(REPLY, size)
    assert thought.strip() == "memory of cart grows.\nIt restarted twice."
    assert answer == "**cart** has a memory leak.\nMitigation: roll back."


@pytest.mark.parametrize("size", [1, 4, 1000])
def test_streaming_stops_thought_at_the_action(size):
    text = 'Thought: check cart\nAction: detect_metric_anomalies\nAction Input: {"component": "cart"}'
    thought, answer = _stream(text, size)
    assert thought.strip() == "check cart"
    assert answer == ""


def test_streaming_plain_text_is_thought():
    thought, answer = _stream("Let me look at the cart metrics.", 3)
    assert thought == "Let me look at the cart metrics."
    assert answer == ""


def test_fit_arguments_renames_one_misnamed_argument():
    assert tp.fit_arguments({"name": "cart"}, detect_metric_anomalies) == {"component": "cart"}
    assert tp.fit_arguments({"component": "cart", "extra": 1}, detect_metric_anomalies) == {"component": "cart", "extra": 1}
    assert tp.fit_arguments({"a": "x", "b": "y"}, search_logs) == {"a": "x", "b": "y"}  # ambiguous: left alone


def test_final_only_schema_on_the_last_step():
    fmt = tp.response_format(["a"], final_only=True)
    assert fmt["json_schema"]["schema"]["required"] == ["thought", "final_answer"]
