"""The host chooses which data-source agents to start from the question and the data:
a question about logs only starts the log agent, a Kubernetes-only dump starts none of the
metric, log and trace agents; the choice is said in the trace (the data-source step's
thought). Offline brain over the real bundled demo and a scenario's Kubernetes dump."""

from __future__ import annotations

from pathlib import Path

from copilot.config import Settings
from copilot.demo import ensure_demo
from copilot.events import ActionProposed, FinalAnswer, Thought
from copilot.session import Session

K8S_DUMP = Path(__file__).parent / "scenarios" / "k8s-oom-killed-en" / "data"


async def run(tmp_path, data: Path, question: str) -> list:
    settings = Settings(offline=True, data=str(data), memory=False, sessions_dir=str(tmp_path / "sessions"),
                        disabled_plugins=["knowledge"], timezone="UTC")
    session = Session(settings, memory=False, session_id="plan-session")
    return [e async for e in session.ask(question)]


def agents_started(events) -> set[str]:
    return {e.agent for e in events if isinstance(e, ActionProposed) and e.step == 2}


def data_source_thought(events) -> str:
    return next(e.text for e in events if isinstance(e, Thought) and e.agent == "data-sources")


async def test_a_question_about_logs_only_starts_the_log_agent_only(tmp_path):
    events = await run(tmp_path, ensure_demo(), "why are there errors in the logs since 13:20?")
    assert agents_started(events) == {"logs"}
    assert "not started: metrics (the question asks about other signals only), traces (the question asks about " \
           "other signals only), changes (the question asks about other signals only)" in data_source_thought(events)
    assert next(e for e in events if isinstance(e, FinalAnswer)).diagnosis["root_causes"]


async def test_a_question_naming_no_signal_starts_every_agent_the_data_has(tmp_path):
    events = await run(tmp_path, ensure_demo(), "Why is the shop slow since 13:29 UTC?")
    assert agents_started(events) == {"metrics", "logs", "traces", "changes"}
    assert "not started" not in data_source_thought(events)


async def test_a_kubernetes_only_dump_does_not_start_the_metric_log_or_trace_agents(tmp_path):
    events = await run(tmp_path, K8S_DUMP, "checkout pods keep restarting, why?")
    assert agents_started(events) == {"changes", "platform"}
    tools = {e.tool for e in events if isinstance(e, ActionProposed)}
    assert not tools & {"detect_metric_anomalies", "detect_log_anomalies", "detect_trace_anomalies"}
    assert "traces (the data holds none of its signal)" in data_source_thought(events)
    top = next(e for e in events if isinstance(e, FinalAnswer)).diagnosis["root_causes"][0]
    assert (top["component"], top["fault_type"]) == ("checkout", "oom_killed")
