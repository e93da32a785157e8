"""The offline knowledge answer: cites what the knowledge base returned as relevant, and
says so (in the user's language) when nothing relevant came back."""

from __future__ import annotations

from copilot.knowledge_answer import knowledge_answer

DISK = {"id": "exp-disk-full-en", "kind": "experience", "fault_name": "Disk full", "root_cause": "a volume filled up",
        "mitigation": "clean up, then expand", "relevant": True}
NEAR = {"id": "exp-network-delay-en", "kind": "experience", "fault_name": "Network delay", "root_cause": "slow links",
        "mitigation": "fail over", "relevant": False}


def test_relevant_entries_are_cited():
    text = knowledge_answer("disk full?", [DISK], "en")
    assert text.startswith("From the local knowledge base:") and "[exp-disk-full-en]" in text
    assert "clean up, then expand" in text


def test_entries_marked_not_relevant_are_never_the_answer():
    for lang, phrase in (("en", "has nothing on this"), ("zh", "没有找到")):
        text = knowledge_answer("What is the on-call handover procedure?", [NEAR], lang)
        assert phrase in text and "exp-network-delay-en" not in text
    mixed = knowledge_answer("disk full?", [NEAR, DISK], "en")
    assert "[exp-disk-full-en]" in mixed and "exp-network-delay-en" not in mixed


def test_entries_without_a_relevance_mark_count_as_relevant():
    entry = {k: v for k, v in DISK.items() if k != "relevant"}
    assert "[exp-disk-full-en]" in knowledge_answer("磁盘满了", [entry], "zh")
