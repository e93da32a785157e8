"""A small, real HTTP server that speaks the OpenAI chat-completions API, for tests.

It listens on 127.0.0.1 on a random port in a background thread. A test scripts what the
"model" answers with a queue of responses and afterwards reads the requests it received:

    with FakeOpenAI(models=["qwen-test"]) as server:
        server.reply("Let me look.", tool_calls=[{"name": "get_metrics", "arguments": {"service": "cart"}}])
        server.error(429, headers={"Retry-After": "0"})
        server.reply("Final Answer: cart is leaking memory")
        settings = Settings(base_url=server.base_url, model="qwen-test")
        ...
        assert "tools" in server.chat_requests[0]

Streaming replies go out as SSE chunks (`data: {...}` ... `data: [DONE]`) over chunked
transfer encoding, so `drop_after=N` can cut the connection mid-stream the way a crashed
server does (the client sees an incomplete body, not a clean end). Tool-call arguments are
split into fragments of `arg_chunk` characters, interleaved between calls by index.
When the queue is empty the server answers 500 with a message saying so.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    status: int = 200
    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] | None = None
    chunk: int = 7  # characters of content per chunk
    arg_chunk: int = 5  # characters of tool-call arguments per chunk
    finish_reason: str | None = None
    drop_after: int | None = None  # close the connection after this many SSE chunks
    delay: float = 0.0  # seconds before the response starts
    headers: dict[str, str] = field(default_factory=dict)
    error_message: str = ""


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any] | None


class FakeOpenAI:
    def __init__(self, models: list[str] | tuple[str, ...] = ("fake-model",)) -> None:
        self.models = list(models)
        self.queue: deque[Scripted] = deque()
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting -------------------------------------------------------------------
    def reply(
        self,
        content: str = "",
        *,
        tool_calls: list[dict[str, Any]] | None = None,
        reasoning: str = "",
        usage: dict[str, int] | None = None,
        chunk: int = 7,
        arg_chunk: int = 5,
        finish_reason: str | None = None,
        drop_after: int | None = None,
        delay: float = 0.0,
    ) -> "FakeOpenAI":
        """Queue one successful answer. `tool_calls`: dicts with name, arguments (dict or
        string), optional id. `usage`: prompt/completion token counts to report."""
        calls = []
        for i, call in enumerate(tool_calls or []):
            args = call.get("arguments", {})
            calls.append(
                {
                    "id": call.get("id", f"call_{uuid.uuid4().hex[:8]}_{i}"),
                    "name": call["name"],
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                }
            )
        self.queue.append(
            Scripted(
                content=content,
                reasoning=reasoning,
                tool_calls=calls,
                usage=usage,
                chunk=max(1, chunk),
                arg_chunk=max(1, arg_chunk),
                finish_reason=finish_reason,
                drop_after=drop_after,
                delay=delay,
            )
        )
        return self

    def error(
        self, status: int, message: str = "", *, headers: dict[str, str] | None = None, delay: float = 0.0
    ) -> "FakeOpenAI":
        """Queue one HTTP error (500, 429 with Retry-After, 401, 404, 400...)."""
        self.queue.append(
            Scripted(status=status, error_message=message or f"fake error {status}", headers=dict(headers or {}), delay=delay)
        )
        return self

    # -- what the client sent --------------------------------------------------------
    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r.body or {} for r in self.requests if r.path.endswith("/chat/completions")]

    # -- lifecycle -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> "FakeOpenAI":
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self) -> Scripted:
        with self._lock:
            if self.queue:
                return self.queue.popleft()
        return Scripted(status=500, error_message="fake server: no scripted response left")


def _chunk_obj(model: str, delta: dict[str, Any] | None, finish: str | None = None, usage: dict | None = None) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}],
        **({"usage": usage} if usage is not None else {}),
    }


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _usage(script: Scripted) -> dict[str, int]:
    assert script.usage is not None
    prompt = script.usage.get("prompt_tokens", 0)
    completion = script.usage.get("completion_tokens", 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def stream_chunks(script: Scripted, model: str, include_usage: bool) -> list[dict[str, Any]]:
    """The SSE chunk objects for one scripted streaming answer."""
    chunks = [_chunk_obj(model, {"role": "assistant", "content": ""})]
    chunks += [_chunk_obj(model, {"reasoning_content": p}) for p in _pieces(script.reasoning, script.chunk)]
    chunks += [_chunk_obj(model, {"content": p}) for p in _pieces(script.content, script.chunk)]
    fragments = [_pieces(c["arguments"], script.arg_chunk) for c in script.tool_calls]
    for i, call in enumerate(script.tool_calls):
        head = {"index": i, "id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": ""}}
        chunks.append(_chunk_obj(model, {"tool_calls": [head]}))
    longest = max((len(f) for f in fragments), default=0)
    for n in range(longest):  # interleave the argument fragments of parallel calls
        for i, parts in enumerate(fragments):
            if n < len(parts):
                frag = {"index": i, "function": {"arguments": parts[n]}}
                chunks.append(_chunk_obj(model, {"tool_calls": [frag]}))
    finish = script.finish_reason or ("tool_calls" if script.tool_calls else "stop")
    chunks.append(_chunk_obj(model, {}, finish))
    if include_usage and script.usage is not None:
        chunks.append(_chunk_obj(model, None, usage=_usage(script)))
    return chunks


def completion_obj(script: Scripted, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": script.content or None}
    if script.tool_calls:
        message["tool_calls"] = [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in script.tool_calls
        ]
    out: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": script.finish_reason or ("tool_calls" if script.tool_calls else "stop"),
            }
        ],
    }
    if script.usage is not None:
        out["usage"] = _usage(script)
    return out


def _make_handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

        def _record(self, body: dict[str, Any] | None) -> None:
            with fake._lock:
                fake.requests.append(Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))

        def _send_json(self, status: int, obj: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._record(None)
            if self.path.rstrip("/") == "/v1/models":
                data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models]
                self._send_json(200, {"object": "list", "data": data})
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def do_POST(self) -> None:
            try:
                self._post()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client hung up (a timeout test, a cancelled stream)

        def _post(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {"_unparsed": raw.decode(errors="replace")}
            self._record(body)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            script = fake._next()
            if script.delay:
                time.sleep(script.delay)
            if script.status != 200:
                error = {"message": script.error_message, "type": "fake_error", "code": script.status}
                self._send_json(script.status, {"error": error}, script.headers)
                return
            model = body.get("model") or "fake-model"
            if not body.get("stream"):
                self._send_json(200, completion_obj(script, model))
                return
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(stream_chunks(script, model, include_usage), script.drop_after)

        def _write_chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _stream(self, chunks: list[dict[str, Any]], drop_after: int | None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for n, chunk in enumerate(chunks):
                if drop_after is not None and n >= drop_after:
                    self._drop()
                    return
                self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
            self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _drop(self) -> None:
            """Cut the connection without finishing the chunked body, like a crashed server."""
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the peer may already be gone; the connection is being dropped anyway
            self.connection.close()

    return Handler
