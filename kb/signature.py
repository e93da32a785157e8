"""The symptom signature of an incident: which components, metrics, log templates and
trace edges were anomalous, as a set of tokens derived from its findings, and a weighted
Jaccard similarity between two signatures."""

from __future__ import annotations

import re
from typing import Any, Iterable

from copilot.diagnosis import Finding

# Exact matches (this metric, this template, this edge) count more than coarse ones
# (this component, this kind of anomaly from this source).
WEIGHTS = {"component": 1.0, "anomaly": 1.0, "metric": 2.0, "log": 2.0, "edge": 2.0, "change": 1.5, "alert": 1.5}


def _template(text: str) -> str:
    text = re.sub(r"\d+(\.\d+)?", "<*>", text.lower())
    return " ".join(text.split())[:80]


def signature(findings: Iterable[Finding | dict[str, Any]]) -> list[str]:
    tokens: set[str] = set()
    for f in findings:
        f = Finding.from_dict(f) if isinstance(f, dict) else f
        comp = (f.component or "").strip().lower()
        if comp:
            tokens.add(f"component:{comp}")
        tokens.add(f"anomaly:{f.source}:{comp}:{f.kind}")
        signal = (f.signal or "").strip()
        if not signal:
            continue
        if f.source == "metrics":
            tokens.add(f"metric:{comp}:{signal.lower()}")
        elif f.source == "logs":
            tokens.add(f"log:{comp}:{_template(signal)}")
        elif f.source == "traces":
            tokens.add(f"edge:{signal.lower().replace(' ', '')}")
        elif f.source == "changes":
            tokens.add(f"change:{comp}")
        elif f.source == "alerts":
            tokens.add(f"alert:{comp}:{signal.lower()}")
    return sorted(tokens)


def _weight(token: str) -> float:
    return WEIGHTS.get(token.split(":", 1)[0], 1.0)


def similarity(a: Iterable[str], b: Iterable[str]) -> float:
    """Weighted Jaccard similarity of two signatures, 0..1."""
    sa, sb = set(a), set(b)
    union = sum(_weight(t) for t in sa | sb)
    return sum(_weight(t) for t in sa & sb) / union if union else 0.0
