"""Answers to knowledge questions from the knowledge base, with citations (the seed's
QAProxy). Offline, the answer is built from the retrieved entries only; when nothing
relevant comes back it says so instead of inventing one. Relevance is decided by the
knowledge base's search (kb/relevance.py): kb_search returns relevant entries only, and an
entry marked `relevant: False` (from a search without that filter) is never presented as
the answer."""

from __future__ import annotations

from typing import Any


def _field(entry: dict[str, Any], *names: str) -> str:
    for name in names:
        value = entry.get(name)
        if value:
            return str(value).strip()
    return ""


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
