"""The report stage for a free ReAct run: the same five-section report every strategy ends in.

A model investigating on its own (`strategy = "react"`) ends with free text. When the run
looked at data (a detector ran), its conclusion goes through the stage the offline and team
brains end in (offline.py `write_report`): the causes are checked against the data, reflected
on, and written up with every claim linked to its evidence. The model's text becomes the
report's summary only when it cites findings that exist; its uncited claims never reach the
report. A question that examined no data (knowledge, chit-chat) keeps the model's answer.
"""

from __future__ import annotations

from dataclasses import replace

from ..diagnosis import Diagnosis, RootCause
from ..reflection import reflect
from ..report import render_markdown
from . import team_roles as roles
from .base import RunState
from .offline import DETECTORS, rule_ranking, write_report


def examined_data(state: RunState) -> bool:
    return any(state.results_of(tool) for tool in DETECTORS)


def checked_causes(model: Diagnosis | None, state: RunState) -> list[RootCause]:
    """The model's causes that name a component the findings know, with only the evidence
    ids that resolve; the rule ranking when the model named none it could back."""
    findings = list(state.ctx.findings)
    components = {f.component for f in findings if f.component}
    valid = {f.id for f in findings}
    causes = []
    for rc in (model.root_causes if model else []):
        if rc.component not in components:
            continue
        evidence = [e for e in rc.evidence if e in valid] or \
            [f.id for f in sorted(findings, key=lambda f: -f.score) if f.component == rc.component][:4]
        causes.append(replace(rc, evidence=evidence))
    rules = rule_ranking(state)
    if not causes:
        return rules
    named = {c.component for c in causes}
    return causes + [c for c in rules if c.component not in named]


def report_for_answer(state: RunState, answer: str, model: Diagnosis | None, label: str) -> Diagnosis | None:
    """The run's diagnosis with its five-section report, the model's cited text as its summary;
    None when the run examined no data."""
    if not examined_data(state):
        return None
    findings = list(state.ctx.findings)
    causes, notes = reflect(checked_causes(model, state), findings)
    diagnosis = write_report(state, causes, notes)
    valid = {f.id for f in diagnosis.findings}
    summary, _ = roles.filter_citations(roles.trim_summary(answer), valid) if answer else ("", [])
    if summary and roles.cited(summary, valid) and diagnosis.report:
        diagnosis.report["summary"] = summary
        diagnosis.report["summary_model"] = label
        diagnosis.answer = render_markdown(diagnosis.report)
    if model and model.mitigation and not diagnosis.mitigation:
        diagnosis.mitigation = list(model.mitigation)
    return diagnosis
