"""What the team brain's model roles see, and how their answers are checked.

Inputs are compact (small local models, 8k context): the strongest findings (id + one
sentence), the rule ranking, a few knowledge entries. Outputs are never trusted as they
come: components must be ones the data knows, fault kinds canonical, evidence ids real
finding ids, drill-down calls read-only tools that were not called before. Whatever does
not pass is dropped, and the caller falls back to the rules when nothing is left.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from ..diagnosis import FAULT_KINDS, Finding, RootCause
from ..reflection import SIGNATURES
from ..tools import Tool
from .base import RunState
from .offline import knowledge_entries

MAX_FINDINGS = 15  # findings shown to a model
MAX_CAUSES = 3
MODEL_WEIGHT = 0.5  # the model's share of a cause's confidence; the rule ranking has the rest
DEMOTE_FACTOR = 0.7
# Tools the fixed plan runs; the drill-down offers the other read-only tools.
PLANNED = {"describe_telemetry", "rank_root_causes", "kb_search", "similar_incidents", "get_runbook"}
_ID_RE = re.compile(r"\b[A-Z]{1,2}\d{1,4}\b")
_CITE_RE = re.compile(r"\[([^\[\]\n]{1,80})\](?!\()")
_ALIASES = (  # words small models use for the canonical kinds
    ("memory_leak", r"mem|oom|leak|heap_growth"),
    ("jvm_gc", r"gc|garbage|jvm"),
    ("cpu_saturation", r"cpu|compute|hot_loop"),
    ("disk_full", r"disk|storage|space|inode"),
    ("network_loss", r"loss|packet|retrans|drop"),
    ("network_delay", r"network|latency|delay|rtt|slow"),
    ("traffic_surge", r"traffic|surge|load|qps|request_rate"),
    ("code_exception", r"code|exception|error|bug|deploy|release"),
)


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


def match_component(text: Any, components: list[str]) -> str | None:
    """The known component a model meant ("Catalogue", "catalogue service", "`cart`")."""
    name = str(text or "").strip().strip("`'\"*[]").strip().lower()
    if not name:
        return None
    by_lower = {c.lower(): c for c in components}
    if name in by_lower:
        return by_lower[name]
    stem = re.sub(r"[\s_-]*(service|svc|pod|server)$", "", name).strip()
    if stem in by_lower:
        return by_lower[stem]
    named = [c for c in components if re.search(rf"\b{re.escape(c.lower())}\b", name)]
    return named[0] if len(named) == 1 else None


def canonical_kind(text: Any) -> str:
    kind = re.sub(r"[\s-]+", "_", str(text or "").strip().lower())
    if kind in FAULT_KINDS:
        return kind
    for canonical, pattern in _ALIASES:
        if re.search(pattern, kind):
            return canonical
    return "unknown"


def finding_ids(text: Any) -> list[str]:
    return _ID_RE.findall(str(text))


def finding_key(f: Finding) -> tuple[str, str, str, str]:
    """Findings with the same key say the same thing (a drill-down re-detects them under new ids)."""
    return (f.source, f.component, f.signal, f.kind)


# -- compact inputs --------------------------------------------------------------------
def shown_findings(findings: list[Finding], ranking: list[RootCause], limit: int = MAX_FINDINGS) -> list[Finding]:
    """The top cause's evidence first, then the strongest of each source in turn
    (scores compare within a source, not across)."""
    by_id = {f.id: f for f in findings}
    picked: list[Finding] = [by_id[e] for e in (ranking[0].evidence if ranking else []) if e in by_id][: limit // 2]
    queues = {}
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
    return "\n".join(f"{f.id} ({f.source}, {f.component}): {f.summary}" for f in findings) or "(none)"


def ranking_text(causes: list[RootCause], limit: int = MAX_CAUSES) -> str:
    lines = [
        f"{i}. {c.component} / {c.fault_type} (confidence {c.confidence:.2f}; evidence {', '.join(c.evidence[:5]) or '-'})"
        for i, c in enumerate(causes[:limit], 1)
    ]
    return "\n".join(lines) or "(no ranking)"


def entry_line(entry: dict[str, Any], width: int = 300) -> str:
    ident = entry.get("id", "")
    title = entry.get("fault_name") or entry.get("title") or entry.get("question") or entry.get("summary") or ""
    kind = f" ({entry['fault_kind']})" if entry.get("fault_kind") else ""
    body = " | ".join(
        str(entry[k]).strip() for k in ("root_cause", "mitigation") if entry.get(k)
    ) or " ".join(str(entry.get("body") or entry.get("text") or "").split())
    return f"[{ident}] {title}{kind}: {body[:width]}"


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


def read_drill_reply(data: dict[str, Any] | None, text: str, tools: dict[str, Tool]) -> tuple[list[tuple[str, dict]], bool]:
    """(calls, enough) from the model's reply: the JSON object, or a ReAct-style or JSON tool call."""
    from . import text_protocol as tp

    calls: list[tuple[str, dict[str, Any]]] = []
    enough = False
    if data is not None:
        enough = bool(data.get("enough")) and not data.get("calls")
        raw = data.get("calls") or []
        if isinstance(raw, dict):
            raw = [raw]
        if not raw and (data.get("tool") or data.get("name") or data.get("action")):
            raw = [data]
        for item in raw if isinstance(raw, list) else []:
            if not isinstance(item, dict):
                continue
            name = item.get("tool") or item.get("name") or item.get("action") or ""
            args = item.get("arguments", item.get("action_input", item.get("args", {})))
            resolved = tp.resolve_tool_name(str(name), tools)
            if not isinstance(args, dict):
                args = tp.single_value(args, tools.get(resolved))
            calls.append((resolved, tp.fit_arguments(args, tools.get(resolved))))
    else:
        step = tp.parse_react(text, tools)
        if step.action is not None and step.problem is None:
            calls.append((step.action, tp.fit_arguments(step.arguments, tools.get(step.action))))
        enough = step.final_answer is not None
    return calls, enough


