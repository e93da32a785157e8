"""Reflection: check each leading hypothesis against the evidence before answering.

For every candidate root cause: does the fault kind's expected signature appear in the
component's own findings, did its onset come first, and is there any evidence at all?
A hypothesis that fails a check is demoted (its confidence lowered and the ranking
re-sorted); each check leaves a plain note for the trace and the report.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .diagnosis import Finding, RootCause, significant

# What each fault kind should leave behind in the component's own findings.
SIGNATURES: dict[str, re.Pattern[str]] = {
    "cpu_saturation": re.compile(r"cpu", re.I),
    "memory_leak": re.compile(r"mem|heap|rss|oom", re.I),
    "disk_full": re.compile(r"disk|fs_|filesystem|no space|inode", re.I),
    "jvm_gc": re.compile(r"gc|garbage|heap", re.I),
    "network_delay": re.compile(r"rtt|latency|lat_|delay|duration|p9\d", re.I),
    "network_loss": re.compile(r"retrans|loss|drop|lost|timeout|reset|error", re.I),
    "traffic_surge": re.compile(r"request|qps|rps|rate|lod|workload|traffic", re.I),
    "code_exception": re.compile(r"error|exception|fail|panic|deploy|traceback|5\d\d", re.I),
}

ONSET_TOLERANCE_S = 120.0


def _text(f: Finding) -> str:
    return f"{f.source} {f.signal} {f.kind} {f.summary}"


def reflect(causes: list[RootCause], findings: list[Finding], top_n: int = 3) -> tuple[list[RootCause], list[str]]:
    """Return the re-ranked causes and one note per check made."""
    if not causes:
        return [], []
    by_id = {f.id: f for f in findings}
    # Changes precede incidents by design; the onset race is between anomalies.
    # Weak blips (a 3-sigma wobble an hour early) do not get to date the incident.
    onsets = [f.onset for f in significant(findings) if f.onset is not None and f.source != "changes"]
    earliest = min(onsets) if onsets else None
    revised: list[RootCause] = []
    notes: list[str] = []
    for rank, cause in enumerate(causes):
        if rank >= top_n:
            revised.append(cause)
            continue
        own = [by_id[e] for e in cause.evidence if e in by_id] or [f for f in findings if f.component == cause.component]
        factor = 1.0
        checks: list[str] = []
        if not own:
            factor *= 0.5
            checks.append("no finding of its own supports it")
        pattern = SIGNATURES.get(cause.fault_type)
        if pattern is not None and own:
            if any(pattern.search(_text(f)) for f in own):
                checks.append(f"the {cause.fault_type} signature is present")
            else:
                factor *= 0.6
                checks.append(f"the expected {cause.fault_type} signature is missing")
        own_onsets = [f.onset for f in own if f.onset is not None and f.source != "changes"]
        if earliest is not None and own_onsets:
            lag = min(own_onsets) - earliest
            if lag <= ONSET_TOLERANCE_S:
                checks.append("its anomalies began first")
            else:
                factor *= 0.8
                checks.append(f"its anomalies began {lag / 60:.0f} min after the earliest one")
        verdict = "kept" if factor >= 0.999 else "demoted"
        notes.append(f"{cause.component} / {cause.fault_type}: {'; '.join(checks)} -> {verdict}.")
        revised.append(replace(cause, confidence=round(cause.confidence * factor, 3)))
    head = sorted(revised[:top_n], key=lambda c: -c.confidence)
    return head + revised[top_n:], notes
