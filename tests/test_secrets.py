"""Secrets: the corpus of shapes (recall and precision), redaction where telemetry enters,
and nothing secret in a transcript, memory, prompt or on the screen."""

from __future__ import annotations

import json
import pytest

from copilot.diagnosis import Diagnosis, Finding, RootCause
from copilot.redact import MASK, redact, redact_obj, redact_telemetry
from copilot.plugins.telemetry.model import Alert, ChangeEvent, LogRecord, MetricSeries, Span, Telemetry
from copilot.sessions.store import SessionStore
from tests.hostile import canaries, corpus, hostile_run  # noqa: F401


def test_corpus_recall_and_precision_are_perfect():
    data = corpus()
    missed = [c["shape"] for c in data["secrets"] if str(c["secret"]) in redact(str(c["text"]))]
    touched = [t for t in data["clean"] if redact(t) != t]
    recall = 1 - len(missed) / len(data["secrets"])
    precision_clean = 1 - len(touched) / len(data["clean"])
    assert len(data["secrets"]) >= 40 and len(data["clean"]) >= 20
    assert missed == [] and recall == 1.0
    assert touched == [] and precision_clean == 1.0


@pytest.mark.parametrize("text", ["password=[REDACTED]", "Bearer [REDACTED]", "https://u:[REDACTED]@h"])
def test_redaction_is_idempotent(text):
    assert redact(text) == text and redact(redact("DB_PASSWORD=abc123x")) == "DB_PASSWORD=[REDACTED]"


def test_redact_telemetry_covers_every_text_field():
    import numpy as np

    tel = Telemetry(
        metrics=[MetricSeries("cart", "cpu", np.array([1.0]), np.array([1.0]), labels={"token": "tok_abc123x", "pod": "p"})],
        logs=[LogRecord(1.0, "cart", "login api_key: 9f8e7d6c5b4a3210fedc ok")],
        spans=[Span("t", "s", "", "cart", "GET /cb?access_token=ya29abcdefg", 1.0, 2.0)],
        changes=[ChangeEvent(1.0, "cart", "config", "set DB_PASSWORD=Pg_sup3r_s3cret", author="bob --password hunter22")],
        alerts=[Alert(1.0, "cart", "AuthFail", description="Bearer ab12cd rejected",
                      labels={"password": "p4ssw0rd", "url": "redis://:R3d1sPw@cache:6379"})],
    )
    assert redact_telemetry(tel) is tel
    blob = json.dumps([tel.metrics[0].labels, tel.logs[0].message, tel.spans[0].operation, tel.changes[0].description,
                       tel.changes[0].author, tel.alerts[0].description, tel.alerts[0].labels])
    for secret in ("tok_abc123x", "9f8e7d6c5b4a3210fedc", "ya29abcdefg", "Pg_sup3r_s3cret", "hunter22", "ab12cd",
                   "p4ssw0rd", "R3d1sPw"):
        assert secret not in blob
    assert tel.metrics[0].labels["pod"] == "p" and blob.count(MASK) == 8


def test_files_source_redacts_where_data_enters(tmp_path):
    from copilot.plugins.telemetry.files import load_directory

    lines = [{"timestamp": 1715690000 + i, "component": "cart", "message": text} for i, (text, _) in enumerate(canaries())]
    (tmp_path / "logs.jsonl").write_text("\n".join(json.dumps(r) for r in lines), encoding="utf-8")
    tel = load_directory(tmp_path)
    assert len(tel.logs) == len(lines)
    leaked = [secret for (_, secret), rec in zip(canaries(), tel.logs) if secret in rec.message]
    assert leaked == []


def test_transcripts_and_memory_never_store_a_secret(tmp_path, monkeypatch):
    store = SessionStore(tmp_path / "sessions")
    store.append("20250101-000000-aaaaaa", {"type": "observation", "output": "env DB_PASSWORD=Pg_sup3r_s3cret",
                                            "nested": [{"k": "Authorization: Bearer ab12cd"}]})
    raw = (tmp_path / "sessions" / "20250101-000000-aaaaaa.jsonl").read_text()
    assert "Pg_sup3r_s3cret" not in raw and "ab12cd" not in raw and json.loads(raw)["type"] == "observation"
    assert redact_obj({"a": ["x", 1, None, {"b": "api_key: 9f8e7d6c5b4a"}]}) == {"a": ["x", 1, None, {"b": f"api_key: {MASK}"}]}

    saved: list[dict] = []

    class FakeStore:
        location = "mem"
        uri = "s3://bucket/kb"  # not local: nothing to snapshot

        class embedder:
            name = "test"

        def put(self, kind, rows):
            saved.extend(rows)
            return [r["id"] for r in rows]

    from copilot.kb.memory import KnowledgeMemory

    finding = Finding("L1", "logs", "cart", "errors", "surge", "cart logged 'password=hunter2x' 9 times", 5.0, 1.0)
    diagnosis = Diagnosis(question="why? token=tok_12345abc", answer="DB_PASSWORD=Pg_sup3r_s3cret leaked",
                          root_causes=[RootCause("cart", "code_exception", 0.9, ["L1"])], findings=[finding])
    KnowledgeMemory(FakeStore()).save(diagnosis)  # type: ignore[arg-type]
    blob = json.dumps(saved, default=str)
    assert saved and "hunter2x" not in blob and "Pg_sup3r_s3cret" not in blob and "tok_12345abc" not in blob


def test_team_prompts_carry_no_secret():
    from copilot.brains.team_inputs import entry_line, findings_text

    f = Finding("L1", "logs", "cart", "errors", "surge", "cart logged AKIAABCDEFGHIJKLMNOP and api_key: 9f8e7d6c5b4a", 5.0, 1.0)
    text = findings_text([f]) + entry_line({"id": "x", "fault_name": "leak", "root_cause": "DB_PASSWORD=Pg_sup3r_s3cret"})
    assert "AKIAABCDEFGHIJKLMNOP" not in text and "9f8e7d6c5b4a" not in text and "Pg_sup3r_s3cret" not in text


def test_query_leaks_no_canary_to_screen_transcript_or_memory(hostile_run):
    r, data = hostile_run["proc"], hostile_run["base"] / "data"
    assert r.returncode == 0, r.stderr
    assert MASK in r.stdout and MASK in r.stderr  # the hostile lines did reach the answer and the trace, masked
    assert hostile_run["session_id"] and (data / "sre-copilot" / "lancedb").is_dir()
    stored = b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())
    secrets = [s for _, s in canaries()] + ["Chg_Canary_77", "Auth0rCanary"]
    leaks = [s for s in secrets if s in r.stdout or s in r.stderr or s.encode() in stored]
    assert leaks == []
