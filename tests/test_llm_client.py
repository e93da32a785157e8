"""Retries, timeouts and error messages of the model client, against a real local server."""

from __future__ import annotations

import socket
import time

import pytest

from copilot.brains.base import Decision, RunState
from copilot.brains.llm import LLMBrain
from copilot.brains.llm_client import ChatClient, estimate_tokens
from copilot.config import Settings
from copilot.errors import ModelError
from copilot.events import AnswerDelta
from copilot.tools import ToolContext, ToolRegistry
from tests.fake_openai import FakeOpenAI


@pytest.fixture
def server():
    with FakeOpenAI(models=["m"]) as fake:
        yield fake


def brain_for(base_url: str, **kw) -> LLMBrain:
    values = dict(base_url=base_url, model="m", request_timeout=5.0, retries=3, tool_protocol="native")
    values.update(kw)
    return LLMBrain(Settings(**values), backoff_s=0.01)


def state() -> RunState:
    return RunState(question="why?", tools=ToolRegistry(), ctx=ToolContext(), max_steps=4)


async def decide(brain: LLMBrain) -> tuple[list, Decision]:
    events, decision = [], None
    async for item in brain.step(state()):
        if isinstance(item, Decision):
            decision = item
        else:
            events.append(item)
    assert decision is not None
    return events, decision


async def test_retries_5xx_then_succeeds(server):
    server.error(500, "overloaded").error(503, "warming up").reply("Final Answer: fine")
    _, decision = await decide(brain_for(server.base_url))
    assert decision.answer == "fine"
    assert len(server.chat_requests) == 3


async def test_429_honours_retry_after(server):
    server.error(429, "slow down", headers={"Retry-After": "0.3"}).reply("Final Answer: fine")
    brain = brain_for(server.base_url)
    started = time.monotonic()
    _, decision = await decide(brain)
    assert decision.answer == "fine" and len(server.chat_requests) == 2
    assert time.monotonic() - started >= 0.3


async def test_gives_up_after_the_configured_attempts(server):
    for _ in range(3):
        server.error(500, "boom")
    with pytest.raises(ModelError) as err:
        await decide(brain_for(server.base_url, retries=2))
    assert len(server.chat_requests) == 2
    message = str(err.value)
    assert "HTTP 500" in message and "boom" in message and "after 2 attempts" in message


async def test_404_names_the_model(server):
    server.error(404, "model 'tiny' not found")
    with pytest.raises(ModelError, match="does not know model 'tiny'"):
        await decide(brain_for(server.base_url, model="tiny"))
    assert len(server.chat_requests) == 1


async def test_401_says_to_set_the_key(server):
    server.error(401, "bad key")
    with pytest.raises(ModelError, match="rejected the API key; set OPENAI_API_KEY"):
        await decide(brain_for(server.base_url))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_server_says_what_to_do():
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(ModelError) as err:
        await decide(brain_for(url, retries=2))
    assert str(err.value) == f"could not reach the model at {url} (connection refused); start the server or use --offline"


async def test_timeout_per_request(server):
    server.reply("Final Answer: late", delay=1.0).reply("Final Answer: late", delay=1.0)
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"did not answer within 0.3s after 2 attempts"):
        await decide(brain_for(server.base_url, request_timeout=0.3, retries=2))
    assert time.monotonic() - started < 2.0


async def test_drop_before_any_output_is_retried(server):
    server.reply("Final Answer: first try", drop_after=1)  # only the role chunk got out
    server.reply("Final Answer: second try")
    _, decision = await decide(brain_for(server.base_url))
    assert decision.answer == "second try"
    assert len(server.chat_requests) == 2


async def test_drop_after_output_started_is_never_retried(server):
    server.reply("Final Answer: the cart service is leaking memory", chunk=5, drop_after=6)
    server.reply("Final Answer: must not be requested")
    brain = brain_for(server.base_url)
    events = []
    with pytest.raises(ModelError, match="broke off its answer midway"):
        async for item in brain.step(state()):
            events.append(item)
    assert len(server.chat_requests) == 1
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)).startswith("the cart")


async def test_models_endpoint_failure_is_a_model_error(server):
    client = ChatClient(Settings(base_url=server.base_url.replace("/v1", "/nope"), retries=1))
    with pytest.raises(ModelError, match="does not know the models endpoint"):
        await client.first_model()


def test_estimate_tokens_counts_chinese_per_character():
    assert estimate_tokens("abcdefgh") == 2
    assert estimate_tokens("内存泄漏") == 4
    assert estimate_tokens("") == 0


@pytest.mark.parametrize("retries", [1, 3])
async def test_a_silent_endpoint_fails_within_the_model_budget(retries):
    """Accepts the connection, never answers: the call ends at model_budget, retries included
    (the read timeout alone would wait 5 s per attempt)."""
    from tests.hung_endpoint import HungEndpoint

    with HungEndpoint("silent") as hung:
        started = time.monotonic()
        with pytest.raises(ModelError) as err:
            await decide(brain_for(hung.base_url, model_budget=0.8, retries=retries))
        took = time.monotonic() - started
    assert 0.8 <= took < 0.8 + 1.5
    assert str(err.value).startswith(f"the model at {hung.base_url} did not start answering within 0.8s")


async def test_a_server_that_answered_may_read_a_long_prompt_beyond_the_budget():
    """Headers at once, then the first token after longer than model_budget (a local model on a
    CPU reading its prompt, keeping the stream alive): the answer is waited for, never re-sent."""
    from tests.hung_endpoint import HungEndpoint

    with HungEndpoint("slow") as hung:
        _, decision = await decide(brain_for(hung.base_url, model_budget=0.5, request_timeout=1.0, retries=3))
    assert decision.answer == "slow but sure" and len(hung.accepted) == 1


async def test_a_first_output_that_never_comes_fails_at_model_first_output():
    from tests.hung_endpoint import HungEndpoint

    with HungEndpoint("slow") as hung:
        started = time.monotonic()
        with pytest.raises(ModelError, match=r"produced no output within 0.6s \(model_first_output\)"):
            await decide(brain_for(hung.base_url, model_budget=0.5, request_timeout=1.0, model_first_output=0.6))
        took = time.monotonic() - started
    assert took < 0.6 + 1.5 and len(hung.accepted) == 1


async def test_an_answer_that_stalls_midway_fails_within_the_budget():
    from tests.hung_endpoint import HungEndpoint

    with HungEndpoint("stall") as hung:
        brain = brain_for(hung.base_url, model_budget=0.8, retries=3)
        events = []
        started = time.monotonic()
        with pytest.raises(ModelError, match=r"stopped sending its answer midway \(nothing for 0.8s\)"):
            async for item in brain.step(state()):
                events.append(item)
        took = time.monotonic() - started
    assert took < 0.8 * 2 + 1.5 and len(hung.accepted) == 1  # output had started: never retried
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)) == "the"
