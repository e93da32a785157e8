"""The knowledge plugin: read-only tools over the knowledge base and the memory of past
incidents (expert experiences, SOP runbooks, diagnoses). Outputs cite entry ids."""

from __future__ import annotations

from typing import Any

from copilot.plugin_manager import Plugin
from copilot.tools import ToolContext, ToolResult, tool

KINDS = ("experience", "document", "incident")
MEMORY_OFF = "memory is off in this run (--no-memory): past incidents are neither recalled nor saved"


def _store(ctx: ToolContext | None) -> Any:
    from copilot.kb.store import open_store

    return open_store(getattr(ctx, "settings", None))


@tool
def kb_search(query: str, kind: str | None = None, k: int = 5, ctx: ToolContext = None) -> ToolResult:
    """Search the knowledge base (expert experiences, SOP runbooks, past incidents) by meaning and keywords, in English or Chinese.

    Args:
        query: symptoms or question, e.g. "cartservice latency rising, CPU at 95%"
        kind: experience | document | incident; omit to search all
        k: how many entries to return (1-20)
    """
    from copilot.kb.search import cite, search

    if kind is not None and kind not in KINDS:
        return ToolResult.error(f"kind must be one of {', '.join(KINDS)} (or omitted), got {kind!r}")
    memory_off = not getattr(getattr(ctx, "settings", None), "memory", True)
    if memory_off and kind == "incident":
        return ToolResult.no_data(MEMORY_OFF)
    hits = search(_store(ctx), query, kind=kind, k=max(1, min(int(k), 20)), relevant_only=True,
                  exclude=("incident",) if memory_off else ())
    if not hits:
        return ToolResult.no_data(f"nothing in the knowledge base is relevant to {query!r}")
    text = "\n".join(cite(h) for h in hits)
    return ToolResult.ok(f"{len(hits)} entries (cite them by id):\n{text}", data=hits)


RECALL_SHOW_MIN = 0.6


@tool
def similar_incidents(query: str | None = None, k: int = 3, ctx: ToolContext = None) -> ToolResult:
    """Past incidents most similar to this one, by symptom signature (the anomalous components, metrics, log templates and trace edges found so far) and by text.

    Args:
        query: a description of the present incident; omit to use the findings alone
        k: how many incidents to return (1-10)
    """
    from copilot.kb.memory import KnowledgeMemory

    if not getattr(getattr(ctx, "settings", None), "memory", True):
        return ToolResult.no_data(MEMORY_OFF)
    findings = list(getattr(ctx, "findings", []) or [])
    if not query and not findings:
        return ToolResult.error("give a query or run detectors first: there are no findings to compare yet")
    text = query or "; ".join(f.summary for f in findings[:8])
    hits = KnowledgeMemory(_store(ctx)).recall(text, findings=findings or None, k=max(1, min(int(k), 10)))
    if not hits:
        return ToolResult.no_data("no past incidents in memory yet")
    lines = [f"[{h['id']}] similarity {h['similarity']:.2f}: {h['summary']}" for h in hits]
    basis = "symptom signature and text" if findings else "text"
    result = ToolResult.ok(f"{len(hits)} similar past incidents (by {basis}):\n" + "\n".join(lines), data=hits)
    # With findings the signature decides, and a close match is worth showing in the trace.
    result.recalled = [h for h in hits if findings and h["similarity"] >= RECALL_SHOW_MIN]
    return result


@tool
def get_runbook(name_or_id: str, ctx: ToolContext = None) -> ToolResult:
    """The full text of an SOP runbook, by id (sop-...) or by name (e.g. "pod pending", "disk full").

    Args:
        name_or_id: a runbook id such as sop-disk-full, or words from its title
    """
    from copilot.kb.search import search

    store = _store(ctx)
    doc_id = name_or_id.split("#")[0].strip()
    chunks = store.runbook(doc_id) if doc_id.startswith("sop-") else []
    if not chunks:
        hits = search(store, name_or_id, kind="document", k=1)
        if hits:
            chunks = store.runbook(hits[0]["doc_id"])
    if not chunks:
        known = sorted({c["doc_id"] for c in store.list("document")})
        return ToolResult.no_data(f"no runbook matches {name_or_id!r}; known runbooks: {', '.join(known) or 'none'}")
    head = chunks[0]
    body = "\n\n".join(f"## {c['section']} [{c['id']}]\n{c['body']}" for c in chunks)
    return ToolResult.ok(f"Runbook {head['doc_id']}: {head['title']}\n\n{body}",
                         data={"doc_id": head["doc_id"], "title": head["title"], "chunks": chunks})


plugin = Plugin(
    name="knowledge",
    description="Expert experiences, SOP runbooks and the memory of past incidents (LanceDB).",
    tools=[kb_search, similar_incidents, get_runbook],
    version="1",
)
