"""A Session ties settings, plugins, a brain, memory and the transcript store together.

Front ends (TUI, REPL, --query) create one Session and call `ask()` per question; every
event is recorded to the session's JSON-lines transcript as it passes through.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, AsyncIterator

from .agent import Agent, Budget, new_session_id
from .approval import Approver, DenyAll
from .brains.base import Brain
from .config import Settings
from .errors import CopilotError
from .events import Event, FinalAnswer
from .memory import Memory
from .plugins import LoadedPlugins, load_plugins
from .tools import ToolContext


def make_brain(settings: Settings) -> Brain:
    if not settings.use_llm:
        from .brains.offline import OfflineBrain

        return OfflineBrain()
    if settings.strategy == "react":
        from .brains.llm import LLMBrain

        return LLMBrain(settings)
    from .brains.team import TeamBrain

    return TeamBrain(settings)


def open_memory(settings: Settings) -> Memory | None:
    """The LanceDB memory of diagnoses, when memory is enabled and the knowledge package is installed."""
    if not settings.memory:
        return None
    for module in ("kb.memory", "sessions.memory"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        factory = getattr(mod, "open_memory", None)
        if factory is not None:
            return factory(settings)
    return None


def resolve_data_dir(settings: Settings) -> Path:
    if settings.data:
        path = Path(settings.data).expanduser()
        if not path.is_dir():
            raise CopilotError(f"--data {settings.data}: no such directory; point it at a telemetry directory")
        return path
    from .demo import ensure_demo

    return ensure_demo()


class Session:
    def __init__(
        self,
        settings: Settings,
        *,
        approver: Approver | None = None,
        session_id: str | None = None,
        store: Any = None,
        memory: Memory | None | bool = True,
        plugins: LoadedPlugins | None = None,
    ) -> None:
        self.settings = settings
        self.approver = approver or DenyAll()
        self.id = session_id or new_session_id()
        if store is None:
            from sessions.store import SessionStore

            store = SessionStore(settings.sessions_path())
        self.store = store
        self._memory_arg = memory
        self._memory: Memory | None = None
        self._plugins = plugins
        self.history: list[dict[str, str]] = []
        self.last_diagnosis: dict[str, Any] | None = None

    @property
    def plugins(self) -> LoadedPlugins:
        if self._plugins is None:
            self._plugins = load_plugins(
                disabled=set(self.settings.disabled_plugins), output_budget=self.settings.output_budget
            )
        return self._plugins

    @property
    def memory(self) -> Memory | None:
        if self._memory_arg is True:
            self._memory_arg = None
            self._memory = open_memory(self.settings)
        elif self._memory_arg not in (None, False, True):
            self._memory = self._memory_arg  # type: ignore[assignment]
            self._memory_arg = None
        return self._memory

    @property
    def model_label(self) -> str:
        return self.settings.model_label

    def resume(self, session_id: str) -> None:
        """Continue an earlier session: its turns become this conversation's history."""
        sid = self.store.resolve(session_id)
        self.id = sid
        self.history = self.store.conversation(sid)
        self.last_diagnosis = self.store.last_diagnosis(sid)

    async def ask(self, question: str) -> AsyncIterator[Event]:
        # Chat-ops: a question that matches one of the team's workflows runs it (copilot/workflows/chatops.py).
        from .workflows.chatops import workflow_events

        ran_workflow = False
        async for event in workflow_events(question, self.settings, session_id=self.id,
                                           data_dir=lambda: resolve_data_dir(self.settings)):
            self.store.append(self.id, event)
            if isinstance(event, FinalAnswer):
                ran_workflow = True
                self.last_diagnosis = event.diagnosis
                self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": event.answer}]
            yield event
        if ran_workflow:
            return
        data_dir = resolve_data_dir(self.settings)
        ctx = ToolContext(data_dir=data_dir, settings=self.settings)
        agent = Agent(
            make_brain(self.settings),
            self.plugins.registry,
            ctx,
            budget=Budget(self.settings.max_steps, self.settings.token_budget, self.settings.time_budget),
            approver=self.approver,
            memory=lambda: self.memory,  # opened in the background: LanceDB takes seconds to import
            session_id=self.id,
            data_label=str(data_dir),
        )
        async for event in agent.run(question, history=self.history):
            self.store.append(self.id, event)
            if isinstance(event, FinalAnswer):
                self.last_diagnosis = event.diagnosis
                self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": event.answer}]
            yield event

