"""The memory of diagnoses: save, recall by symptom signature and text, human verdicts,
and the learning loop into new experience entries."""

from __future__ import annotations

import json

import pytest

from copilot.cli import main
from copilot.diagnosis import Diagnosis, Finding, RootCause
from copilot.errors import CopilotError
from copilot.memory import Memory
from copilot.kb.memory import KnowledgeMemory, open_memory
from copilot.kb.signature import signature, similarity
from tests.kb_fixtures import embedder, kb_settings, store  # noqa: F401


def _diag(question, component, kind, findings):
    return Diagnosis(
        question=question, answer=f"{component} {kind}",
        root_causes=[RootCause(component, kind, 0.8, [f.id for f in findings])],
        findings=findings, window=(1_700_000_000.0, 1_700_000_600.0), mitigation=["restart it"],
    )


CART_CPU = [
    Finding("M1", "metrics", "cartservice", "container_cpu_usage", "spike", "cartservice CPU rose to 97%", 9.1),
    Finding("T1", "traces", "cartservice", "frontend->cartservice", "latency", "frontend->cartservice p90 12x", 7.0),
]
DB_LOCK = [
    Finding("L1", "logs", "orders-db", "Lock wait timeout exceeded; try restarting transaction", "error_surge",
            "orders-db logs 412 lock wait timeouts", 8.0),
    Finding("M1", "metrics", "orders-db", "active_sessions", "level_shift", "orders-db sessions doubled", 5.0),
]


@pytest.fixture
def memory(store):
    return KnowledgeMemory(store)


def test_signature_tokens_and_similarity():
    sig = signature(CART_CPU)
    assert "metric:cartservice:container_cpu_usage" in sig and "edge:frontend->cartservice" in sig
    assert "component:cartservice" in sig
    assert similarity(sig, sig) == 1.0 and similarity(sig, signature(DB_LOCK)) == 0.0
    # Log templates match with different numbers in them.
    a = signature([Finding("L1", "logs", "db", "timeout after 30 ms", "new_template", "")])
    b = signature([Finding("L1", "logs", "db", "timeout after 45 ms", "new_template", "")])
    assert a == b


def test_memory_satisfies_protocol_and_saves(memory, kb_settings):
    assert isinstance(memory.location, str) and memory.location == kb_settings.kb_uri
    m: Memory = memory
    inc = m.save(_diag("why is checkout slow?", "cartservice", "cpu_saturation", CART_CPU))
    assert inc.startswith("inc-")
    entry = memory.get(inc)
    assert entry["root_cause"] == "cartservice" and entry["fault_kind"] == "cpu_saturation"
    assert "metric:cartservice:container_cpu_usage" in entry["signature"]
    assert Diagnosis.from_dict(entry["diagnosis"]).findings[0].summary == "cartservice CPU rose to 97%"


def test_recall_by_signature_beats_wording(memory):
    cpu = memory.save(_diag("checkout is slow since 14:05", "cartservice", "cpu_saturation", CART_CPU))
    lock = memory.save(_diag("orders failing, checkout slow since 14:05", "orders-db", "unknown", DB_LOCK))
    # Same words as both; the findings say lock waits on orders-db.
    got = memory.recall("checkout slow since 14:05", findings=DB_LOCK, k=2)
    assert [g["id"] for g in got] == [lock, cpu]
    assert 0 <= got[1]["similarity"] < got[0]["similarity"] <= 1
    assert got[0]["diagnosis"]["root_causes"][0]["component"] == "orders-db"
    # Without findings, text alone ranks.
    got = memory.recall("cart service CPU is saturated", k=1)
    assert got[0]["id"] == cpu and got[0]["summary"]


def test_recall_on_empty_memory(memory):
    assert memory.recall("anything", findings=CART_CPU) == []


def test_label_and_learning_loop(memory, store):
    inc = memory.save(_diag("payments erroring after deploy", "paymentservice", "cpu_saturation", CART_CPU[:1]))
    with pytest.raises(CopilotError, match="no verdict"):
        memory.proposed_experience(inc)
    with pytest.raises(CopilotError, match="either --correct or"):
        memory.label(inc)
    with pytest.raises(CopilotError, match="unknown fault kind"):
        memory.label(inc, root_cause="paymentservice", fault_kind="oops")
    entry = memory.label(inc, root_cause="paymentservice", fault_kind="code_exception", note="NPE in v2.3")
    assert entry["verdict"] == "corrected" and entry["verdict_fault_kind"] == "code_exception"
    proposal = memory.proposed_experience(inc)
    assert proposal["fault_kind"] == "code_exception" and "NPE in v2.3" in proposal["root_cause"]
    assert proposal["services"] == ["paymentservice"] and "CPU rose" in proposal["symptoms"]["metrics"]
    assert proposal["mitigation"].startswith("Roll back")  # the corrected kind's, not "restart it"
    exp_id = memory.learn(inc)
    assert store.get(exp_id)["origin"] == "learned"
    # The learned experience is found like any other, and the recall reports the verdict.
    from copilot.kb.search import search

    assert exp_id in [h["id"] for h in search(store, "paymentservice NPE after deploy", kind="experience", k=3)]
    got = memory.recall("payments erroring after deploy", k=1)[0]
    assert got["verdict"] == "corrected" and got["fault_kind"] == "code_exception"


def test_memory_cli(kb_settings, monkeypatch, capsys, memory):
    monkeypatch.setenv("COPILOT_KB_URI", kb_settings.kb_uri)
    inc = memory.save(_diag("为什么结算服务变慢？", "cartservice", "cpu_saturation", CART_CPU))
    assert main(["memory", "list"]) == 0
    assert inc in capsys.readouterr().out
    assert main(["memory", "show", inc, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["language"] == "zh"
    assert main(["memory", "label", inc, "--root-cause", "cartservice"]) == 1
    assert "needs both" in capsys.readouterr().err
    assert main(["memory", "label", inc, "--correct", "--learn"]) == 0
    out = capsys.readouterr().out
    assert "labelled" in out and "added experience exp-learned-" in out
    learned = KnowledgeMemory(memory.store).store.get("exp-learned-" + inc.removeprefix("inc-"))
    assert learned["language"] == "zh" and learned["fault_name"].startswith("CPU利用率过高")


def test_open_memory_factory(kb_settings):
    assert open_memory(kb_settings).location == kb_settings.kb_uri


def test_repeated_runs_of_one_incident_recall_as_one_memory(memory):
    first = memory.save(_diag("checkout is slow since 14:05", "cartservice", "cpu_saturation", CART_CPU))
    for run in range(2):  # later runs of the same investigation: another session, another window
        again = _diag("checkout is slow since 14:05", "cartservice", "cpu_saturation", CART_CPU)
        again.window = (1_700_000_000.0 + 60 * (run + 1), 1_700_000_600.0 + 60 * (run + 1))
        again.session_id = f"s{run}"
        memory.save(again)
    other = memory.save(_diag("orders failing since 14:05", "orders-db", "unknown", DB_LOCK))
    got = memory.recall("checkout is slow since 14:05", findings=CART_CPU, k=3)
    assert [g["repeats"] for g in got] == [3, 1]
    assert got[0]["root_cause"] == "cartservice" and got[1]["id"] == other
    assert first  # ids stay unique in the store
