"""Rule groups (the seed's 规则组): named threshold rules over registry metrics and items.

    name: tce_rules
    kind: rules
    description: TCE common diagnosis rules
    params: {cluster: {type: string, required: true}}
    rules:
      - name: cpu_high
        metric: es_pod_cpu            # a metric item, or an item whose outputs are numbers / [t, v] / {time, value}
        when: above                   # above | below | rate_above | rate_below | absent
        threshold: 85
        for: 5m                       # consecutive minutes (or points: 5)
        summary: CPU above 85% for 5 minutes   # optional; the finding's sentence

Every firing rule is a finding with the matching values and times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from copilot.diagnosis import Finding
from copilot.evidence import RuleEvidence
from copilot.phrases.findings import hhmm, num
from copilot.workflows.params import bind
from copilot.workflows.yamlspec import NAME, Spec, check_keys, need, parse_duration, render

from .model import COMMON_FIELDS, ItemBase, ItemResult

CONDITIONS = ("above", "below", "rate_above", "rate_below", "absent")
RULE_FIELDS = ("name", "metric", "item", "when", "threshold", "for", "points", "summary", "score")


@dataclass
class Rule:
    name: str
    target: str
    when: str
    threshold: float = 0.0
    for_s: float = 0.0
    points: int = 1
    summary: str = ""
    score: float = 4.0
    index: int = 0


@dataclass
class RuleGroup(ItemBase):
    rules: list[Rule] = field(default_factory=list)
    spec: Spec | None = None

    def check_references(self, catalog: Any) -> None:
        for rule in self.rules:
            target = catalog.items.get(rule.target)
            if target is None or target.kind == "rules":
                known = ", ".join(sorted(n for n, i in catalog.items.items() if i.kind != "rules")) or "none"
                assert self.spec is not None
                raise self.spec.fail(("rules", rule.index, "metric"),
                                     f"no metric or item named {rule.target!r}; known: {known}")


def parse_rules(spec: Spec, common: dict[str, Any]) -> RuleGroup:
    data = spec.data
    check_keys(spec, (), data, COMMON_FIELDS + ("rules",))
    raw = need(spec, (), data, "rules", list, "a list of rules: [{name, metric, when, threshold, for}]")
    if not raw:
        raise spec.fail(("rules",), "add at least one rule")
    rules: list[Rule] = []
    for i, body in enumerate(raw):
        where = ("rules", i)
        if not isinstance(body, dict):
            raise spec.fail(where, "each rule is a mapping {name, metric, when, threshold, for}")
        check_keys(spec, where, body, RULE_FIELDS)
        name = need(spec, where, body, "name", str, "name the rule, e.g. cpu_high")
        if not NAME.match(name):
            raise spec.fail(where + ("name",), "use letters, digits, _ and -")
        target = body.get("metric") or body.get("item")
        if not isinstance(target, str) or not target:
            raise spec.fail(where + ("metric",), "missing; name the metric (or item: NAME) the rule watches")
        when = need(spec, where, body, "when", str, f"one of: {', '.join(CONDITIONS)}")
        if when not in CONDITIONS:
            raise spec.fail(where + ("when",), f"use one of: {', '.join(CONDITIONS)}")
        threshold = body.get("threshold")
        if when != "absent" and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))):
            raise spec.fail(where + ("threshold",), f"a {when} rule needs a numeric threshold")
        for_s = parse_duration(body.get("for", 0))
        if for_s is None:
            raise spec.fail(where + ("for",), "must be a duration such as 5m")
        points = body.get("points", 1)
        if not isinstance(points, int) or isinstance(points, bool) or points < 1:
            raise spec.fail(where + ("points",), "must be a whole number of consecutive points, at least 1")
        rules.append(Rule(name, target, when, float(threshold or 0.0), for_s, points, str(body.get("summary", "")),
                          float(body.get("score", 4.0)), i))
    return RuleGroup(**common, rules=rules, spec=spec)


def _matches(rule: Rule, prev: list[float] | None, point: list[float]) -> bool:
    t, v = point
    if rule.when == "above":
        return v > rule.threshold
    if rule.when == "below":
        return v < rule.threshold
    if prev is None or t <= prev[0]:
        return False
    per_min = (v - prev[1]) / (t - prev[0]) * 60.0
    return per_min > rule.threshold if rule.when == "rate_above" else per_min < rule.threshold


def firing_runs(rule: Rule, points: list[list[float]]) -> list[list[list[float]]]:
    """Runs of consecutive matching points long enough (points and minutes) to fire."""
    runs: list[list[list[float]]] = []
    current: list[list[float]] = []
    prev = None
    for point in sorted(points):
        if _matches(rule, prev, point):
            current.append(point)
        else:
            if current:
                runs.append(current)
            current = []
        prev = point
    if current:
        runs.append(current)
    step = min((b[0] - a[0] for a, b in zip(points, points[1:]) if b[0] > a[0]), default=0.0)
    return [r for r in runs if len(r) >= rule.points and (r[-1][0] - r[0][0] + step) >= rule.for_s]


def series_from_outputs(outputs: list[Any]) -> list[dict[str, Any]]:
    """Numbers, [t, v] pairs or {time, value} objects from an item's filtered outputs."""
    values: list[Any] = []
    for out in outputs:
        values.extend(out if isinstance(out, list) and not (len(out) == 2 and all(isinstance(x, (int, float)) for x in out)) else [out])
    points: list[list[float]] = []
    for i, v in enumerate(values):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            points.append([float(i), float(v)])
        elif isinstance(v, list) and len(v) == 2:
            points.append([float(v[0]), float(v[1])])
        elif isinstance(v, dict) and "value" in v:
            points.append([float(v.get("time", i)), float(v["value"])])
    return [{"labels": {}, "points": points}] if points else []


