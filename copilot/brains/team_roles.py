"""How the team brain checks what its model roles answer.

Outputs are never trusted as they come: components must be ones the data knows, fault
kinds canonical, evidence ids real finding ids, drill-down calls read-only tools that were
not called before. Whatever does
not pass is dropped, and the caller falls back to the rules when nothing is left.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..diagnosis import FAULT_KINDS, Finding, RootCause
from ..kinds import is_kind
from ..reasons import reason
from ..reflection import SIGNATURES
from ..tools import Tool

MAX_CAUSES = 3
MODEL_WEIGHT = 0.5  # the model's share of a cause's confidence; the rule ranking has the rest
DEMOTE_FACTOR = 0.7
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
    if kind in FAULT_KINDS or is_kind(kind):  # the built-ins, plugins' and the knowledge base's kinds
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


# -- the drill-down --------------------------------------------------------------------
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


def merge_rankings(
    model: list[RootCause], rules: list[RootCause], weight: float = MODEL_WEIGHT, findings: list[Finding] | None = None
) -> list[RootCause]:
    """One ranking from both: a component's confidence is the weighted mean of the model's
    and the rules' (0 where one did not name it); the model's fault kind and reasons lead,
    except that a kind the model could not name ("unknown") yields to the rules' kind, and
    a known kind whose signature the component's findings lack does not overturn the
    rules' "unknown" (a novel fault stays novel)."""
    by_rule = {c.component: c for c in rules}
    merged: list[RootCause] = []
    for cause in model:
        rule = by_rule.get(cause.component)
        conf = weight * cause.confidence + (1 - weight) * (rule.confidence if rule else 0.0)
        evidence = list(dict.fromkeys(cause.evidence + (rule.evidence if rule else [])))
        reasons = cause.reasons + [r for r in (rule.reasons if rule else []) if r not in cause.reasons]
        kind = rule.fault_type if cause.fault_type == "unknown" and rule else cause.fault_type
        if rule and rule.fault_type == "unknown" and kind != "unknown" and findings is not None:
            own = [f for f in findings if f.component == cause.component]
            pattern = SIGNATURES.get(kind)
            if pattern is not None and not any(pattern.search(f"{f.source} {f.signal} {f.kind} {f.summary}") for f in own):
                reasons = reasons + [reason("model_signature_missing", kind=kind)]
                kind = "unknown"
        merged.append(RootCause(cause.component, kind, round(conf, 3), evidence, reasons))
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
            moved = RootCause(comp, kind, top.confidence, evidence, [reason("revised_by_reflection", was=top.component)])
            return [moved, replace(top, confidence=round(top.confidence * DEMOTE_FACTOR, 3))] + others, "revise", \
                f"revised to {comp} / {kind}"
        kind = canonical_kind(data.get("fault_type"))
        if kind != top.fault_type and kind != "unknown":
            pattern = SIGNATURES.get(kind)
            text = " ".join(f"{f.source} {f.signal} {f.kind} {f.summary}" for f in own)
            if pattern is not None and pattern.search(text):
                revised = replace(top, fault_type=kind, reasons=top.reasons + [reason("revised_by_reflection", was=top.fault_type)])
                return [revised] + rest, "revise", f"fault kind revised to {kind}"
            return causes, "keep", f"the suggested {kind} leaves no signature in {top.component}'s findings; kept"
    return causes, "keep", f"{top.component} / {top.fault_type} kept"


# -- the report summary -----------------------------------------------------------------
SUMMARY_CHARS = 700
_SENTENCE_END_RE = re.compile(r"[.!?。！？](?=\s|$)|[。！？]")


def trim_summary(text: str, limit: int = SUMMARY_CHARS) -> str:
    """A summary the model let run long (or that hit its token cap) ends at the last
    complete sentence within `limit` characters; a prefix, so it matches what streamed."""
    text = text.strip()
    if len(text) <= limit and _SENTENCE_END_RE.search(text[-1:] or " "):
        return text
    head = text[:limit]
    ends = [m.end() for m in _SENTENCE_END_RE.finditer(head)]
    return head[: ends[-1]].rstrip() if ends else head.rstrip()


