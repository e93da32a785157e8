"""The text ReAct protocol, for models without native tool calling.

The model writes

    Thought: what it thinks
    Action: tool_name
    Action Input: {"arg": "value"}

and stops (the stop sequence is "Observation:"); the loop runs the tool and sends back
"Observation: ...". It concludes with "Final Answer: ...". Small local models bend the
format, so the parser forgives: invented "Observation:"/"Result:" lines (cut), arguments in
parentheses (`Action: detect(component="cart")`), JSON with single quotes or trailing
commas, a bare value for a one-argument tool, markdown fences and bold, case differences,
Chinese labels, and a JSON blob `{"name": ..., "arguments": ...}` (as some models write
their calls when tools are offered natively but the server cannot parse them).

With `response_format` the model answers one JSON object instead:
{"thought", "action", "action_input"} or {"thought", "final_answer"}.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..tools import Tool

STOP_SEQUENCES = ["Observation:", "\nObservation"]

_COLON = r"\s*[:：]"
_LEAD = r"^[ \t>#*_`-]*"  # markdown bullets, headings, bold around a label
_THOUGHT = r"(?:thought|thinking|reasoning|思考|想法)"
_ACTION = r"(?:action|tool|行动|动作|工具)"
_INPUT = r"(?:action[ _]input|input|arguments|args|行动输入|动作输入|输入|参数)"
_FINAL = r"(?:final[ _]answer|answer|最终答案|最终回答|结论)"
_OBS = r"(?:observation|observations|result|results|output|tool[ _]output|response|观察|结果)"


def _label(words: str) -> re.Pattern[str]:
    return re.compile(_LEAD + words + r"[*_`]*" + _COLON + r"[*_`]*[ \t]*", re.IGNORECASE | re.MULTILINE)


THOUGHT_RE = _label(_THOUGHT)
ACTION_RE = _label(_ACTION)
INPUT_RE = _label(_INPUT)
FINAL_RE = _label(_FINAL)
OBS_RE = _label(_OBS)
THINK_RE = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL | re.IGNORECASE)
FENCE_RE = re.compile(r"^[ \t]*```[\w-]*[ \t]*$", re.MULTILINE)
TOOL_CALL_TAG_RE = re.compile(r"</?tool_call>", re.IGNORECASE)


@dataclass
class ReactStep:
    thought: str = ""
    action: str | None = None  # tool name as resolved (or as written when unknown)
    arguments: dict[str, Any] = field(default_factory=dict)
    final_answer: str | None = None
    problem: str | None = None  # why the reply could not be understood


def render_tools(tools: Iterable[Tool]) -> str:
    return "\n".join(f"- {t.signature_line()}" for t in tools)


def fit_arguments(arguments: dict[str, Any], tool: Tool | None) -> dict[str, Any]:
    """Forgive one misnamed argument: {"name": "cart"} for a tool whose only missing
    required parameter is `component`."""
    if tool is None:
        return arguments
    props = tool.parameters.get("properties") or {}
    unknown = [k for k in arguments if k not in props]
    missing = [k for k in tool.parameters.get("required") or [] if k not in arguments]
    if len(unknown) == 1 and len(missing) == 1:
        fixed = {k: v for k, v in arguments.items() if k != unknown[0]}
        fixed[missing[0]] = arguments[unknown[0]]
        return fixed
    return arguments


def response_format(tool_names: list[str], final_only: bool = False) -> dict[str, Any]:
    """JSON-schema constrained output for the text protocol (only a final answer on the
    last step)."""
    action: dict[str, Any] = {"type": "string"}
    if tool_names:
        action["enum"] = list(tool_names)
    schema: dict[str, Any] = {
        "anyOf": [
            {
                "type": "object",
                "properties": {"thought": {"type": "string"}, "action": action, "action_input": {"type": "object"}},
                "required": ["thought", "action", "action_input"],
            },
            {
                "type": "object",
                "properties": {"thought": {"type": "string"}, "final_answer": {"type": "string"}},
                "required": ["thought", "final_answer"],
            },
        ]
    }
    if final_only:
        schema = schema["anyOf"][1]
    return {"type": "json_schema", "json_schema": {"name": "react_step", "schema": schema}}


# -- lenient values --------------------------------------------------------------------
def _strip_fences(text: str) -> str:
    return FENCE_RE.sub("", text).strip()


def loads_lenient(text: str) -> Any:
    """JSON as small models write it: single quotes, trailing commas, Python literals,
    unquoted keys. Raises ValueError when nothing fits."""
    text = _strip_fences(text).strip().strip("`").strip()
    if not text:
        raise ValueError("empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass  # try the forgiving readings below
    no_trailing = re.sub(r",\s*([}\]])", r"\1", text)
    try:
        return json.loads(no_trailing)
    except json.JSONDecodeError:
        pass
    pythonish = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", no_trailing)))
    try:
        return ast.literal_eval(pythonish)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    quoted_keys = re.sub(r"([{,]\s*)([A-Za-z_]\w*)\s*:", r'\1"\2":', no_trailing)
    try:
        return json.loads(quoted_keys.replace("'", '"'))
    except json.JSONDecodeError:
        raise ValueError(f"not JSON: {text[:80]}") from None


def balanced_object(text: str) -> str:
    """The first balanced {...} of text (quotes respected), or text when unbalanced."""
    depth, quote, escaped = 0, "", False
    for i, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[: i + 1]
    return text


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)  # a bare name like cart -> "cart"


def _call_arguments(inner: str, tool: Tool | None) -> dict[str, Any]:
    """`component="cart", minutes=30` or `"cart"` or `{"component": "cart"}`."""
    inner = inner.strip()
    if not inner:
        return {}
    if inner.startswith("{"):
        value = loads_lenient(inner)
        if isinstance(value, dict):
            return value
    try:
        call = ast.parse(f"f({inner})", mode="eval").body
    except SyntaxError:
        try:  # `component: "cart", minutes: 30`
            value = loads_lenient("{" + inner + "}")
        except ValueError:
            return single_value(_unquote(inner), tool)
        return value if isinstance(value, dict) else single_value(_unquote(inner), tool)
    assert isinstance(call, ast.Call)
    args: dict[str, Any] = {kw.arg: _literal(kw.value) for kw in call.keywords if kw.arg}
    params = list((tool.parameters.get("properties") or {}) if tool else {})
    for i, node in enumerate(call.args):
        if i < len(params) and params[i] not in args:
            args[params[i]] = _literal(node)
    return args


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return text[1:-1]
    return text


def single_value(value: Any, tool: Tool | None) -> dict[str, Any]:
    """A bare value for a tool: give it to the only (or only required) parameter."""
    if tool is None:
        return {"input": value}
    props = list(tool.parameters.get("properties") or {})
    required = list(tool.parameters.get("required") or [])
    target = required[0] if len(required) == 1 else (props[0] if len(props) == 1 else None)
    if target is None:
        return {"input": value}
    return {target: value}


def parse_arguments(text: str, tool: Tool | None) -> dict[str, Any]:
    """The Action Input, however the model wrote it."""
    text = _strip_fences(text).strip()
    if not text or text.lower() in ("none", "null", "{}", "n/a", "无"):
        return {}
    if text.startswith("{"):
        text = balanced_object(text)
    try:
        value = loads_lenient(text)
    except ValueError:
        if re.match(r"^[A-Za-z_]\w*\s*=", text):
            return _call_arguments(text, tool)
        kv = dict(re.findall(r"^\s*([A-Za-z_]\w*)\s*:\s*(.+?)\s*$", text, re.MULTILINE))
        if kv and tool is not None and set(kv) <= set(tool.parameters.get("properties") or {}):
            return {k: _unquote(v) for k, v in kv.items()}
        return single_value(_unquote(text), tool)
    if isinstance(value, dict):
        return value
    return single_value(value, tool)


# -- tool names ------------------------------------------------------------------------
def resolve_tool_name(written: str, tools: dict[str, Tool]) -> str:
    """Map what the model wrote to a registered tool name (case, spaces, quotes, a
    sentence that mentions one tool); return the cleaned text when nothing matches."""
    clean = written.strip().strip("`'\"*[]").strip()
    if clean in tools:
        return clean
    norm = re.sub(r"[\s-]+", "_", clean.lower()).strip("_.")
    by_norm = {name.lower(): name for name in tools}
    if norm in by_norm:
        return by_norm[norm]
    mentioned = [name for name in tools if re.search(rf"\b{re.escape(name)}\b", clean, re.IGNORECASE)]
    if len(mentioned) == 1:
        return mentioned[0]
    return clean


# -- whole replies ---------------------------------------------------------------------
def _first(pattern: re.Pattern[str], text: str, start: int = 0) -> re.Match[str] | None:
    return pattern.search(text, start)


def split_think(text: str) -> tuple[str, str]:
    """Separate `<think>...</think>` reasoning (some local models put it in the content)."""
    thoughts = [m.group(1).strip() for m in THINK_RE.finditer(text)]
    return "\n".join(t for t in thoughts if t), THINK_RE.sub("", text)


def _thought_before(text: str, end: int) -> str:
    head = text[:end]
    label = _first(THOUGHT_RE, head)
    if label is not None:
        head = head[label.end():]
    return _strip_fences(head).strip()


def _json_call(text: str, tools: dict[str, Tool]) -> ReactStep | None:
    """`{"name": "x", "arguments": {...}}` (or a list of them, or inside <tool_call>)."""
    body = _strip_fences(TOOL_CALL_TAG_RE.sub("", text)).strip()
    start = body.find("{")
    if start < 0:
        return None
    try:
        value = loads_lenient(body[start : body.rfind("}") + 1])
    except ValueError:
        return None
    if isinstance(value, list) and value:
        value = value[0]
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("function"), dict):
        value = value["function"]
    name = value.get("name") or value.get("tool") or value.get("action")
    if not isinstance(name, str) or not name.strip():
        return None
    args = value.get("arguments", value.get("parameters", value.get("action_input", value.get("args", {}))))
    if isinstance(args, str):
        try:
            args = loads_lenient(args) if args.strip() else {}
        except ValueError:
            args = {"input": args}
    resolved = resolve_tool_name(name, tools)
    if not isinstance(args, dict):
        args = single_value(args, tools.get(resolved))
    return ReactStep(thought=_strip_fences(body[:start]).strip(), action=resolved, arguments=args)


def looks_like_json_call(text: str, tools: dict[str, Tool]) -> ReactStep | None:
    """A reply whose content is a JSON tool call naming a known tool (auto protocol)."""
    step = _json_call(text, tools)
    if step is not None and step.action in tools:
        return step
    return None


def parse_react(text: str, tools: dict[str, Tool]) -> ReactStep:
    """Read one model reply written in the text ReAct protocol."""
    think, text = split_think(text)
    action = _first(ACTION_RE, text)
    final = _first(FINAL_RE, text)
    if final is not None and (action is None or final.start() < action.start()):
        thought = _thought_before(text, final.start())
        answer = text[final.end():].strip()
        return ReactStep(thought=_join(think, thought), final_answer=answer)
    if action is None:
        step = _json_call(text, tools)
        if step is not None:
            step.thought = _join(think, step.thought)
            return step
        thought = _thought_before(text, len(text))
        return ReactStep(
            thought=_join(think, thought),
            problem="the reply has neither an 'Action:' line nor a 'Final Answer:' line",
        )
    thought = _thought_before(text, action.start())
    rest = text[action.end():]
    cut = _first(OBS_RE, rest)  # an Observation the model invented: never trust it
    if cut is not None:
        rest = rest[: cut.start()]
    for stop in (FINAL_RE, THOUGHT_RE):
        m = _first(stop, rest)
        if m is not None:
            rest = rest[: m.start()]
    action_line, _, after = rest.partition("\n")
    inline = re.search(r"action[ _]input\s*[:：]", action_line, re.IGNORECASE)
    if inline is not None:  # "Action: name Action Input: {...}" on one line
        input_text = action_line[inline.end():] + "\n" + after
        action_line = action_line[: inline.start()]
    else:
        label = _first(INPUT_RE, after)
        if label is not None:
            input_text = after[label.end():]
        else:  # no label: take only what looks like arguments, not more prose
            input_text = after if re.match(r"\s*(```|\{|[A-Za-z_]\w*\s*=)", after) else ""
    return _action_step(_join(think, thought), action_line.strip(), input_text, tools)


def _action_step(thought: str, action_line: str, input_text: str, tools: dict[str, Tool]) -> ReactStep:
    action_line = action_line.strip().strip("*`").strip()
    if not action_line:
        return ReactStep(thought=thought, problem="the 'Action:' line names no tool")
    paren = re.match(r"^([A-Za-z_][\w.-]*)\s*\((.*)\)\s*$", action_line, re.DOTALL)
    inline: dict[str, Any] = {}
    if paren:
        name = resolve_tool_name(paren.group(1), tools)
        try:
            inline = _call_arguments(paren.group(2), tools.get(name))
        except ValueError:
            return ReactStep(thought=thought, action=name, problem=f"could not read the arguments in {action_line!r}")
    else:
        brace = action_line.find("{")
        name_text = action_line[:brace] if brace > 0 else action_line
        if brace > 0 and not input_text.strip():
            input_text = action_line[brace:]
        name = resolve_tool_name(name_text, tools)
    try:
        args = parse_arguments(input_text, tools.get(name)) if input_text.strip() else {}
    except ValueError:
        return ReactStep(thought=thought, action=name, problem=f"could not read the Action Input {input_text.strip()[:80]!r}")
    return ReactStep(thought=thought, action=name, arguments={**inline, **args})


def parse_json_reply(text: str, tools: dict[str, Tool]) -> ReactStep:
    """Read a reply written under the JSON-schema response format."""
    try:
        value = loads_lenient(text[text.find("{") : text.rfind("}") + 1] if "{" in text else text)
    except ValueError:
        return parse_react(text, tools)  # the server ignored the schema; read it as text
    if not isinstance(value, dict):
        return ReactStep(problem="the reply is JSON but not an object")
    thought = str(value.get("thought", "")).strip()
    if value.get("final_answer") is not None and not value.get("action"):
        return ReactStep(thought=thought, final_answer=str(value["final_answer"]).strip())
    name = value.get("action")
    if not isinstance(name, str) or not name.strip():
        return ReactStep(thought=thought, problem="the JSON has neither 'action' nor 'final_answer'")
    resolved = resolve_tool_name(name, tools)
    args = value.get("action_input", {})
    if isinstance(args, str):
        args = parse_arguments(args, tools.get(resolved))
    elif not isinstance(args, dict):
        args = single_value(args, tools.get(resolved))
    return ReactStep(thought=thought, action=resolved, arguments=args)


def _join(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def format_action(thought: str, name: str, arguments: dict[str, Any]) -> str:
    """How an earlier step is replayed to the model in the text protocol."""
    lines = [f"Thought: {thought}"] if thought else []
    lines += [f"Action: {name}", f"Action Input: {json.dumps(arguments, ensure_ascii=False)}"]
    return "\n".join(lines)


def format_json_action(thought: str, name: str, arguments: dict[str, Any]) -> str:
    return json.dumps({"thought": thought, "action": name, "action_input": arguments}, ensure_ascii=False)


# -- streaming -------------------------------------------------------------------------
_MARKERS = (
    "thought:", "thinking:", "reasoning:", "action:", "action input:", "action_input:", "tool:",
    "final answer:", "final_answer:", "answer:", "observation:", "result:", "思考", "行动", "最终答案", "最终回答",
)


class StreamSplitter:
    """Turn streamed text into thought and answer fragments as it arrives.

    Text before an 'Action:' or 'Final Answer:' line is thought (without its 'Thought:'
    label); text after 'Final Answer:' is answer; the action itself is not streamed (the
    loop shows it as an Action event). A trailing partial line that could still become a
    label is held back until the next fragment decides it.
    """

    def __init__(self) -> None:
        self.text = ""
        self._thought_sent = 0
        self._answer_sent = 0

    def feed(self, delta: str, final: bool = False) -> list[tuple[str, str]]:
        self.text += delta
        out: list[tuple[str, str]] = []
        thought, answer = self._visible(final)
        if len(thought) > self._thought_sent:
            out.append(("thought", thought[self._thought_sent:]))
            self._thought_sent = len(thought)
        if answer is not None and len(answer) > self._answer_sent:
            out.append(("answer", answer[self._answer_sent:]))
            self._answer_sent = len(answer)
        return out

    def finish(self) -> list[tuple[str, str]]:
        return self.feed("", final=True)

    def _visible(self, final: bool) -> tuple[str, str | None]:
        text = THINK_RE.sub(lambda m: m.group(1), self.text).replace("<think>", "")
        final_m = _first(FINAL_RE, text)
        action_m = _first(ACTION_RE, text)
        ends = [m.start() for m in (final_m, action_m) if m is not None]
        end = min(ends) if ends else len(text)
        head = text[:end]
        if not final and not ends:
            last_nl = head.rfind("\n")
            tail = head[last_nl + 1:].lstrip(" \t>#*_`-").lower()
            if any(marker.startswith(tail) for marker in _MARKERS) or len(tail) < 3:
                head = head[: last_nl + 1]
        label = _first(THOUGHT_RE, head)
        start = label.end() if label is not None and not head[: label.start()].strip() else 0
        thought = head[start:].lstrip()
        answer = None
        if final_m is not None and (action_m is None or final_m.start() < action_m.start()):
            answer = text[final_m.end():].lstrip()
        return thought, answer
