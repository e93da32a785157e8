"""The LLM brain: any OpenAI-compatible chat model decides the next step.

Each step rebuilds the chat from the run state (system prompt, earlier turns, the
question with recalled memory, then every step's assistant message and tool results),
streams the model's reply as ThoughtDelta / AnswerDelta events, and ends with one
Decision: tool calls to run, or the answer.

Tool protocols (`settings.tool_protocol`):
- native: tools go in the request's `tools`; calls come back as streamed `tool_calls`.
- text: no `tools`; a ReAct prompt (text_protocol.py) with "Observation:" as stop sequence,
  or JSON-schema constrained output when `settings.response_format` is on.
- auto: native first; when the model ignores the tools or writes its calls as text, this
  brain (and every later brain for the same model in this process) switches to text.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, AsyncIterator

from ..config import Settings, data_dir
from ..diagnosis import FAULT_KINDS, Diagnosis, RootCause
from ..kinds import is_kind, prompt_kinds
from ..errors import ModelError
from ..events import AnswerDelta, Event, ThoughtDelta, Usage
from ..prompts import load_prompt
from ..tools import Tool, ToolResult
from . import text_protocol as tp
from .base import Decision, RunState, ToolCall
from .llm_client import ChatClient, ToolCallFragment, estimate_tokens

log = logging.getLogger(__name__)

# (base_url, model) pairs seen to need the text protocol: remembered for the process and in
# the data dir (model_protocols.json), so the next `copilot --query` starts in the protocol
# that worked instead of spending its first model call finding out again.
_TEXT_MODELS: set[tuple[str, str]] = set()
PROTOCOLS_FILE = "model_protocols.json"


def _protocols_path() -> Path:
    return data_dir() / PROTOCOLS_FILE


def _saved_text_models() -> list[list[str]]:
    """The (base_url, model) pairs model_protocols.json remembers; [] when there is none or
    it cannot be read (then the protocol is found out again)."""
    try:
        saved = json.loads(_protocols_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    known = saved.get("text", []) if isinstance(saved, dict) else []
    return [k for k in known if isinstance(k, list) and len(k) == 2] if isinstance(known, list) else []


def needs_text_protocol(base_url: str, model: str) -> bool:
    """Whether this model at this endpoint was seen to need the text protocol (this process or before)."""
    if (base_url, model) not in _TEXT_MODELS and [base_url, model] in _saved_text_models():
        _TEXT_MODELS.add((base_url, model))
    return (base_url, model) in _TEXT_MODELS


def remember_text_protocol(base_url: str, model: str) -> None:
    """Record that this model needs the text protocol; a failed write only costs a retry next time."""
    _TEXT_MODELS.add((base_url, model))
    known = _saved_text_models()
    if [base_url, model] in known:
        return
    path = _protocols_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"text": known + [[base_url, model]]}, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        log.info("could not remember the model's tool protocol in %s: %s", path, exc)


_JSON_BLOCK_RE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL | re.IGNORECASE)


def fill(template: str, **values: str) -> str:
    """Put values into `{name}` slots, leaving every other brace alone (JSON examples)."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template.strip()


def observation_text(result: ToolResult) -> str:
    return f"[{result.status}] {result.output}"


def diagnosis_from_answer(answer: str, question: str) -> Diagnosis | None:
    """Root causes from a JSON block in the final answer, when the model wrote one."""
    candidates = [m.group(1) for m in _JSON_BLOCK_RE.finditer(answer)]
    start = answer.find('{"root_causes"')
    if start >= 0:
        candidates.append(tp.balanced_object(answer[start:]))
    for text in candidates:
        try:
            data = tp.loads_lenient(text)
        except ValueError:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("root_causes"), list):
            continue
        causes = []
        for item in data["root_causes"]:
            if not isinstance(item, dict) or not str(item.get("component", "")).strip():
                continue
            kind = str(item.get("fault_type") or item.get("fault_kind") or "").strip().lower().replace(" ", "_")
            try:
                confidence = min(max(float(item.get("confidence", 0.5)), 0.0), 1.0)
            except (TypeError, ValueError):
                confidence = 0.5
            evidence = item.get("evidence", [])
            causes.append(
                RootCause(
                    component=str(item["component"]).strip(),
                    fault_type=kind if kind in FAULT_KINDS or is_kind(kind) else "unknown",
                    confidence=confidence,
                    evidence=[str(e) for e in evidence] if isinstance(evidence, list) else [str(evidence)],
                )
            )
        if causes:
            mitigation = data.get("mitigation", [])
            mitigation = [str(m) for m in mitigation] if isinstance(mitigation, list) else [str(mitigation)]
            return Diagnosis(question=question, answer=answer, root_causes=causes, mitigation=mitigation)
    return None


