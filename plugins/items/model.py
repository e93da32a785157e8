"""What every item shares: name, kind, description, parameters, the component its findings
are about, and how a filtered output becomes a `Finding`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from copilot.diagnosis import SIGNAL_SOURCES, Finding
from copilot.evidence import ItemEvidence
from copilot.workflows.params import Param, parse_params
from copilot.workflows.yamlspec import NAME, Spec, need, placeholders

KINDS = ("http", "metric", "rules")
COMMON_FIELDS = ("name", "kind", "description", "params", "component", "result", "finding", "examples")
MAX_RAW_CHARS = 20_000


@dataclass
class ItemBase:
    name: str
    kind: str
    description: str
    params: dict[str, Param]
    file: str
    component: str = ""  # template, e.g. ${cluster}
    result: str = ""  # what the output means, shown with it
    source: str = "alerts"  # the findings' signal source
    finding_kind: str = "check"
    score: float = 3.0
    examples: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "description": self.description, "file": self.file,
                "params": {k: p.to_dict() for k, p in self.params.items()}}


@dataclass
class ItemResult:
    item: str
    findings: list[Finding] = field(default_factory=list)
    output: list[Any] = field(default_factory=list)  # the filtered outputs
    raw: str = ""  # the raw response (capped)
    request: dict[str, Any] = field(default_factory=dict)  # what was asked (no secrets)
    drilldown: list[str] = field(default_factory=list)
    truncated: bool = False
    series: list[dict[str, Any]] = field(default_factory=list)  # [{labels, points: [[t, v], ...]}] for rules

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "findings": [f.to_dict() for f in self.findings], "output": self.output,
                "drilldown": self.drilldown, "truncated": self.truncated, "request": self.request}


def parse_common(spec: Spec) -> dict[str, Any]:
    """Fields every kind has, checked; returns constructor keywords for ItemBase."""
    data = spec.data
    name = need(spec, (), data, "name", str, "give the item a name such as cluster_status")
    if not NAME.match(name):
        raise spec.fail(("name",), "use letters, digits, _ and -, starting with a letter")
    kind = need(spec, (), data, "kind", str, f"one of: {', '.join(KINDS)}")
    if kind not in KINDS:
        raise spec.fail(("kind",), f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
    description = data.get("description") or ""
    if not isinstance(description, str) or not description.strip():
        raise spec.fail(("description",), "missing; say in one line what the item checks (it becomes the tool's description)")
    params = parse_params(spec, ("params",), data.get("params"))
    finding = data.get("finding") or {}
    if not isinstance(finding, dict):
        raise spec.fail(("finding",), "must be a mapping such as {source: alerts, kind: check, score: 3}")
    source = str(finding.get("source", "alerts" if kind == "http" else "metrics"))
    if source not in SIGNAL_SOURCES:
        raise spec.fail(("finding", "source"), f"use one of: {', '.join(SIGNAL_SOURCES)}")
    try:
        score = float(finding.get("score", 3.0))
    except (TypeError, ValueError):
        raise spec.fail(("finding", "score"), "must be a number (anomaly strength, about 3 for a clear problem)") from None
    component = data.get("component", "")
    if not isinstance(component, str):
        raise spec.fail(("component",), "must be a string template such as ${cluster}")
    examples = data.get("examples") or []
    if not isinstance(examples, list):
        raise spec.fail(("examples",), "must be a list of example questions")
    return dict(name=name, kind=kind, description=description.strip(), params=params, file=spec.file,
                component=component, result=str(data.get("result", "")), source=source,
                finding_kind=str(finding.get("kind", "check" if kind == "http" else "out_of_range")),
                score=score, examples=[str(e) for e in examples])


def check_placeholders(spec: Spec, path: tuple[Any, ...], value: Any, params: dict[str, Param], extra: tuple[str, ...] = ()) -> None:
    """Every `${name}` must be a declared parameter, the window's start/end, or `env:NAME`."""
    for is_env, name in placeholders(value):
        if not is_env and name not in params and name not in ("start", "end") + extra:
            known = ", ".join(list(params) + ["start", "end"])
            raise spec.fail(path, f"${{{name}}} is not a parameter; declare it under params or use one of: {known}")


def format_time(ts: float, fmt: str, tz: Any) -> str:
    if fmt == "unix":
        return str(int(ts))
    if fmt == "unix_ms":
        return str(int(ts * 1000))
    if fmt == "iso":
        return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")
    return datetime.fromtimestamp(ts, tz).strftime(fmt)


def _onset(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) / (1000.0 if value > 1e12 else 1.0)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def outputs_to_findings(item: ItemBase, outputs: list[Any], component: str, window: tuple[float, float]) -> list[Finding]:
    """Each filtered value is one finding: a string is its sentence; an object may carry
    summary/result/message, component, time/onset, kind, score. A single output that is a
    list is spread (the seed's `map(...)` filters return one array)."""
    values: list[Any] = []
    for out in outputs:
        values.extend(out if isinstance(out, list) else [out])
    findings: list[Finding] = []
    for value in values:
        if value is None or value is False or value == "":
            continue
        details = ItemEvidence(item=item.name)
        comp, onset, kind, score = component, None, item.finding_kind, item.score
        if isinstance(value, dict):
            text = value.get("summary") or value.get("result") or value.get("message") or value.get("name")
            text = str(text) if text else json.dumps(value, ensure_ascii=False, sort_keys=True)
            comp = str(value.get("component") or comp)
            onset = _onset(value.get("onset", value.get("time")))
            kind = str(value.get("kind") or kind)
            if isinstance(value.get("score"), (int, float)):
                score = float(value["score"])
            details.value = value
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if item.result:
            details.meaning = item.result
        details.description = text  # the sentence the Chinese report quotes
        findings.append(Finding(id="", source=item.source, component=comp or item.name, signal=item.name,
                                kind=kind, summary=text, score=score, onset=onset,
                                details=details))
    return findings