async def run_rules(group: RuleGroup, values: dict[str, Any], window: tuple[float, float], *, settings: Any,
                    catalog: Any) -> ItemResult:
    from .catalog import run_item

    full = dict(values, start=f"{window[0]:.0f}", end=f"{window[1]:.0f}")
    result = ItemResult(group.name, request={"rules": [r.name for r in group.rules]})
    fetched: dict[str, ItemResult] = {}
    for rule in group.rules:
        target = catalog.get(rule.target)
        if rule.target not in fetched:
            given = {k: v for k, v in values.items() if k in target.params}
            fetched[rule.target] = await run_item(target, bind(target.params, given, f"rule {rule.name}"), window,
                                                  settings=settings, catalog=catalog)
        got = fetched[rule.target]
        series = got.series or series_from_outputs(got.output)
        base_component = render(group.component, full) if group.component else ""
        drill_tag = getattr(target, "drilldown", "")
        if rule.when == "absent":
            if not any(s["points"] for s in series):
                text = rule.summary or f"{rule.target}: no data between {hhmm(window[0])} and {hhmm(window[1])}"
                result.findings.append(Finding("", "metrics", base_component or rule.target, rule.target, "absent", text,
                                               rule.score, window[0], RuleEvidence(rule=rule.name, group=group.name)))
            continue
        for s in series:
            component = s["labels"].get(drill_tag) if drill_tag else None
            for run in firing_runs(rule, s["points"]):
                vals = [p[1] for p in run]
                word = {"above": "above", "below": "below", "rate_above": "rising faster than",
                        "rate_below": "falling faster than"}[rule.when]
                unit = "/min" if rule.when.startswith("rate") else ""
                text = (f"{rule.target}{' (' + str(component) + ')' if component else ''} {word} {num(rule.threshold)}{unit} "
                        f"for {len(run)} consecutive points, {hhmm(run[0][0])}–{hhmm(run[-1][0])}: "
                        + ", ".join(num(v) for v in vals[:8]) + (" …" if len(vals) > 8 else ""))
                if rule.summary:
                    text = f"{rule.summary} — {text}"
                result.findings.append(Finding(
                    "", "metrics", str(component or base_component or rule.target), rule.target, rule.when, text,
                    rule.score, run[0][0],
                    RuleEvidence(rule=rule.name, group=group.name, threshold=rule.threshold, labels=s["labels"],
                                 times=[p[0] for p in run][:100], values=vals[:100],
                                 direction="down" if "below" in rule.when else "up"),
                ))
                if component and str(component) not in result.drilldown:
                    result.drilldown.append(str(component))
    result.output = [f.summary for f in result.findings]
    return result
