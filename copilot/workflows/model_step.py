"""The workflow's `model` step: root-cause inference over the step outputs with the
retrieved expert experiences (the seed's llm_infer). The prompt template is
copilot/prompts/workflow_rca.md, or the file the step names. Offline, the rule ranking
stands in, and the step says so."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ..diagnosis import FAULT_KINDS, Finding, RootCause
from ..kinds import is_kind, prompt_kinds

MAX_EXPERIENCES = 4
MIN_KIND_OVERLAP = 3


def _words(text: str) -> set[str]:
    from .match import words

    return words(text)


@lru_cache(maxsize=1)
def _catalogue() -> list[tuple[dict[str, Any], frozenset[str]]]:
    import yaml

    path = Path(__file__).resolve().parents[2] / "kb" / "bundled" / "experiences.yaml"
    entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("experiences", [])
    return [(e, frozenset(_words(" ".join(str(e.get(k, "")) for k in ("fault_name", "root_cause", "tags", "symptoms", "services")))))
            for e in entries]


def retrieve_experiences(text: str, language: str) -> list[dict[str, Any]]:
    """Expert experiences that share the most words with the workflow and its findings
    (the bundled catalogue; each fault comes in English and Chinese)."""
    query = _words(text)
    scored = []
    for e, body in _catalogue():
        overlap = len(query & body)
        if overlap:
            scored.append((overlap, e.get("language") == language, dict(e, overlap=overlap)))
    scored.sort(key=lambda x: (-x[0], not x[1]))
    picked = [e for _, _, e in scored if e.get("language", language) == language][:MAX_EXPERIENCES]
    return picked or [e for _, _, e in scored][:MAX_EXPERIENCES]


def rule_causes(findings: list[Finding], experiences: list[dict[str, Any]], language: str = "en") -> list[RootCause]:
    """The rule ranking; when it names nothing (item findings are about clusters, not
    services), the component with the strongest findings, typed by the best experience."""
    from copilot.plugins.detectors.rank import rank_root_causes

    causes = rank_root_causes(findings, [])
    if causes or not findings:
        return causes
    by_comp: dict[str, list[Finding]] = {}
    for f in findings:
        by_comp.setdefault(f.component, []).append(f)
    comp, fs = max(by_comp.items(), key=lambda kv: (sum(f.score for f in kv[1]), kv[0]))
    # An experience names the fault kind only when it shares enough words with the findings.
    said = _words(" ".join(f.summary for f in findings))
    kind = next((e["fault_kind"] for e in experiences if e.get("fault_kind") in FAULT_KINDS
                 and len(said & _words(" ".join(str(e.get(k, "")) for k in ("fault_name", "root_cause", "tags", "symptoms"))))
                 >= MIN_KIND_OVERLAP), "unknown")
    reasons = [f"工作流的检查项有 {len(fs)} 条发现指向 {comp}" if language == "zh"
               else f"{len(fs)} finding(s) of the workflow's checks point at {comp}"]
    return [RootCause(comp, kind, round(min(0.6, 0.3 + 0.1 * len(fs)), 2), [f.id for f in fs][:6], reasons)]


def closest_experience(findings: list[Finding], experiences: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The retrieved experience sharing the most words with the findings (enough of them)."""
    said = _words(" ".join(f.summary for f in findings))
    best, best_n = None, MIN_KIND_OVERLAP - 1
    for e in experiences:
        n = len(said & _words(" ".join(str(e.get(k, "")) for k in ("fault_name", "root_cause", "tags", "symptoms"))))
        if n > best_n:
            best, best_n = e, n
    return best


def render_prompt(template: str, **values: str) -> str:
    out = template
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out


def build_prompt(workflow: Any, findings: list[Finding], experiences: list[dict[str, Any]], ranking: list[RootCause],
                 language: str, prompt_file: str = "") -> str:
    from ..prompts import load_prompt

    template = Path(prompt_file).read_text(encoding="utf-8") if prompt_file else load_prompt("workflow_rca")
    lines = [f"[{f.id}] {f.source} {f.component} {f.signal}: {f.summary}" for f in findings] or ["(none)"]
    exps = [f"- {e.get('fault_name')} / {e.get('fault_kind')}: {e.get('root_cause')} Mitigation: {e.get('mitigation')}"
            for e in experiences] or ["(none)"]
    ranks = [f"- {c.component} {c.fault_type} {c.confidence:.2f} {c.evidence}" for c in ranking] or ["(none)"]
    return render_prompt(
        template, workflow=workflow.name, description=workflow.description,
        components=", ".join(sorted({f.component for f in findings})) or "(none)", fault_kinds=prompt_kinds(),
        findings="\n".join(lines), experiences="\n".join(exps), ranking="\n".join(ranks),
        language=load_prompt(f"language_{language if language in ('en', 'zh') else 'en'}"),
    )


def causes_from_reply(data: dict[str, Any] | None, findings: list[Finding]) -> list[RootCause]:
    """The model's causes, keeping only those whose evidence names real findings."""
    ids = {f.id for f in findings}
    comps = {f.component for f in findings}
    out = []
    for raw in (data or {}).get("root_causes", []) or []:
        if not isinstance(raw, dict):
            continue
        evidence = [e for e in raw.get("evidence", []) if e in ids]
        if not evidence or raw.get("component") not in comps:
            continue
        named = str(raw.get("fault_type") or "")
        kind = named if named in FAULT_KINDS or is_kind(named) else "unknown"
        try:
            conf = max(0.0, min(1.0, float(raw.get("confidence", 0.5))))
        except (TypeError, ValueError):
            conf = 0.5
        out.append(RootCause(raw["component"], kind, conf, evidence, [str(r) for r in raw.get("reasons", [])][:4]))
    return out[:3]