# -- the RCA agent's answer ------------------------------------------------------------
def read_rca(
    data: dict[str, Any] | None, components: list[str], findings: list[Finding]
) -> tuple[list[RootCause], str]:
    """Validated causes from the RCA reply, or [] and why not."""
    if data is None:
        return [], "its reply held no JSON object"
    raw = data.get("root_causes")
    if not isinstance(raw, list) or not raw:
        return [], "its reply listed no root causes"
    ids = {f.id for f in findings}
    causes: list[RootCause] = []
    dropped: list[str] = []
    for item in raw[:MAX_CAUSES]:
        if not isinstance(item, dict):
            continue
        comp = match_component(item.get("component"), components)
        if comp is None:
            dropped.append(str(item.get("component", "?"))[:40])
            continue
        if any(c.component == comp for c in causes):
            continue
        evidence = [i for i in dict.fromkeys(finding_ids(item.get("evidence", ""))) if i in ids]
        if not evidence:
            evidence = [f.id for f in sorted(findings, key=lambda f: -f.score) if f.component == comp][:3]
        try:
            confidence = min(max(float(item.get("confidence", 0.5)), 0.0), 1.0)
        except (TypeError, ValueError):
            confidence = 0.5
        reasons = _sentences(item.get("reasons"))
        against = _sentences(item.get("contradicting"))
        reasons += [f"against: {a}" for a in against]
        causes.append(RootCause(comp, canonical_kind(item.get("fault_type") or item.get("fault_kind")),
                                confidence, evidence, reasons))
    if not causes:
        return [], f"it named no component the data knows ({', '.join(dropped) or 'none'})"
    return causes, ""


def _sentences(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()][:4]
    return []


