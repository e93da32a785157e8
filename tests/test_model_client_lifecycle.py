"""A run's model connection is closed by the run that opened it, and a stray error in a
background task never holds the REPL at prompt_toolkit's "Press ENTER to continue..."."""

from __future__ import annotations

import asyncio
import io

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from copilot.brains import llm_client
from copilot.config import Settings
from copilot.demo import ensure_demo
from copilot.session import Session
from copilot.tui.repl import Repl
from tests.fake_openai import FakeOpenAI


async def test_a_session_closes_the_model_client_after_each_question(tmp_path, monkeypatch):
    closed: list[bool] = []
    real_close = llm_client.ChatClient.close

    async def close(self):
        closed.append(self._client is not None)  # a client had been opened by this run
        await real_close(self)

    monkeypatch.setattr(llm_client.ChatClient, "close", close)
    with FakeOpenAI(models=["m"]) as server:
        server.reply("Final Answer: the knowledge base has nothing on badges.")
        settings = Settings(base_url=server.base_url, model="m", api_key="sk", retries=1, memory=False,
                            data=str(ensure_demo()), sessions_dir=str(tmp_path / "s"), strategy="react",
                            disabled_plugins=["knowledge"], timezone="UTC")
        session = Session(settings, memory=False, session_id="close-test")
        events = [e async for e in session.ask("how do I get a new office badge?")]
    assert events and server.chat_requests  # the run talked to the model...
    assert closed and closed[-1] is True  # ...and closed the client it opened


async def wait_for(condition, timeout: float = 90.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_background_error_does_not_hold_the_repl(tmp_path):
    settings = Settings(offline=True, data=str(ensure_demo()), memory=False, sessions_dir=str(tmp_path / "sessions"),
                        disabled_plugins=["knowledge"], timezone="UTC")
    session = Session(settings, memory=False, session_id="bg-error")
    out = io.StringIO()
    with create_pipe_input() as pipe:
        repl = Repl(session, input=pipe, output=DummyOutput(), stream=out, color=False)
        task = asyncio.ensure_future(repl.run())
        await asyncio.sleep(0)

        async def stray() -> None:  # e.g. a finalizer closing a connection of an earlier, closed loop
            raise RuntimeError("Event loop is closed")

        asyncio.get_running_loop().create_task(stray())
        await asyncio.sleep(0.05)
        pipe.send_text("Why is the shop slow since 13:29 UTC?\r")
        await wait_for(lambda: "5. Recommended" in out.getvalue() and out.getvalue().rstrip().endswith("answered"))
        assert "Press ENTER" not in out.getvalue()
        pipe.send_text("/quit\r")
        await asyncio.wait_for(task, 30)
