"""Learning from the engineer: a corrected label changes the next matching diagnosis.

A generated incident the offline rules get wrong (packet loss on checkout, read as a code
exception on the frontend) is diagnosed, labelled with the right cause, and a near-
identical incident (same fault and service, another seed: other times and noise) is then
diagnosed with the corrected cause first and the label cited in the report."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from copilot.approval import DenyAll
from copilot.demo import generate
from copilot.diagnosis import Finding, RootCause
from copilot.events import DiagnosisSaved, FinalAnswer
from copilot.learning import LABEL_MATCH_MIN, apply_labels
from copilot.session import Session
from copilot.kb.memory import KnowledgeMemory
from tests.kb_fixtures import embedder, kb_settings, store  # noqa: F401


def diagnose(settings, data_dir):
    question = (data_dir / "question.txt").read_text(encoding="utf-8").strip()
    final, memory_id = None, ""

    async def run():
        nonlocal final, memory_id
        async for event in Session(dataclasses.replace(settings, data=str(data_dir), offline=True),
                                   approver=DenyAll()).ask(question):
            if isinstance(event, FinalAnswer):
                final = event.diagnosis
            elif isinstance(event, DiagnosisSaved):
                memory_id = event.memory_id

    asyncio.run(run())
    assert final is not None and memory_id
    return final, memory_id


def top(diagnosis):
    rc = diagnosis["root_causes"][0]
    return rc["component"], rc["fault_type"]


def test_corrected_label_changes_the_next_matching_diagnosis(kb_settings, tmp_path):
    settings = dataclasses.replace(kb_settings, sessions_dir=str(tmp_path / "sessions"))
    first_dir, again_dir = tmp_path / "first", tmp_path / "again"
    generate(first_dir, "network_loss", "checkout", seed=101)
    generate(again_dir, "network_loss", "checkout", seed=102)

    first, memory_id = diagnose(settings, first_dir)
    wrong = top(first)
    assert wrong != ("checkout", "network_loss")  # what the rules alone conclude

    memory = KnowledgeMemory.from_settings(settings)
    memory.label(memory_id, root_cause="checkout", fault_kind="network_loss", note="retransmits on checkout's NIC")

    again, _ = diagnose(settings, again_dir)
    assert top(again) == ("checkout", "network_loss")
    reasons = again["root_causes"][0]["reasons"]
    cited = [r for r in reasons if r.startswith("an engineer corrected a matching incident on ")]
    assert cited and "checkout / network_loss" in cited[0] and memory_id in cited[0]
    assert memory_id in again["root_causes"][0]["evidence"]
    # The report's root-cause section carries the citation, and the wrong guess is still listed.
    assert cited[0] in again["answer"]
    assert any((rc["component"], rc["fault_type"]) == wrong for rc in again["root_causes"][1:])


def test_without_a_label_the_memory_does_not_change_the_ranking(kb_settings, tmp_path):
    settings = dataclasses.replace(kb_settings, sessions_dir=str(tmp_path / "sessions"))
    generate(tmp_path / "a", "network_loss", "checkout", seed=101)
    generate(tmp_path / "b", "network_loss", "checkout", seed=102)
    first, _ = diagnose(settings, tmp_path / "a")
    again, _ = diagnose(settings, tmp_path / "b")
    assert top(again) == top(first)
    assert not any(r.startswith("an engineer") for rc in again["root_causes"] for r in rc["reasons"])


def test_verified_memories_outrank_unverified_ones_in_recall(kb_settings):
    memory = KnowledgeMemory.from_settings(kb_settings)
    from copilot.diagnosis import Diagnosis

    findings = [Finding("M1", "metrics", "cart", "cpu", "spike", "cart CPU 97%", 9.0),
                Finding("T1", "traces", "cart", "frontend->cart", "latency", "frontend->cart p90 12x", 7.0)]
    same = Diagnosis("why slow?", "", [RootCause("cart", "cpu_saturation", 0.8)], findings, (0.0, 60.0))
    other = Diagnosis("why slow?", "", [RootCause("cart", "network_delay", 0.8)], findings, (0.0, 60.0))
    exact = memory.save(same)
    labelled = memory.save(other)
    got = memory.recall("why slow? cart CPU", findings=findings, k=2)
    assert [g["id"] for g in got] == [exact, labelled] and not got[0]["verified"]
    memory.label(labelled, correct=True)
    got = memory.recall("why slow? cart CPU", findings=findings, k=2)
    assert [g["id"] for g in got] == [labelled, exact]
    assert got[0]["verified"] and got[0]["labelled_at"][:4].isdigit()
    assert got[0]["similarity"] < got[1]["similarity"]  # the raw similarity is still reported
    # A much closer unverified memory still wins: the bonus is bounded.
    far = Diagnosis("why slow?", "", [RootCause("cart", "jvm_gc", 0.8)], findings[1:], (0.0, 60.0))
    memory.label(memory.save(far), correct=True)
    assert memory.recall("why slow? cart CPU", findings=findings, k=3)[1]["id"] == exact


F = [Finding("M1", "metrics", "checkout", "tcp_retrans", "spike", "checkout retransmits 30x", 8.0),
     Finding("L1", "logs", "frontend", "error calling checkout", "error_surge", "frontend errors", 9.0)]
RANKED = [RootCause("frontend", "code_exception", 0.8, ["L1"], ["frontend: exceptions in its logs."])]


def hit(**kw):
    base = {"id": "inc-1", "similarity": 0.9, "verdict": "corrected", "root_cause": "checkout",
            "fault_kind": "network_loss", "labelled_at": "2026-01-02T03:04:05Z"}
    return {**base, **kw}


def test_apply_labels_inserts_the_corrected_cause_with_the_label_cited():
    out = apply_labels(RANKED, [hit()], F)
    assert (out[0].component, out[0].fault_type) == ("checkout", "network_loss")
    assert out[0].reasons[0].startswith("an engineer corrected a matching incident on 2026-01-02: checkout / network_loss")
    assert out[0].evidence[-1] == "inc-1" and "M1" in out[0].evidence
    assert out[0].confidence >= out[1].confidence and out[1].component == "frontend"


@pytest.mark.parametrize("change", [
    {"similarity": LABEL_MATCH_MIN - 0.01},  # not close enough to be the same incident
    {"verdict": ""},  # an unverified memory is the copilot's own guess
    {"root_cause": "payment"},  # the labelled component shows nothing now
    {"fault_kind": "made_up"},
])
def test_apply_labels_leaves_the_ranking_alone_without_a_usable_label(change):
    assert apply_labels(RANKED, [hit(**change)], F) == RANKED


def test_label_reason_reads_in_chinese():
    from copilot.phrases.reasons import cause_reasons

    out = apply_labels(RANKED, [hit()], F)
    zh = cause_reasons(out[0], F, "zh")
    assert zh[0] == "工程师于 2026-01-02 更正了一个相符的历史故障：checkout / network_loss（inc-1，相似度 0.90）"