def merge_rankings(model: list[RootCause], rules: list[RootCause], weight: float = MODEL_WEIGHT) -> list[RootCause]:
    """One ranking from both: a component's confidence is the weighted mean of the model's
    and the rules' (0 where one did not name it); the model's fault kind and reasons lead."""
    by_rule = {c.component: c for c in rules}
    merged: list[RootCause] = []
    for cause in model:
        rule = by_rule.get(cause.component)
        conf = weight * cause.confidence + (1 - weight) * (rule.confidence if rule else 0.0)
        evidence = list(dict.fromkeys(cause.evidence + (rule.evidence if rule else [])))
        reasons = cause.reasons + [r for r in (rule.reasons if rule else []) if r not in cause.reasons]
        merged.append(RootCause(cause.component, cause.fault_type, round(conf, 3), evidence, reasons))
    named = {c.component for c in model}
    merged += [replace(c, confidence=round((1 - weight) * c.confidence, 3)) for c in rules if c.component not in named]
    return sorted(merged, key=lambda c: -c.confidence)


# -- the reflection agent's verdict -----------------------------------------------------
def apply_verdict(
    causes: list[RootCause], data: dict[str, Any] | None, findings: list[Finding], components: list[str]
) -> tuple[list[RootCause], str, str]:
    """(causes, verdict, note): keep / revise / demote the leading cause. A revision must be
    backed by the data: a new fault kind needs its signature in the component's findings,
    a new component needs findings of its own."""
    if not causes or data is None:
        return causes, "keep", "no readable verdict; the rule checks stand"
    verdict = str(data.get("verdict", "keep")).strip().lower()
    top, rest = causes[0], causes[1:]
    own = [f for f in findings if f.component == top.component]
    if verdict.startswith("demote"):
        demoted = replace(top, confidence=round(top.confidence * DEMOTE_FACTOR, 3))
        return sorted([demoted] + rest, key=lambda c: -c.confidence), "demote", f"{top.component} demoted"
    if verdict.startswith("revise"):
        comp = match_component(data.get("component"), components)
        if comp and comp != top.component:
            theirs = [f for f in findings if f.component == comp]
            if not theirs:
                return causes, "keep", f"the suggested {comp} has no finding of its own; kept {top.component}"
            kind = canonical_kind(data.get("fault_type")) if data.get("fault_type") else top.fault_type
            others = [c for c in rest if c.component != comp]
            evidence = [f.id for f in sorted(theirs, key=lambda f: -f.score)][:4]
            moved = RootCause(comp, kind, top.confidence, evidence, [f"revised from {top.component} by reflection"])
            return [moved, replace(top, confidence=round(top.confidence * DEMOTE_FACTOR, 3))] + others, "revise", \
                f"revised to {comp} / {kind}"
        kind = canonical_kind(data.get("fault_type"))
        if kind != top.fault_type and kind != "unknown":
            pattern = SIGNATURES.get(kind)
            text = " ".join(f"{f.source} {f.signal} {f.kind} {f.summary}" for f in own)
            if pattern is not None and pattern.search(text):
                revised = replace(top, fault_type=kind, reasons=top.reasons + [f"revised from {top.fault_type} by reflection"])
                return [revised] + rest, "revise", f"fault kind revised to {kind}"
            return causes, "keep", f"the suggested {kind} leaves no signature in {top.component}'s findings; kept"
    return causes, "keep", f"{top.component} / {top.fault_type} kept"


# -- citations -------------------------------------------------------------------------
def filter_citations(text: str, valid: set[str]) -> tuple[str, list[str]]:
    """Drop every bracketed citation that is not a valid id ([M1, X9] -> [M1])."""
    removed: list[str] = []

    def fix(m: re.Match[str]) -> str:
        parts = [p.strip() for p in re.split(r"[,;，、\s]+", m.group(1)) if p.strip()]
        if not parts or not any(re.search(r"\d|-", p) for p in parts):
            return m.group(0)  # not a citation ("[rules]", "[x]")
        kept = [p for p in parts if p in valid]
        removed.extend(p for p in parts if p not in valid)
        return "[" + ", ".join(kept) + "]" if kept else ""

    cleaned = _CITE_RE.sub(fix, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?。，；])", r"\1", cleaned)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip(), removed


def cited(text: str, valid: set[str]) -> list[str]:
    out = []
    for m in _CITE_RE.finditer(text):
        out += [p.strip() for p in re.split(r"[,;，、\s]+", m.group(1)) if p.strip() in valid]
    return list(dict.fromkeys(out))
