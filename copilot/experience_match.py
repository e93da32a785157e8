"""An expert experience as the diagnosis: offline, by matching its symptoms to the findings.

The knowledge tools return experiences; one whose symptom phrases (the quoted log words,
its specific tags) occur in the leading cause's evidence describes the cause. When it has
the cause's own fault kind it is cited; when it defines the team's own kind (the seed's
pod-pending causes: a cluster change, an IPv6 config mismatch, ...) and matches at least
MIN_HITS phrases, its kind becomes the diagnosis. The report cites the experience either way.
"""

from __future__ import annotations

import re
from typing import Any

from .diagnosis import Finding, RootCause
from .evidence import PlatformEvidence
from .kinds import is_detector_kind, register_experiences
from .reasons import reason

MIN_HITS = 2
GENERIC_TAGS = {"kubernetes", "pod pending", "change", "config", "restart", "unknown", "oncall", "tbd", "expected",
                "变更", "配置", "重启", "集群", "cluster", "未知", "值班", "预期行为"}
_QUOTED = re.compile(r"[\"“]([^\"”]{3,80})[\"”]")


def phrases(entry: dict[str, Any]) -> list[str]:
    given = entry.get("symptoms")
    nested: dict[str, Any] = given if isinstance(given, dict) else {}
    text = " ".join([str(entry.get(k) or "") for k in ("symptoms_logs", "symptoms_metrics")]
                    + [str(nested.get(k) or "") for k in ("logs", "metrics")])
    quoted = [q.strip(" .") for q in _QUOTED.findall(text)]
    tags = [str(t) for t in entry.get("tags") or [] if ":" not in str(t) and str(t).lower() not in GENERIC_TAGS]
    return [p for p in dict.fromkeys(quoted + tags) if len(p) >= 3]


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z]{4,}", text.lower())}


def same_fault(entry: dict[str, Any], cause: RootCause) -> bool:
    """The experience is about the same fault as the cause (their names share a word: "Pod
    pending" and "pods pending: cluster resources short"); then one specific symptom is enough."""
    from .faults import fault_info

    return bool(_words(str(entry.get("fault_name") or "")) & _words(fault_info(cause.fault_type).name_en))


def evidence_text(cause: RootCause, findings: list[Finding]) -> str:
    by_id = {f.id: f for f in findings}
    parts = []
    for fid in cause.evidence:
        f = by_id.get(fid)
        if f is None:
            continue
        parts.append(f.summary)
        d = f.details
        if isinstance(d, PlatformEvidence):  # what Kubernetes itself said
            parts += [v for v in (d.message, d.scheduler_message, d.sample) if isinstance(v, str)]
    parts += [f.summary for f in findings if f.source == "changes" and f.component == cause.component]
    return " ".join(parts).lower()


def match(cause: RootCause, findings: list[Finding], entries: list[dict[str, Any]], lang: str = "en") -> tuple[dict[str, Any], int] | None:
    """The experience that best describes the cause, with its phrase hits; None when none does."""
    register_experiences(e for e in entries if str(e.get("id", "")).startswith("exp-"))
    text = evidence_text(cause, findings)
    best: tuple[float, dict[str, Any], int] | None = None
    candidates: list[tuple[float, dict[str, Any], int]] = []
    for e in entries:
        kind = str(e.get("fault_kind") or "")
        if not kind or not str(e.get("id", "")).startswith("exp-"):
            continue
        hits = sum(1 for p in phrases(e) if p.lower() in text)
        same = kind == cause.fault_type
        if not same and (is_detector_kind(kind) or hits < (1 if same_fault(e, cause) else MIN_HITS)):
            continue  # another built-in kind is the rules' call, not an experience's
        if same and hits == 0:
            continue
        score = 2 * hits + (1 if same else 0) + (0.5 if e.get("language") == lang else 0)
        candidates.append((score, e, hits))
        if best is None or score > best[0]:
            best = (score, e, hits)
    if best is None:
        return None
    # the same kind's experience in the report's language, when it matches too (the
    # English evidence hits more of the English entry's phrases; the reader wants theirs)
    own = [c for c in candidates if c[1].get("fault_kind") == best[1].get("fault_kind") and c[1].get("language") == lang]
    chosen = max(own, key=lambda c: c[0]) if own else best
    return chosen[1], chosen[2]


def apply(causes: list[RootCause], findings: list[Finding], entries: list[dict[str, Any]], lang: str = "en") -> list[RootCause]:
    """The leading cause, described by the matching experience when one matches."""
    if not causes or not entries:
        return causes
    top = causes[0]
    found = match(top, findings, entries, lang)
    if found is None:
        return causes
    entry, hits = found
    from .kinds import category_of

    kind = str(entry["fault_kind"])
    if kind != top.fault_type:
        top.reasons.insert(1, reason("experience_describes", id=entry["id"], hits=hits, root_cause=entry.get("root_cause", "")))
        top.fault_type = kind
        top.category = category_of(kind) or top.category
    else:
        top.reasons.insert(1, reason("experience_matches", id=entry["id"], root_cause=entry.get("root_cause", "")))
    top.experience = str(entry["id"])
    return causes
