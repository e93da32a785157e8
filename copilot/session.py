"""A Session ties settings, plugins, a brain, memory and the transcript store together.

Front ends (TUI, REPL, --query) create one Session and call `ask()` per question; every
event is recorded to the session's JSON-lines transcript as it passes through.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any, AsyncIterator

from .agent import Agent, Budget, new_session_id
from .approval import Approver, DenyAll
from .brains.base import Brain
from .config import Settings
from .errors import CopilotError
from .events import Event, FinalAnswer, RunFailed
from .followup import investigation_of
from .memory import Memory
from .plugin_manager import LoadedPlugins, load_plugins
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
    for module in ("copilot.kb.memory",):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        factory = getattr(mod, "open_memory", None)
        if factory is not None:
            return factory(settings)
    return None


def resolve_data_dir(settings: Settings) -> Path:
    """The telemetry directory of a files-only run: --data, else the bundled demo."""
    if settings.data:
        path = Path(settings.data).expanduser()
        if not path.is_dir():
            raise CopilotError(f"--data {settings.data}: no such directory; point it at a telemetry directory")
        return path
    from .demo import ensure_demo

    return ensure_demo()


def live_window(question: str, settings: Settings, now: float) -> tuple[float, float] | None:
    """The window of a live investigation: --since/--until, else the question's own words
    (read against the wall clock); None when neither names a time."""
    from datetime import datetime

    from .intent import flag_window, understand
    from .timezones import local_zone

    tz = local_zone(settings)
    reference = datetime.fromtimestamp(now, tz)
    flagged = flag_window(settings.since, settings.until, reference)
    if flagged is not None:
        return flagged
    intent = understand(question, [], reference)
    if intent.stated_window is None or intent.window is None:
        return None
    return (intent.window.start, min(intent.window.end, now))


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
            from copilot.sessions.store import SessionStore

            store = SessionStore(settings.sessions_path())
        self.store = store
        self._memory_arg = memory
        self._memory: Memory | None = None
        self._plugins = plugins
        self.history: list[dict[str, str]] = []
        self._selection: Any = None
        self.run_selection: Any = None  # what the last question read (narrowed when it named its source)
        self.last_diagnosis: dict[str, Any] | None = None
        self.investigation: dict[str, Any] | None = None  # what follow-up questions are about

    def start_over(self) -> None:
        """`/new`: forget the conversation and the investigation; the next question starts afresh."""
        self.id = new_session_id()
        self.history = []
        self.last_diagnosis = None
        self.investigation = None

    @property
    def plugins(self) -> LoadedPlugins:
        if self._plugins is None:
            self._plugins = load_plugins(
                disabled=set(self.settings.disabled_plugins), output_budget=self.settings.output_budget,
                settings=self.settings,
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

    def resume(self, session_id: str) -> str:
        """Continue an earlier session: its turns become this conversation's history and the
        data it read is read again. Returns one line saying what data is in use: restored, or
        why it changed (a folder gone, other sources configured)."""
        sid = self.store.resolve(session_id)
        saved = self.store.last_selection(sid)
        self.id = sid
        self.history = self.store.conversation(sid)
        self.last_diagnosis = self.store.last_diagnosis(sid)
        self.investigation = investigation_of(self.last_diagnosis)
        return self._restore_data(saved)

    def _restore_data(self, saved: dict[str, Any] | None) -> str:
        before = self.select_data().label
        if not saved:
            return f"the session did not record its data; reading {before}"
        label = str(saved.get("label", ""))
        if saved.get("demo"):
            self.settings.demo, self.settings.data = True, ""
            self._selection = None
            return f"data restored: {self.select_data().label}"
        paths = [s.get("path") for s in saved.get("sources", []) if s.get("name") == "files" and s.get("path")]
        if paths:
            if not Path(paths[0]).is_dir():
                return f"the data changed: the session read {label}, which no longer exists; reading {before}"
            self.settings.demo, self.settings.data = False, str(paths[0])
            self._selection = None
            return f"data restored: {self.select_data().label}"
        # Live sources: their settings come from the configuration, not the transcript.
        self.settings.demo, self.settings.data = False, ""
        self._selection = None
        try:
            now = self.select_data()
        except CopilotError as exc:
            return f"the data changed: the session read {label}; {exc}"
        if now.label == label:
            return f"data restored: {now.label}"
        return f"the data changed: the session read {label}; now reading {now.label}"

    def select_data(self):
        """What this session reads (copilot/sources.py: --data, configured sources, or the demo)."""
        from .sources import select_sources

        if self._selection is None:
            self._selection = select_sources(self.settings, self.plugins.source_factories)
        return self._selection

    @staticmethod
    def _collector(question: str, ctx: ToolContext) -> Any:
        """An investigation reads its sources before the first step, so a source that cannot be
        read (a broken file, an unreachable server) stops it with that source's one line."""
        from .intent import classify

        if classify(question) != "diagnose":
            return None

        def collect() -> None:
            from copilot.plugins.telemetry.collect import run_telemetry

            run_telemetry(ctx)

        return collect

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
                self.investigation = investigation_of(event.diagnosis) or self.investigation
                self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": event.answer}]
            yield event
        if ran_workflow:
            return
        from .followup import about_investigation
        from .intent import classify
        from .source_names import named_sources, narrow

        context = self.investigation if about_investigation(question, self.investigation) else None
        selection = self.select_data()
        # A knowledge question's "local" is the local knowledge base (the brains keep to it).
        named = named_sources(question) if classify(question) != "knowledge" else []
        if named:  # "请参考local的数据源", "from Prometheus": that source only
            try:
                selection = narrow(selection, named, self.settings, self.plugins.source_factories)
            except CopilotError as exc:
                failed = RunFailed(str(exc))
                self.store.append(self.id, failed)
                yield failed
                return
        self.run_selection = selection
        files = [s for s in selection.sources if s.name == "files"]
        ctx = ToolContext(data_dir=files[0].path if len(files) == 1 else None, settings=self.settings,
                          sources=list(selection.sources), data_label=selection.label)
        ctx.cache["data"] = selection.to_dict()
        if selection.live:
            ctx.window = live_window(question, self.settings, time.time())
        brain = make_brain(self.settings)
        agent = Agent(
            brain,
            self.plugins.registry,
            ctx,
            budget=Budget(self.settings.max_steps, self.settings.token_budget, self.settings.time_budget),
            approver=self.approver,
            memory=lambda: self.memory,  # opened in the background: LanceDB takes seconds to import
            session_id=self.id,
            data_label=selection.label,
            prepare=self._collector(question, ctx),
        )
        try:
            async for event in agent.run(question, history=self.history, context=context):
                self.store.append(self.id, event)
                if isinstance(event, FinalAnswer):
                    if context is None:  # a follow-up's answer leaves the investigation it was about in place
                        self.last_diagnosis = event.diagnosis
                        self.investigation = investigation_of(event.diagnosis) or self.investigation
                    self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": event.answer}]
                yield event
        finally:
            close = getattr(brain, "aclose", None)
            if close is not None:  # the model's HTTP client, closed in the loop that opened it
                await close()

