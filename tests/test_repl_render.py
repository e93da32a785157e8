"""The shared wording of events (tui/render.py) and the status line, without a terminal."""

from __future__ import annotations

import io

from copilot.events import (
    ActionProposed,
    FinalAnswer,
    Observation,
    RunFailed,
    RunStarted,
    StepLimitReached,
    Thought,
    ThoughtDelta,
    Usage,
)
from copilot.tui.render import Renderer, RunStatus, finding_text, observation_summary


def test_observation_summary_is_one_line_with_tool_status_elapsed():
    assert observation_summary("detect_metric_anomalies", "ok", 123.4, "a\nb\nc") == \
        "detect_metric_anomalies · ok · 123 ms · 3 lines"
    summary = observation_summary("restart", "denied", 0.2, "no", truncated=True)
    assert summary == "restart · denied · 0 ms · 1 line · truncated"


def test_finding_text_prefers_the_plain_sentence():
    assert finding_text({"id": "M1", "summary": "cart p90 latency rose 12x"}) == "◆ M1 cart p90 latency rose 12x"
    assert finding_text({"component": "db", "signal": "disk_used"}) == "◆ db: disk_used"


def test_status_follows_the_event_stream():
    status = RunStatus("offline", 16)
    assert status.text(5.0) == "offline · step 0/16 · 0 tokens · 0.0 s · idle"
    status.apply(RunStarted("s1", "why?", "qwen2.5", 8), now=10.0)
    status.apply(Thought(1, "look"), now=10.5)
    status.apply(ActionProposed(2, "c1", "t", {}), now=11.0)
    status.apply(Usage(1000, 234, 1234), now=11.0)
    assert status.text(12.5) == "qwen2.5 · step 2/8 · 1,234 tokens · 2.5 s · running"
    status.apply(FinalAnswer("done", {}, 3), now=13.0)
    status.apply(RunFailed("memory not saved"), now=14.0)  # after the answer: the answer stands
    assert status.text(99.0) == "qwen2.5 · step 3/8 · 1,234 tokens · 3.0 s · answered"
    status.apply(RunStarted("s1", "again", "qwen2.5", 8), now=100.0)
    status.apply(StepLimitReached(8, "step limit"), now=175.0)
    assert status.text(200.0) == "qwen2.5 · step 0/8 · 0 tokens · 1m15s · stopped"


def test_plain_renderer_streams_a_thought_on_one_line_and_closes_it():
    out = io.StringIO()
    renderer = Renderer(out, color=False, clock=lambda: 0.0)
    renderer.handle(ThoughtDelta(1, "check "))
    renderer.handle(ThoughtDelta(1, "the metrics"))
    renderer.handle(Thought(1, "check the metrics", "metrics"))
    renderer.handle(Observation(1, "c1", "scan", "error", "scan failed: boom", elapsed_ms=12.0))
    renderer.handle(FinalAnswer("# Report\n\n**db** is full", {}, 1))
    assert out.getvalue().splitlines() == [
        "Step 1  check the metrics  (metrics)",
        "  scan · error · 12 ms · 1 line",
        "    scan failed: boom",
        "",
        "Report",
        "",
        "db is full",
    ]