# -- citations -------------------------------------------------------------------------
def usable_answer(text: str, lang: str) -> tuple[str, str]:
    """A model's knowledge answer, or "" with why it cannot be shown: a bare JSON object or
    code block is not an answer, and an answer in another language than the user's is not
    one they asked for (the rules' answer, in their language, stands instead)."""
    from ..language import detect_language

    body = text.strip()
    if not body:
        return "", ""
    if re.fullmatch(r"(```\w*\s*)?[\[{].*[\]}]\s*(```)?", body, re.S):
        return "", ("模型的回答不是文字，改用知识库的条目" if lang == "zh"
                    else "the model's reply was data, not an answer; the knowledge base's entries stand")
    prose = re.sub(r"```.*?```|`[^`\n]*`|https?://\S+", " ", body, flags=re.S)  # commands and links are not prose
    if prose.strip() and detect_language(prose) != lang:
        return "", ("模型没有用中文回答，改用知识库的条目" if lang == "zh"
                    else "the model did not answer in the question's language; the knowledge base's entries stand")
    return text, ""


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
    if removed:  # close the gaps the dropped citations left
        cleaned = re.sub(r"[ \t]+([.,;:!?。，；])", r"\1", cleaned)
        cleaned = re.sub(r"[ \t]{2,}", " ", cleaned)
    return cleaned.strip(), removed


def cited(text: str, valid: set[str]) -> list[str]:
    out = []
    for m in _CITE_RE.finditer(text):
        out += [p.strip() for p in re.split(r"[,;，、\s]+", m.group(1)) if p.strip() in valid]
    return list(dict.fromkeys(out))


GROUNDED_SHARE = 0.35  # share of an entry's words an answer must repeat to count as drawn from it
_WORD_RE = re.compile(r"[a-z0-9_]{4,}")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]+")
NO_ANSWER = ("the local knowledge base has no answer", "本地知识库没有答案", "本地知识库中没有")


def _words(text: str) -> set[str]:
    low = text.lower()
    words = set(_WORD_RE.findall(low))
    for run in _CJK_RE.findall(low):
        words |= {run[i : i + 2] for i in range(len(run) - 1)}
    return words


def grounded_in(text: str, entries: list[dict[str, Any]], body_of) -> list[str]:
    """Ids of entries an answer visibly draws on, cited or not (small models often forget
    to cite): it repeats at least GROUNDED_SHARE of the entry's words. None when the
    answer says the local knowledge has no answer."""
    if any(marker in text.lower() for marker in NO_ANSWER):
        return []
    said = _words(text)
    out = []
    for entry in entries:
        words = _words(body_of(entry))
        if words and len(said & words) / len(words) >= GROUNDED_SHARE:
            out.append(str(entry.get("id", "")))
    return [i for i in out if i]


# -- the rules as the floor ---------------------------------------------------------------
def cited_evidence(data: dict[str, Any] | None, components: list[str], findings: list[Finding]) -> dict[str, list[str]]:
    """Per component the model named: the finding ids it cited that resolve to findings."""
    ids = {f.id for f in findings}
    out: dict[str, list[str]] = {}
    raw = (data or {}).get("root_causes")
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        comp = match_component(item.get("component"), components)
        if comp is not None:
            out.setdefault(comp, [])
            out[comp] += [i for i in dict.fromkeys(finding_ids(item.get("evidence", ""))) if i in ids and i not in out[comp]]
    return out


def _signature_present(kind: str, own: list[Finding]) -> bool:
    pattern = SIGNATURES.get(kind)
    return pattern is None or any(pattern.search(f"{f.source} {f.signal} {f.kind} {f.summary}") for f in own)


def usable_evidence(findings: list[Finding]) -> list[Finding]:
    """Findings that can back a cause: not a confounder (a checkpoint, a maintenance window),
    not a signal some finding explains (what the checkpoint or a replica's lag accounts for),
    not a fault a detector checked and ruled out (a node that flapped and is Ready again), and
    not an alert on its own (an alert says something fired; the detectors judge why)."""
    from copilot.plugins.detectors.rank import declared_category, explained_signals

    explained = explained_signals(findings)
    return [f for f in findings if declared_category(f) is not None and (f.component, f.signal) not in explained
            and f.source != "alerts" and f.kind != "ruled_out" and f.details.fault_kind != ""
            and not f.details.ruled_out]


def declared(cause: RootCause, findings: list[Finding]) -> bool:
    """A platform or database detector recognised this fault kind on this component itself."""
    return any(f.component == cause.component and f.details.fault_kind == cause.fault_type
               for f in usable_evidence(findings))


def rules_kind_stands(rule_top: RootCause, findings: list[Finding]) -> bool:
    """The rules' fault kind for their leading component is backed by the data: a detector
    declared it there, or its signature is among the component's usable findings."""
    if rule_top.fault_type == "unknown":
        return False
    if declared(rule_top, findings):
        return True
    own = [f for f in usable_evidence(findings) if f.component == rule_top.component]
    return bool(own) and _signature_present(rule_top.fault_type, own)


