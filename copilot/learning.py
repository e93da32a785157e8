"""Learning from the engineer: a labelled past incident whose symptom signature matches
the present one proposes its verified root cause.

`copilot memory label` records a human verdict on a remembered diagnosis: `correct`, or a
corrected component and fault kind. When a later investigation recalls that incident by
symptom signature (copilot.kb.memory.KnowledgeMemory.recall, through `similar_incidents`), the
verified cause is put first in the ranking with a reason that cites the label, provided
the verified component shows anomalies of its own now (a label about a component that is
healthy in this incident says nothing about it). Unverified memories never change the
ranking: they are the copilot's own guesses.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable

from .diagnosis import FAULT_KINDS, Finding, RootCause
from .kinds import is_kind
from .reasons import Reason, cited, reason

# How close (0..1, the recall's signature-weighted similarity) a labelled incident must be
# to count as "the same incident again". Measured (bench/label_learning.py, which prints
# every label it applied): repeats of one fault on one service 0.79-0.92; a neighbour (the
# same fault on another service, or another fault on the same one) up to 0.62.
LABEL_MATCH_MIN = 0.7

def label_reason(hit: dict[str, Any]) -> Reason:
    verdict = "corrected" if hit.get("verdict") == "corrected" else "correct"
    date = str(hit.get("labelled_at") or "")[:10] or "an earlier date"
    return reason("label_match", verdict=verdict, date=date, component=hit.get("root_cause", ""),
                  kind=hit.get("fault_kind", ""), id=hit.get("id", ""), sim=round(float(hit.get("similarity", 0.0)), 2))


def matching_label(recalled: Iterable[dict[str, Any]], findings: list[Finding],
                   min_similarity: float = LABEL_MATCH_MIN) -> dict[str, Any] | None:
    """The closest verified past incident that matches this one, or None."""
    present = {f.component for f in findings if f.component and f.source != "changes"}
    best = None
    for hit in recalled:
        if hit.get("verdict") not in ("correct", "corrected"):
            continue
        if float(hit.get("similarity", 0.0)) < min_similarity:
            continue
        if hit.get("root_cause") not in present or not (hit.get("fault_kind") in FAULT_KINDS or is_kind(str(hit.get("fault_kind") or ""))):
            continue
        if best is None or float(hit["similarity"]) > float(best["similarity"]):
            best = hit
    return best


def apply_labels(causes: list[RootCause], recalled: Iterable[dict[str, Any]], findings: list[Finding],
                 min_similarity: float = LABEL_MATCH_MIN) -> list[RootCause]:
    """The ranking with a matching label's verified cause first (moved up when the ranking
    has it, inserted otherwise), its reasons citing the label; unchanged without a match."""
    hit = matching_label(recalled, findings, min_similarity)
    if hit is None:
        return list(causes)
    component, kind = hit["root_cause"], hit["fault_kind"]
    why = label_reason(hit)
    rest = [rc for rc in causes if (rc.component, rc.fault_type) != (component, kind)]
    found = next((rc for rc in causes if (rc.component, rc.fault_type) == (component, kind)), None)
    top_conf = max((rc.confidence for rc in causes), default=0.0)
    confidence = round(max(top_conf, float(hit["similarity"]), found.confidence if found else 0.0), 3)
    if found is not None:
        lifted = replace(found, confidence=confidence, reasons=[*found.reasons, why],
                         evidence=[*found.evidence, hit["id"]])
    else:
        own = sorted((f for f in findings if f.component == component and f.source != "changes"), key=lambda f: -f.score)
        lifted = RootCause(component, kind, confidence, evidence=[f.id for f in own[:3]] + [hit["id"]],
                           reasons=[why, *(cited(f.id, f.summary) for f in own[:2])])
    return [lifted, *rest]
