"""Answers to knowledge questions from the knowledge base, with citations (the seed's
QAProxy). Offline, the answer is built from the retrieved entries only; when nothing
relevant comes back it says so instead of inventing one. Relevance is decided by the
knowledge base's search (kb/relevance.py): kb_search returns relevant entries only, and an
entry marked `relevant: False` (from a search without that filter) is never presented as
the answer."""

from __future__ import annotations

import re
from typing import Any

PASSAGE_LINES = 4  # lines of a runbook section quoted in an answer
_WORD_RE = re.compile(r"[a-z0-9_]{3,}")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]+")
_COMMON = {"the", "and", "for", "how", "what", "when", "why", "with", "does", "should", "can", "are", "this", "that"}


def _field(entry: dict[str, Any], *names: str) -> str:
    for name in names:
        value = entry.get(name)
        if value:
            return str(value).strip()
    return ""


def _words(text: str) -> set[str]:
    low = text.lower()
    words = set(_WORD_RE.findall(low)) - _COMMON
    words |= {w[:-1] for w in words if w.endswith("s") and len(w) > 4}  # logs ~ log
    for run in _CJK_RE.findall(low):
        words |= {run[i : i + 2] for i in range(len(run) - 1)}
    return words


def passage(body: str, question: str, limit: int = PASSAGE_LINES) -> list[str]:
    """The lines of a runbook section that answer the question best (in their order);
    the section's first lines when none shares a word with it."""
    lines = [re.sub(r"^[-*•]\s*", "", line.strip()) for line in body.splitlines() if line.strip()]
    asked = _words(question)
    overlap = [len((_words(line) | {w[:-1] for w in _words(line) if w.endswith("s")}) & asked) for line in lines]
    if any(overlap):
        best = sorted(range(len(lines)), key=lambda i: -overlap[i])[:limit]
        return [lines[i] for i in sorted(best)]
    return lines[:limit]


def knowledge_answer(question: str, entries: list[dict[str, Any]], lang: str) -> str:
    relevant = [e for e in entries if e.get("relevant", True) is not False]
    if not relevant:
        if lang == "zh":
            return "很抱歉，本地知识库中没有找到与该问题相关的信息。配置模型后，我可以结合通用知识作答（会注明并非来自本地知识库）。"
        return (
            "The local knowledge base has nothing on this question. With a model configured I can answer from "
            "general knowledge (and will say that it is not from the local knowledge base)."
        )
    head = "根据本地知识库：" if lang == "zh" else "From the local knowledge base:"
    lines = [head, ""]
    for e in relevant[:3]:
        ident = _field(e, "id")
        title = _field(e, "fault_name", "title", "name", "question")
        cause = _field(e, "root_cause")
        mitigation = _field(e, "mitigation")
        body = _field(e, "text", "content", "symptoms", "summary")
        text_body = _field(e, "body")
        if text_body and not (_field(e, "root_cause") or _field(e, "mitigation")):  # a runbook section: quote it
            section = _field(e, "section")
            head = f"**{title}{' — ' + section if section else ''}**" if title or section else ""
            lines.append(f"- {head} [{ident}]" if ident else f"- {head}")
            lines += [f"  - {line}" for line in passage(text_body, question)]
            continue
        parts = [f"**{title}**" if title else ""]
        if cause:
            parts.append(("根因：" if lang == "zh" else "root cause: ") + cause)
        if mitigation:
            parts.append(("处理：" if lang == "zh" else "mitigation: ") + mitigation)
        if body and not (cause or mitigation):
            parts.append(body[:400])
        text = "; ".join(p for p in parts if p)
        lines.append(f"- {text} [{ident}]" if ident else f"- {text}")
    return "\n".join(lines) + "\n"