def may_lead(cause: RootCause, rules: list[RootCause], findings: list[Finding], cited: dict[str, list[str]]) -> str:
    """Why `cause` may not displace the rules' leading cause ("" when it may): it must be
    one of the rules' candidates, the model must have cited findings of that component
    that exist and that no confounder explains, and its fault kind's signature must be in
    those findings."""
    if not rules or cause.component == rules[0].component:
        return ""
    if cause.component not in {r.component for r in rules[:MAX_CAUSES]}:
        return f"{cause.component} is not among the rules' candidates"
    own = [f for f in usable_evidence(findings) if f.component == cause.component]
    own_ids = {f.id for f in own}
    if not [i for i in cited.get(cause.component, []) if i in own_ids]:
        return f"no evidence id the model cited resolves to a finding of {cause.component} that nothing else explains"
    if declared(rules[0], findings) and not any(f.details.fault_kind for f in own):
        return (f"a detector recognised {rules[0].fault_type} on {rules[0].component}; {cause.component} has no "
                "finding of that strength")
    if cause.fault_type != "unknown" and not _signature_present(cause.fault_type, own):
        return f"the {cause.fault_type} signature is missing from {cause.component}'s findings"
    return ""


def unsupported_dropped(causes: list[RootCause], findings: list[Finding],
                        cited: dict[str, list[str]]) -> tuple[list[RootCause], str]:
    """When the rules name no cause (nothing anomalous, or only what a confounder such as a
    checkpoint explains), a model's cause stands only on evidence of its own: cited ids that
    resolve to findings of that component which are neither a confounder nor a signal a
    confounder explains, with its kind's signature among them. The rest are dropped."""
    usable = {f.id: f for f in usable_evidence(findings)}
    kept: list[RootCause] = []
    dropped: list[str] = []
    for cause in causes:
        own = [usable[i] for i in cited.get(cause.component, []) if i in usable
               and usable[i].component == cause.component]
        if own and (cause.fault_type == "unknown" or _signature_present(cause.fault_type, own)):
            kept.append(cause)
        else:
            dropped.append(f"{cause.component} / {cause.fault_type}")
    if not dropped:
        return kept, ""
    return kept, (f"the rules found no cause, and the model's {', '.join(dropped)} cites no evidence of its own "
                  "that a confounder does not explain; dropped")


def floor(causes: list[RootCause], rules: list[RootCause], findings: list[Finding],
          cited: dict[str, list[str]]) -> tuple[list[RootCause], str]:
    """The rules' answer is the floor: a model-backed ranking may change the leading cause
    (component or fault kind) only with evidence that resolves and a signature that is
    present; otherwise the rules' leading cause is restored. Returns (causes, why restored)."""
    if not rules:
        return unsupported_dropped(causes, findings, cited)
    if not causes:
        return list(rules), "the model's ranking was empty; the rules' ranking stands"
    top, rule_top = causes[0], rules[0]
    why = may_lead(top, rules, findings, cited)
    if why:
        kept = next((c for c in causes if c.component == rule_top.component), rule_top)
        kept = replace(kept, fault_type=rule_top.fault_type if kept.fault_type != rule_top.fault_type
                       and not _signature_present(kept.fault_type, [f for f in findings if f.component == kept.component])
                       else kept.fault_type, confidence=max(kept.confidence, top.confidence))
        rest = [c for c in causes if c.component != rule_top.component]
        return [kept] + rest, f"kept {rule_top.component} / {kept.fault_type} first: {why}"
    if top.component == rule_top.component and top.fault_type != rule_top.fault_type and rule_top.fault_type != "unknown":
        own = [f for f in findings if f.component == top.component]
        if top.fault_type == "unknown" or not _signature_present(top.fault_type, own):
            why = (f"the model's {top.fault_type} for {top.component} lacks its signature in the findings; "
                   f"kept {rule_top.fault_type}")
            return [replace(top, fault_type=rule_top.fault_type, reasons=top.reasons + [why])] + causes[1:], why
        if rules_kind_stands(rule_top, findings):
            why = (f"the data backs the rules' {rule_top.fault_type} for {top.component}; the model's "
                   f"{top.fault_type} does not overturn it")
            return [replace(top, fault_type=rule_top.fault_type, reasons=top.reasons + [why])] + causes[1:], why
    return causes, ""
