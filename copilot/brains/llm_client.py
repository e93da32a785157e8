"""Talking to an OpenAI-compatible chat endpoint: the client, streaming with retries,
errors a user can act on, and token accounting.

`openai` is imported only when the first request is made, so the CLI's `--help` path
never pays for it. Retries (tenacity: 429, 5xx, connection errors, timeouts; exponential
backoff with jitter, or the server's Retry-After) happen only before the first piece of
output has been handed to the caller: a stream that breaks off afterwards raises
`ModelError` instead of silently repeating text the user has already seen.
`settings.retries` is the total number of attempts per request, and
`settings.model_budget` bounds a whole call until its answer starts (connects, attempts and
backoff included: tenacity's stop_after_attempt | stop_after_delay, under an asyncio
deadline); once streaming, a gap of min(request_timeout, model_budget) seconds without a
chunk ends the call, so a hung or stalled endpoint fails within a known time.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from ..config import Settings
from ..errors import ModelError, ModelUnreachable

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_API_KEY = "not-needed"  # local servers accept any non-empty key
MAX_RETRY_AFTER_S = 60.0


@dataclass
class ToolCallFragment:
    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class Piece:
    """What one streamed chunk carried."""

    content: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCallFragment] = field(default_factory=list)
    finish_reason: str | None = None
    usage: tuple[int, int] | None = None  # (prompt_tokens, completion_tokens)

    @property
    def has_output(self) -> bool:
        return bool(self.content or self.reasoning or self.tool_calls)


def estimate_tokens(text: str) -> int:
    """A rough count for servers that report no usage: ~4 ASCII characters a token,
    one token per other character (Chinese)."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return (ascii_chars + 3) // 4 + (len(text) - ascii_chars)


def _piece_from_chunk(chunk: Any) -> Piece:
    piece = Piece()
    usage = getattr(chunk, "usage", None)
    if usage is not None:
        piece.usage = (int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0))
    for choice in getattr(chunk, "choices", None) or []:
        delta = choice.delta
        if delta is None:
            continue
        piece.content += delta.content or ""
        extra = getattr(delta, "model_extra", None) or {}
        # reasoning models on vLLM / DeepSeek / Ollama stream their thinking separately
        piece.reasoning += str(extra.get("reasoning_content") or extra.get("reasoning") or "")
        for tc in delta.tool_calls or []:
            fn = tc.function
            piece.tool_calls.append(
                ToolCallFragment(
                    index=tc.index if tc.index is not None else 0,
                    id=tc.id or "",
                    name=(fn.name or "") if fn else "",
                    arguments=(fn.arguments or "") if fn else "",
                )
            )
        if choice.finish_reason:
            piece.finish_reason = choice.finish_reason
    return piece


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return min(max(float(value) * scale, 0.0), MAX_RETRY_AFTER_S)
        except ValueError:
            continue  # an HTTP date: fall back to our own backoff
    return None


def _is_transient(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, openai.APIConnectionError):  # includes timeouts
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def _short(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    message = ""
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = str(inner.get("message", "")) if isinstance(inner, dict) else str(inner)
    message = message or str(getattr(exc, "message", "") or exc)
    message = " ".join(message.split())
    return message[:200]


def _root_reason(exc: BaseException) -> str:
    """The innermost cause of a connection error, e.g. 'connection refused'."""
    chain = [exc]
    while len(chain) < 20 and (chain[-1].__cause__ or chain[-1].__context__) is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)  # type: ignore[arg-type]
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    if any(isinstance(e, socket.gaierror) for e in chain):
        return "unknown host"
    text = " ".join(str(chain[-1]).split())
    if "refused" in text.lower() or "errno 111" in text.lower():
        return "connection refused"
    return text[:120] or type(chain[-1]).__name__


CONNECT_TIMEOUT_S = 10.0  # an endpoint that does not accept a connection fails fast