class LLMBrain:
    wants_recall_first = True  # recalled diagnoses go into the first prompt
    # auto protocol: a first reply that answers without calling a tool is taken as "the
    # server never showed the tools" and asked again in text (a role loop, where answering
    # at once is legitimate, turns this off)
    retry_plain_answers = True
    # the run's own brain ends in the report stage; a role loop inside the team brain (RoleBrain)
    # answers its role's question and leaves the report to the team brain
    writes_report = True
    def __init__(self, settings: Settings, *, client: ChatClient | None = None, backoff_s: float = 0.5) -> None:
        self.settings = settings
        self.client = client or ChatClient(settings, backoff_s=backoff_s)
        self.model = settings.model
        self.label = settings.model or "default"
        self.protocol = settings.tool_protocol if settings.tool_protocol in ("auto", "native", "text") else "auto"
        self._remembered()

    @staticmethod
    def _notes(state: RunState) -> dict[int, tuple[str, str]]:
        """This run's corrections, kept on the run: step index -> (unusable reply, correction)."""
        if not isinstance(state.memory, dict):
            state.memory = {}
        return state.memory

    def _remembered(self) -> None:
        if self.protocol == "auto" and self.model and needs_text_protocol(self.client.base_url, self.model):
            self.protocol = "text"

    def _switch_to_text(self) -> None:
        self.protocol = "text"
        remember_text_protocol(self.client.base_url, self.model)

    def _mode(self, tools: dict[str, Tool]) -> str:
        if self.protocol == "text" and tools:
            return "json" if self.settings.response_format else "text"
        return "native"

    def _language(self, state: RunState) -> str:
        lang = self.settings.language if self.settings.language in ("en", "zh") else state.language
        return "zh" if lang == "zh" else "en"

    # -- the chat ------------------------------------------------------------------------
    def system_prompt(self, state: RunState) -> str:
        return fill(
            load_prompt("system"),
            fault_kinds=prompt_kinds(),
            language=load_prompt(f"language_{self._language(state)}").strip(),
        )

    def opening(self, state: RunState) -> str:
        """The user message that opens the run: the question (with recalled memory)."""
        question = state.question
        if state.recalled:
            items = "\n".join(
                f"- {r.get('summary', '')} (similarity {float(r.get('similarity', 0.0)):.2f})" for r in state.recalled
            )
            question += "\n\n" + fill(load_prompt("recalled"), items=items)
        return question

    def observation(self, result: ToolResult) -> str:
        return observation_text(result)

    def messages(self, state: RunState, mode: str) -> list[dict[str, Any]]:
        tools = list(state.tools)
        system = self.system_prompt(state)
        if mode in ("text", "json"):
            protocol = load_prompt("react_json" if mode == "json" else "react_text")
            names = ", ".join(t.name for t in tools)
            system += "\n\n" + fill(protocol, tools=tp.render_tools(tools), tool_names=names)
        out: list[dict[str, Any]] = [{"role": "system", "content": system}]
        for turn in state.history:
            if turn.get("role") in ("user", "assistant") and turn.get("content"):
                out.append({"role": turn["role"], "content": turn["content"]})
        out.append({"role": "user", "content": self.opening(state)})
        seen_calls: dict[str, int] = {}
        for step in state.steps:
            note = self._notes(state).get(step.index)
            if note is not None:
                out.append({"role": "assistant", "content": note[0] or "(empty reply)"})
                out.append({"role": "user", "content": note[1]})
                continue
            if not step.calls:
                continue
            observed = []
            for call, result in zip(step.calls, step.results):
                text = self.observation(result)
                key = call.name + json.dumps(call.arguments, sort_keys=True, default=str)
                if key in seen_calls:
                    text += "\n" + fill(load_prompt("repeated_call"), step=str(seen_calls[key]))
                seen_calls.setdefault(key, step.index)
                observed.append(text)
            if mode == "native":
                out.append(
                    {
                        "role": "assistant",
                        "content": step.thought or None,
                        "tool_calls": [
                            {
                                "id": call.id or f"call_{step.index}_{n}",
                                "type": "function",
                                "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)},
                            }
                            for n, call in enumerate(step.calls, 1)
                        ],
                    }
                )
                for n, (call, text) in enumerate(zip(step.calls, observed), 1):
                    out.append({"role": "tool", "tool_call_id": call.id or f"call_{step.index}_{n}", "content": text})
            else:
                fmt = tp.format_json_action if mode == "json" else tp.format_action
                said = [fmt(step.thought if n == 0 else "", c.name, c.arguments) for n, c in enumerate(step.calls)]
                out.append({"role": "assistant", "content": "\n".join(said)})
                out.append({"role": "user", "content": "\n\n".join(f"Observation: {t}" for t in observed)})
        if self._last_step(state):
            last = load_prompt("last_step").strip()
            if out[-1]["role"] == "user":
                out[-1] = dict(out[-1], content=out[-1]["content"] + "\n\n" + last)
            else:
                out.append({"role": "user", "content": last})
        return out

    @staticmethod
    def _last_step(state: RunState) -> bool:
        return bool(state.steps) and state.step_index >= state.max_steps

    def request(self, state: RunState, mode: str) -> dict[str, Any]:
        tools = list(state.tools)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": self.messages(state, mode),
            "temperature": self.settings.temperature,
        }
        if self.settings.max_reply_tokens > 0:
            body["max_tokens"] = int(self.settings.max_reply_tokens)
        if mode == "native" and tools and self.protocol != "text" and not self._last_step(state):
            body["tools"] = [t.openai_schema() for t in tools]
        elif mode == "text":
            body["stop"] = list(tp.STOP_SEQUENCES)
        elif mode == "json":
            body["response_format"] = tp.response_format([t.name for t in tools], final_only=self._last_step(state))
        return body

    async def aclose(self) -> None:
        """Release the model connection (its HTTP client) when the run is over."""
        await self.client.close()

    async def ready(self) -> None:
        """Name the model before the run header is shown (the server's first model when none is set)."""
        if not self.model:
            self.model = await self.client.first_model()
            self.label = self.model
            self._remembered()

    # -- one step ------------------------------------------------------------------------
    async def step(self, state: RunState) -> AsyncIterator[Event | Decision]:
        if not self.model:
            self.model = await self.client.first_model()
            self.label = self.model
            self._remembered()
        tools = {t.name: t for t in state.tools}
        mode = self._mode(tools)
        decision: Decision | None = None
        ignored = False
        async for item in self._ask(state, mode, tools):
            if isinstance(item, Decision):
                decision = item
            elif item is None:
                ignored = True  # a native reply that ignored the tools
            else:
                yield item
        if decision is None and ignored:  # ask again, once, with the text protocol
            async for item in self._ask(state, self._mode(tools), tools):
                if item is not None:
                    yield item
        elif decision is not None:
            yield decision

    async def _ask(self, state: RunState, mode: str, tools: dict[str, Tool]) -> AsyncIterator[Event | Decision | None]:
        index = state.step_index
        body = self.request(state, mode)
        splitter = tp.StreamSplitter() if mode != "json" else None
        # auto, first step: a reply without tool calls will be discarded, so never stream it as an answer
        tentative = (mode == "native" and self.protocol == "auto" and self.retry_plain_answers and bool(tools)
                     and not state.steps and not state.history)
        content, reasoning, usage = "", "", None
        fragments: dict[int, ToolCallFragment] = {}
        async for piece in self.client.stream(body):
            if piece.usage is not None:
                usage = piece.usage
            if piece.reasoning:
                reasoning += piece.reasoning
                yield ThoughtDelta(index, piece.reasoning)
            if piece.content:
                content += piece.content
                if splitter is not None:
                    for event in self._deltas(index, splitter.feed(piece.content), tentative):
                        yield event
            for frag in piece.tool_calls:
                have = fragments.setdefault(frag.index, ToolCallFragment(frag.index))
                have.id = have.id or frag.id
                have.name += frag.name
                have.arguments += frag.arguments
        if splitter is not None:
            for event in self._deltas(index, splitter.finish(), tentative):
                yield event
        if usage is None:
            sent = json.dumps(body["messages"], ensure_ascii=False) + json.dumps(body.get("tools", []))
            said = content + reasoning + "".join(f.name + f.arguments for f in fragments.values())
            usage = (estimate_tokens(sent), estimate_tokens(said))
        yield Usage(usage[0], usage[1], usage[0] + usage[1])
        log.debug("step %d (%s) reply: %r tool calls: %r", index, mode, content, list(fragments.values()))
        if mode == "native":
            yield self._native_decision(state, content, reasoning, fragments, tools)
        else:
            reply = tp.parse_json_reply(content, tools) if mode == "json" else tp.parse_react(content, tools)
            yield self._text_decision(state, reply, content, reasoning)

    @staticmethod
    def _deltas(index: int, parts: list[tuple[str, str]], hold_answer: bool = False) -> list[Event]:
        out: list[Event] = []
        for kind, text in parts:
            if kind == "thought":
                out.append(ThoughtDelta(index, text))
            elif not hold_answer:
                out.append(AnswerDelta(text))
        return out

    def _native_decision(
        self, state: RunState, content: str, reasoning: str, fragments: dict[int, ToolCallFragment], tools: dict[str, Tool]
    ) -> Decision | None:
        index = state.step_index
        if fragments:
            calls = []
            for n, frag in enumerate(sorted(fragments.values(), key=lambda f: f.index), 1):
                name = tp.resolve_tool_name(frag.name, tools)
                try:
                    args = tp.loads_lenient(frag.arguments) if frag.arguments.strip() else {}
                except ValueError:
                    args = {"unreadable_arguments": frag.arguments[:200]}
                if not isinstance(args, dict):
                    args = tp.single_value(args, tools.get(name))
                calls.append(ToolCall(frag.id or f"call_{index}_{n}", name, tp.fit_arguments(args, tools.get(name))))
            thought = tp.parse_react(content, tools).thought if content.strip() else ""
            return Decision(thought=thought or reasoning.strip(), calls=calls)
        reply = tp.parse_react(content, tools)
        if self.protocol == "auto" and tools:
            as_text = reply if reply.action is not None else tp.looks_like_json_call(content, tools)
            if as_text is not None and as_text.action is not None:
                self._switch_to_text()
                return self._text_decision(state, as_text, content, reasoning)
            if self.retry_plain_answers and not state.steps and not state.history:
                # it concluded without looking at anything (often the server never showed it
                # the tools): ask again with the tools in the prompt
                self._switch_to_text()
                return None
        if reply.final_answer is not None:
            return self._answer(state, reply.thought or reasoning.strip(), reply.final_answer)
        return self._answer(state, reasoning.strip(), tp.split_think(content)[1].strip())

    def _text_decision(self, state: RunState, reply: tp.ReactStep, content: str, reasoning: str) -> Decision:
        index = state.step_index
        thought = reply.thought or reasoning.strip()
        if reply.final_answer is not None:
            return self._answer(state, thought, reply.final_answer)
        if reply.action is not None and reply.problem is None:
            args = tp.fit_arguments(reply.arguments, state.tools.get(reply.action))
            return Decision(thought=thought, calls=[ToolCall(f"call_{index}_1", reply.action, args)])
        problem = reply.problem or "the reply could not be read"
        if (index - 1) in self._notes(state):
            # the model missed the format twice in a row: take its words as the answer
            words = tp.split_think(content)[1].strip() or thought
            if not words:
                raise ModelError(
                    f"the model {self.model!r} gave empty replies twice; try another model or use --offline"
                )
            return self._answer(state, thought, words)
        names = ", ".join(t.name for t in state.tools)
        self._notes(state)[index] = (content, fill(load_prompt("correction"), problem=problem, tool_names=names))
        return Decision(thought=thought)

    def _answer(self, state: RunState, thought: str, answer: str) -> Decision:
        """The model's conclusion; after an investigation, the five-section report every
        strategy ends in (report_stage.py), with the model's cited text as its summary."""
        from .report_stage import report_for_answer

        model = diagnosis_from_answer(answer, state.question)
        reported = report_for_answer(state, answer, model, self.label) if self.writes_report else None
        if reported is None:
            return Decision(thought=thought, answer=answer, diagnosis=model)
        return Decision(thought=thought, answer=reported.answer, diagnosis=reported, agent="report")
