import pytest

from copilot.errors import CopilotError
from copilot.events import FinalAnswer, RunStarted, Thought
from copilot.sessions.store import SessionStore


def test_transcripts_round_trip_and_summaries(tmp_path):
    store = SessionStore(tmp_path)
    store.append("20260101-000000-abc", RunStarted("20260101-000000-abc", "why slow?", "offline", 8))
    store.append("20260101-000000-abc", Thought(1, "look", "host"))
    diag = {"root_causes": [{"component": "cart", "fault_type": "cpu_saturation"}]}
    store.append("20260101-000000-abc", FinalAnswer("cart is hot", diag, 3))
    with open(tmp_path / "20260101-000000-abc.jsonl", "a") as fh:
        fh.write('{"kind": "thou')  # a torn line from a crash
    (summary,) = store.list()
    assert summary.outcome == "answered" and summary.root_cause == "cart / cpu_saturation"
    assert store.resolve("20260101-000000") == "20260101-000000-abc"
    assert store.conversation("20260101-000000-abc") == [
        {"role": "user", "content": "why slow?"},
        {"role": "assistant", "content": "cart is hot"},
    ]
    assert store.last_diagnosis("20260101-000000-abc") == diag


def test_bad_ids_say_what_to_do(tmp_path):
    store = SessionStore(tmp_path)
    with pytest.raises(CopilotError, match="sessions list"):
        store.resolve("nope")
    with pytest.raises(CopilotError, match="not a session id"):
        store.path("../etc/passwd")