class ChatClient:
    """One OpenAI-compatible endpoint, as the brain needs it."""

    def __init__(self, settings: Settings, *, backoff_s: float = 0.5, max_backoff_s: float = 8.0) -> None:
        self.settings = settings
        self.base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.include_usage = True  # turned off once a server rejects stream_options
        self.send_max_tokens = True  # turned off once a server rejects max_tokens
        self.schema_as_json_object = False  # llama-cpp-python wants {"type": "json_object", "schema": ...}
        self.requests = 0  # HTTP requests sent (attempts included)
        self._client: Any = None

    @property
    def attempts(self) -> int:
        return max(1, int(self.settings.retries))

    @property
    def budget_s(self) -> float:
        """Seconds a call may take until its answer starts, every attempt included."""
        return max(0.1, float(self.settings.model_budget))

    @property
    def first_output_s(self) -> float:
        """Seconds an answering server may take to produce its first output."""
        return max(0.1, float(self.settings.model_first_output))

    @property
    def stall_s(self) -> float:
        """Seconds a streaming answer may go without a chunk."""
        return max(0.1, min(float(self.settings.request_timeout), self.budget_s))

    def _openai(self) -> Any:
        if self._client is None:
            import openai

            self._client = openai.AsyncOpenAI(
                base_url=self.base_url,
                api_key=self.settings.api_key or PLACEHOLDER_API_KEY,
                timeout=openai.Timeout(self.settings.request_timeout,
                                      connect=min(CONNECT_TIMEOUT_S, self.settings.request_timeout)),
                max_retries=0,  # we retry ourselves, and never after output has started
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _wait(self, retry_state: Any) -> float:
        from tenacity import wait_exponential_jitter

        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        after = _retry_after(exc) if exc is not None else None
        if after is not None:
            return after
        return wait_exponential_jitter(multiplier=self.backoff_s, max=self.max_backoff_s, jitter=self.backoff_s)(retry_state)

    def _retrying(self) -> Any:
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_after_delay

        return AsyncRetrying(
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.budget_s),
            wait=self._wait,
            retry=retry_if_exception(_is_transient),
            reraise=True,
        )

    async def first_model(self) -> str:
        """The first model the server lists (for `base_url` set but no model name)."""
        try:
            async with asyncio.timeout(self.budget_s):
                async for attempt in self._retrying():
                    with attempt:
                        self.requests += 1
                        page = await self._openai().models.list()
        except Exception as exc:
            raise self.error(exc, "") from None
        models = [m.id for m in getattr(page, "data", [])]
        if not models:
            raise ModelError(f"the model server at {self.base_url} lists no models; set the model name with --model")
        return models[0]

    async def _open(self, request: dict[str, Any]) -> Any:
        """Send the request; the stream, once the server has answered (its headers)."""
        import openai

        client = self._openai()
        stream = None
        for _ in range(4):  # at most one fallback for each optional feature (usage, schema, max_tokens)
            body = self._body(request)
            self.requests += 1
            try:
                stream = await client.chat.completions.create(**body)
                break
            except openai.APIStatusError as exc:
                if not self._fall_back(exc, body):
                    raise
        if stream is None:
            raise ModelError(f"the model server at {self.base_url} rejected every form of the request; check its log")
        return stream

    async def _first_output(self, stream: Any) -> tuple[Any, list[Piece], bool]:
        """Read until the first piece of real output (or the end). The server has answered (its
        headers): it may read a long prompt for a while (a local model on a CPU), so this has its
        own limit, and running out of it is not retried (a copy would queue behind the first).
        A connection dropped before any output is transient and retried: nothing was lost."""
        import openai

        iterator = stream.__aiter__()
        buffered: list[Piece] = []
        try:
            async with asyncio.timeout(self.first_output_s):
                while True:
                    try:
                        chunk = await iterator.__anext__()
                    except StopAsyncIteration:
                        return iterator, buffered, True
                    piece = _piece_from_chunk(chunk)
                    buffered.append(piece)
                    if piece.has_output:
                        return iterator, buffered, False
        except TimeoutError:
            await stream.close()
            raise ModelUnreachable(
                f"the model at {self.base_url} produced no output within {self.first_output_s:g}s "
                "(model_first_output); check the model server, or use --offline") from None
        except openai.APITimeoutError as exc:
            await stream.close()
            raise ModelUnreachable(
                f"the model at {self.base_url} answered but sent no output ({_root_reason(exc)}); "
                "check the model server's log, raise request_timeout, or use --offline") from None
        except BaseException:
            await stream.close()
            raise

    def _body(self, request: dict[str, Any]) -> dict[str, Any]:
        body = dict(request, stream=True)
        if not self.send_max_tokens:
            body.pop("max_tokens", None)
        if self.include_usage:
            body["stream_options"] = {"include_usage": True}
        fmt = body.get("response_format")
        if self.schema_as_json_object and isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            body["response_format"] = {"type": "json_object", "schema": fmt["json_schema"]["schema"]}
        return body

    def _fall_back(self, exc: Any, body: dict[str, Any]) -> bool:
        """Drop or reshape an optional feature the server rejected; False when none fits."""
        if exc.status_code not in (400, 422, 500):
            return False
        message = _short(exc)
        if "stream_options" in message and "stream_options" in body:
            self.include_usage = False  # this server does not know it; count tokens ourselves
            return True
        if "max_tokens" in message and "max_tokens" in body and self.send_max_tokens:
            self.send_max_tokens = False  # e.g. a reasoning model that wants max_completion_tokens
            return True
        fmt = body.get("response_format")
        if "response_format" in message and isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            self.schema_as_json_object = True
            return True
        return False

    async def stream(self, request: dict[str, Any]) -> AsyncIterator[Piece]:
        """Stream one chat completion as `Piece`s; raise `ModelError` on failure."""
        import openai

        model = str(request.get("model", ""))
        deadline = asyncio.get_running_loop().time() + self.budget_s
        try:
            async for attempt in self._retrying():
                with attempt:
                    async with asyncio.timeout_at(deadline):  # model_budget: until the server answers
                        stream = await self._open(request)
                    iterator, buffered, done = await self._first_output(stream)
        except Exception as exc:
            raise self.error(exc, model) from None
        try:
            for piece in buffered:
                yield piece
            if done:
                return
            while True:
                try:
                    chunk = await asyncio.wait_for(iterator.__anext__(), self.stall_s)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise ModelUnreachable(
                        f"the model at {self.base_url} stopped sending its answer midway (nothing for "
                        f"{self.stall_s:g}s); ask again, or check the model server's log"
                    ) from None
                except openai.APIError as exc:
                    raise ModelUnreachable(
                        f"the model at {self.base_url} broke off its answer midway ({_root_reason(exc)}); "
                        "ask again, or check the model server's log"
                    ) from None
                yield _piece_from_chunk(chunk)
        finally:
            await stream.close()

    def error(self, exc: BaseException, model: str) -> ModelError:
        """One line that says what to do, for a request that failed for good."""
        import openai

        where = self.base_url
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        if isinstance(exc, ModelError):
            return exc
        if isinstance(exc, TimeoutError):  # the call's budget ran out (asyncio deadline)
            return ModelUnreachable(
                f"the model at {where} did not start answering within {self.budget_s:g}s (model_budget, "
                "retries included); check the model server, raise model_budget, or use --offline"
            )
        if isinstance(exc, openai.APITimeoutError):
            return ModelUnreachable(
                f"the model at {where} did not answer within {self.settings.request_timeout:g}s{tries}; "
                "raise request_timeout, use a smaller model, or use --offline"
            )
        if isinstance(exc, openai.APIConnectionError):
            return ModelUnreachable(
                f"could not reach the model at {where} ({_root_reason(exc)}); start the server or use --offline"
            )
        if isinstance(exc, openai.AuthenticationError):
            return ModelError("the model server rejected the API key; set OPENAI_API_KEY (or api_key in config.toml)")
        if isinstance(exc, openai.PermissionDeniedError):
            return ModelError(f"the model server refused access ({_short(exc)}); check the API key's permissions")
        if isinstance(exc, openai.NotFoundError):
            name = f"model {model!r}" if model else "the models endpoint"
            return ModelError(
                f"the model server at {where} does not know {name} ({_short(exc)}); "
                "check --model and --base-url (GET /models lists the names)"
            )
        if isinstance(exc, openai.RateLimitError):
            return ModelError(f"the model server is rate limiting requests (HTTP 429){tries}; wait a minute and retry")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status >= 500:
                return ModelUnreachable(
                    f"the model server at {where} failed (HTTP {status}: {_short(exc)}){tries}; "
                    "check its log or retry later"
                )
            return ModelError(f"the model server rejected the request (HTTP {status}: {_short(exc)})")
        if isinstance(exc, openai.OpenAIError):
            return ModelError(f"the model at {where} failed: {_short(exc)}")
        raise exc
