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


RUNBOOK = {"id": "sop-disk-full#2", "kind": "document", "doc_id": "sop-disk-full", "title": "Disk full SOP",
           "section": "2. Find what is large", "relevant": True,
           "body": "- List the largest directories (`du -xh --max-depth=2 / | sort -h | tail`).\n"
                   "- Look for unrotated logs, core dumps, heap dumps, old release directories and temporary files.\n"
                   "- Check for deleted files still held open by a process (`lsof +L1`); restart that process.\n"
                   "- Ask the owning team before touching their data.\n- Keep a note of what was removed."}


def test_runbook_sections_are_answered_from_their_text_and_cited():
    text = knowledge_answer("How do I find deleted files still held open on a full disk?", [RUNBOOK], "en")
    assert "**Disk full SOP — 2. Find what is large** [sop-disk-full#2]" in text
    assert "lsof +L1" in text  # the runbook's own words, not only its title
    quoted = [line for line in text.splitlines() if line.startswith("  - ")]
    assert 1 <= len(quoted) <= 4 and quoted[0].startswith("  - ")
    zh = knowledge_answer("磁盘满了怎么办？", [RUNBOOK], "zh")
    assert zh.startswith("根据本地知识库") and "du -xh" in zh and "[sop-disk-full#2]" in zh
