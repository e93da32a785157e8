"""What the team brain's model roles see: compact, so small local models (8k context) can
read it. The strongest findings (id + one sentence, every source represented), the rule
ranking, the call graph around the suspects, a few knowledge entries, the facts a report
summary may use, and the JSON schemas of the replies.
"""

from __future__ import annotations

import json
from typing import Any

from ..alert_routing import alert_list
from ..diagnosis import FAULT_KINDS, Diagnosis, Finding, RootCause
from ..redact import redact
from ..tools import Tool
from .base import RunState
from .offline import agent_plan, knowledge_entries
from .team_roles import MAX_CAUSES

MAX_FINDINGS = 15  # findings shown to a model
# Tools the fixed plan runs; the drill-down offers the other read-only tools.
PLANNED = {"describe_telemetry", "rank_root_causes", "kb_search", "similar_incidents", "get_runbook"}


# -- what the data knows ---------------------------------------------------------------
def described(state: RunState) -> dict[str, Any]:
    results = state.results_of("describe_telemetry")
    data = results[-1].data if results else None
    return data if isinstance(data, dict) else {}


def known_components(state: RunState) -> list[str]:
    names = [str(c) for c in described(state).get("components", [])]
    for f in state.ctx.findings:
        if f.component and f.component not in names:
            names.append(f.component)
    return names


def call_graph(state: RunState) -> list[tuple[str, str]]:
    return [(str(e[0]), str(e[1])) for e in described(state).get("call_graph", []) if len(e) == 2]


