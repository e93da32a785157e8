"""One model call for a role of the team brain: streaming, token accounting, JSON output.

A role asks for either plain text (streamed as it arrives, as thought or answer) or one
JSON object. JSON replies use a JSON-schema `response_format` when the settings turn it
on; otherwise the object is read from the text leniently (fences, single quotes, trailing
commas, prose around it). While a JSON reply streams, the value of its "thought" field is
streamed as thought, so the user watches the model reason rather than raw JSON.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, AsyncIterator

from ..config import Settings
from ..errors import ModelError
from ..events import AnswerDelta, Event, ThoughtDelta, Usage
from . import text_protocol as tp
from .llm_client import ChatClient, estimate_tokens

log = logging.getLogger(__name__)

# Completion caps per call: small local models ramble, and every token costs seconds.
MAX_TOKENS = {"drilldown": 300, "rca": 700, "reflect": 350, "report": 260, "qa": 600}


@dataclass
class Reply:
    text: str  # the content, without <think> blocks
    data: dict[str, Any] | None  # the JSON object, for JSON roles (None when unreadable)
    streamed: str  # what was streamed to the user from this reply
    problem: str = ""  # why `data` is None


class FieldStreamer:
    """Pull the decoded value of one string field ("thought") out of streamed JSON text."""

    def __init__(self, name: str = "thought") -> None:
        self.key = f'"{name}"'
        self.buf = ""
        self.pos = -1  # index in buf where the value's characters start
        self.done = False

    def feed(self, delta: str) -> str:
        self.buf += delta
        if self.done:
            return ""
        if self.pos < 0:
            at = self.buf.find(self.key)
            if at < 0:
                return ""
            rest = self.buf[at + len(self.key):]
            stripped = rest.lstrip()
            if not stripped.startswith(":"):
                return ""
            after = stripped[1:].lstrip()
            if not after:
                return ""
            if not after.startswith('"'):
                self.done = True  # not a string value
                return ""
            self.pos = len(self.buf) - len(after) + 1
        out = []
        i = self.pos
        while i < len(self.buf):
            ch = self.buf[i]
            if ch == "\\":
                if i + 1 >= len(self.buf):
                    break  # wait for the escaped character
                nxt = self.buf[i + 1]
                if nxt == "u":
                    if i + 6 > len(self.buf):
                        break
                    try:
                        out.append(chr(int(self.buf[i + 2 : i + 6], 16)))
                    except ValueError:
                        out.append(self.buf[i : i + 6])
                    i += 6
                    continue
                out.append({"n": "\n", "t": "\t", "r": ""}.get(nxt, nxt))
                i += 2
                continue
            if ch == '"':
                self.done = True
                i += 1
                break
            out.append(ch)
            i += 1
        self.pos = i
        return "".join(out)


_BARE_WORD_RE = re.compile(r"(?<=[\[,:])(\s*)([A-Za-z_][\w.#-]*)(\s*)(?=[,\]}])")


def _quote_bare(m: re.Match[str]) -> str:
    word = m.group(2)
    if word in ("true", "false", "null", "True", "False", "None"):
        return m.group(0)
    return f'{m.group(1)}"{word}"{m.group(3)}'


def read_json_object(text: str) -> tuple[dict[str, Any] | None, str]:
    """The first JSON object in a reply (lenient), or None and why."""
    _, body = tp.split_think(text)
    start = body.find("{")
    if start < 0:
        return None, "the reply holds no JSON object"
    candidate = tp.balanced_object(body[start:])
    try:
        value = tp.loads_lenient(candidate)
    except ValueError:
        try:  # small models leave ids unquoted: "evidence": ["M1", T1, L1]
            value = tp.loads_lenient(_BARE_WORD_RE.sub(_quote_bare, candidate))
        except ValueError:
            return None, "the reply's JSON could not be read"
    if not isinstance(value, dict):
        return None, "the reply's JSON is not an object"
    return value, ""


class RoleModel:
    """The chat endpoint as the team's roles use it."""

    def __init__(self, settings: Settings, client: ChatClient | None = None) -> None:
        self.settings = settings
        self.client = client or ChatClient(settings)
        self.model = settings.model
        self.send_max_tokens = True  # dropped once a server rejects it
        self.calls = 0

    async def ensure_model(self) -> str:
        if not self.model:
            self.model = await self.client.first_model()
        return self.model

    def body(self, role: str, messages: list[dict[str, str]], schema: dict[str, Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.settings.temperature}
        if self.send_max_tokens and role in MAX_TOKENS:
            body["max_tokens"] = MAX_TOKENS[role]
        if schema is not None and self.settings.response_format:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": role, "schema": schema}}
        return body

    async def ask(
        self,
        index: int,
        role: str,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any] | None = None,
        stream_as: str = "thought",  # thought | answer | none
    ) -> AsyncIterator[Event | Reply]:
        """Stream one call; yields events, then one Reply. `schema` set: a JSON role."""
        await self.ensure_model()
        body = self.body(role, messages, schema)
        try:
            async for item in self._stream(index, body, schema is not None, stream_as):
                yield item
        except ModelError as exc:
            if "max_tokens" not in str(exc) or not self.send_max_tokens:
                raise
            self.send_max_tokens = False  # e.g. reasoning models that want max_completion_tokens
            body.pop("max_tokens", None)
            async for item in self._stream(index, body, schema is not None, stream_as):
                yield item

    async def _stream(self, index: int, body: dict[str, Any], as_json: bool, stream_as: str) -> AsyncIterator[Event | Reply]:
        self.calls += 1
        content, reasoning, usage, streamed = "", "", None, ""
        field = FieldStreamer("thought") if as_json else None
        async for piece in self.client.stream(body):
            if piece.usage is not None:
                usage = piece.usage
            reasoning += piece.reasoning
            if not piece.content:
                continue
            content += piece.content
            if field is not None:
                visible = field.feed(piece.content)
                visible = visible.lstrip() if not streamed else visible
            else:  # plain text: what is visible so far, without <think> blocks, minus what was sent
                full = tp.split_think(content)[1].lstrip()
                visible = full[len(streamed):] if full.startswith(streamed) else ""
            if not visible or stream_as == "none":
                continue
            streamed += visible
            yield AnswerDelta(visible) if stream_as == "answer" else ThoughtDelta(index, visible)
        if usage is None:
            sent = json.dumps(body["messages"], ensure_ascii=False)
            usage = (estimate_tokens(sent), estimate_tokens(content + reasoning))
        yield Usage(usage[0], usage[1], usage[0] + usage[1])
        log.debug("%s reply (%s): %r", body.get("max_tokens"), "json" if as_json else "text", content)
        _, text = tp.split_think(content)
        data, problem = read_json_object(text) if as_json else (None, "")
        yield Reply(text.strip(), data, streamed, problem)