# -- compact inputs --------------------------------------------------------------------
def shown_findings(findings: list[Finding], ranking: list[RootCause], limit: int = MAX_FINDINGS) -> list[Finding]:
    """The top cause's evidence first, then the strongest of each source in turn
    (scores compare within a source, not across)."""
    by_id = {f.id: f for f in findings}
    picked: list[Finding] = [by_id[e] for e in (ranking[0].evidence if ranking else []) if e in by_id][: limit // 2]
    queues: dict[str, list[Finding]] = {}
    for f in sorted(findings, key=lambda f: -f.score):
        queues.setdefault(f.source, []).append(f)
    while len(picked) < limit and any(queues.values()):
        for source in list(queues):
            while queues[source] and queues[source][0] in picked:
                queues[source].pop(0)
            if queues[source] and len(picked) < limit:
                picked.append(queues[source].pop(0))
    return picked


def findings_text(findings: list[Finding]) -> str:
    # belt and braces: sources redact where data enters; prompts never carry a secret either
    return redact("\n".join(f"{f.id} ({f.source}, {f.component}): {f.summary}" for f in findings)) or "(none)"


def ranking_text(causes: list[RootCause], limit: int = MAX_CAUSES) -> str:
    lines = [
        f"{i}. {c.component} / {c.fault_type} (confidence {c.confidence:.2f}; evidence {', '.join(c.evidence[:5]) or '-'})"
        for i, c in enumerate(causes[:limit], 1)
    ]
    return "\n".join(lines) or "(no ranking)"


def entry_body(entry: dict[str, Any]) -> str:
    """What a knowledge entry says (cause and mitigation, or a document's text)."""
    return " | ".join(
        str(entry[k]).strip() for k in ("root_cause", "mitigation") if entry.get(k)
    ) or " ".join(str(entry.get("body") or entry.get("text") or "").split())


def entry_line(entry: dict[str, Any], width: int = 300) -> str:
    ident = entry.get("id", "")
    title = entry.get("fault_name") or entry.get("title") or entry.get("question") or entry.get("summary") or ""
    kind = f" ({entry['fault_kind']})" if entry.get("fault_kind") else ""
    return redact(f"[{ident}] {title}{kind}: {entry_body(entry)[:width]}")


def experiences(state: RunState, limit: int = 3) -> list[dict[str, Any]]:
    entries, seen = [], set()
    for e in knowledge_entries(state):
        if e.get("id") not in seen:
            seen.add(e.get("id"))
            entries.append(e)
    return entries[:limit]


def kb_fits(entries: list[dict[str, Any]], fault_type: str) -> bool:
    """Does any retrieved knowledge describe this fault kind?"""
    return fault_type != "unknown" and any(
        e.get("fault_kind") == fault_type or e.get("verdict_fault_kind") == fault_type for e in entries
    )


def graph_text(edges: list[tuple[str, str]], around: list[str], limit: int = 20) -> str:
    near = [e for e in edges if e[0] in around or e[1] in around][:limit]
    return ", ".join(f"{a}->{b}" for a, b in near) or "(unknown)"


# -- the drill-down --------------------------------------------------------------------
def drill_tools(state: RunState) -> list[Tool]:
    settings = state.ctx.settings
    out = []
    for t in state.tools:
        params = t.parameters.get("properties") or {}
        if t.risk != "read" or t.name in PLANNED or not params:
            continue
        if t.plugin == "prometheus" and not getattr(settings, "prometheus_url", ""):
            continue  # answers "not configured" without a server
        out.append(t)
    return out


def call_key(name: str, arguments: dict[str, Any]) -> str:
    args = {k: v for k, v in arguments.items() if v not in (None, "")}
    return name + json.dumps(args, sort_keys=True, default=str).lower()


# -- the RCA agent and the report agent -------------------------------------------------
def ranked_line(causes: list[RootCause]) -> str:
    return "; ".join(
        f"{i}. {c.component} / {c.fault_type} ({c.confidence:.2f}) [{', '.join(c.evidence[:4])}]"
        for i, c in enumerate(causes[:3], 1)
    ) or "(none)"


def kb_fit_text(entries: list[dict[str, Any]], rules: list[RootCause]) -> str:
    if rules and kb_fits(entries, rules[0].fault_type):
        return f"An experience above fits the leading rule hypothesis ({rules[0].fault_type})."
    return "Nothing above fits the leading hypothesis: consider a novel fault and explain its mechanism."


def rca_schema(components: list[str]) -> dict[str, Any]:
    cause = {
        "type": "object",
        "properties": {
            "component": {"type": "string", "enum": components} if components else {"type": "string"},
            "fault_type": {"type": "string", "enum": list(FAULT_KINDS)},
            "confidence": {"type": "number"},
            "evidence": {"type": "array", "items": {"type": "string"}},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "contradicting": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["component", "fault_type", "confidence", "evidence"],
    }
    return {
        "type": "object",
        "properties": {
            "thought": {"type": "string"},
            "root_causes": {"type": "array", "items": cause, "minItems": 1, "maxItems": MAX_CAUSES},
            "novel": {"type": "boolean"},
            "mechanism": {"type": "string"},
        },
        "required": ["thought", "root_causes"],
    }


def summary_facts(report: dict[str, Any], diagnosis: Diagnosis) -> str:
    """The facts the summary may use: each with the ids that back it."""
    by_id: dict[str, Finding] = {f.id: f for f in diagnosis.findings}
    lines = [f"Question: {report.get('question', '')}"]
    root = report.get("root_cause")
    if root:
        lines.append(f"Most likely root cause: {root['component']} / {root['fault_type']} ({root['fault_name']}), "
                     f"confidence {root['confidence']:.2f}, evidence {', '.join(root['evidence'][:4])}")
        lines += [f"- {e}: {by_id[e].summary}" for e in root["evidence"][:4] if e in by_id]
        lines += [f"- {r}" for r in root["reasons"][:1] if r.startswith(("Nothing", "知识库"))]
        if root.get("alternatives"):
            lines.append("Other candidates: " + "; ".join(f"{a['component']} / {a['fault_type']}" for a in root["alternatives"]))
    onsets = [f"{o['source']} at {o['onset']} [{', '.join(o['evidence'])}]" for o in report["alert_onsets"] if o["onset"]]
    lines.append("Anomalies began: " + ("; ".join(onsets) or "unknown"))
    now = report["actions"]["now"]
    if now:
        lines.append(f"First action: {now[0]['text']}")
    return redact("\n".join(lines))


# -- the RCA agent's tools ----------------------------------------------------------------
KNOWLEDGE_TOOLS = ("kb_search", "get_runbook", "similar_incidents")


def rca_tools(state: RunState) -> list[Tool]:
    """What the RCA agent may call: the knowledge base, the memory of past incidents and the
    team's diagnosis items, read-only."""
    return [t for t in state.tools if t.risk == "read" and (t.name in KNOWLEDGE_TOOLS or t.plugin == "items")]


def alert_route_text(state: RunState) -> list[str]:
    """Where the firing alerts point (the host's reading, copilot/alert_routing.py), for a
    data-source agent's opening; [] when no alert fired."""
    plan = agent_plan(state)
    if plan is None or not (plan.alerted or plan.unheld):
        return []
    lines = [f"- {agent}: {alert_list(alerts, 'en')}" for agent, alerts in plan.alerted.items()]
    lines += [f"- {agent}: not in the data" for agent in plan.unheld]
    return ["Firing alerts point to:\n" + "\n".join(lines)]
