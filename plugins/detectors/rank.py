"""Root-cause ranking: a pure function over findings and the call graph.

1. Each finding becomes evidence of a category on a component: intrinsic signals a
   component produces itself (cpu, memory, disk, gc, packet loss, network rtt, latency or
   errors that originate in it, calls into it that go missing, exception logs, a recent
   change) or symptoms that travel along calls (latency, error rate, error logs that
   blame a callee). Strength is log(1 + sigma / 3), so one huge number cannot drown the rest.
2. Call-graph direction: latency and errors travel up to callers, load travels down to
   callees. A component's symptoms are explained away when one of its callees is
   anomalous no later than it; a component whose callees are healthy but which is itself
   anomalous is a likely origin. A request-rate surge that starts at a component whose
   callers show none is a traffic surge and explains the anomalies below it.
3. Onset order: components anomalous from the earliest onset get a bonus, late ones a penalty.
4. Alert-guided traversal: when alerts name a symptom (a component and a metric) and the
   call graph is known, the root cause must explain it: candidates are the alerted
   components and what they call, transitively; those that show the alert's symptom
   family (latency, errors) are preferred, and more so the more of their callers show it
   too (a fault propagates to every caller). Components outside that scope keep a fraction
   of their score. A load rise does not count as a surge when the alert is not about load.
5. The fault kind comes from the top component's own signature (see `classify`).
Only generic methods: no service names or fault times appear here.

Constants (what each means; `bench/rank_sensitivity.py` varies each by ±50% and
BENCHMARKS.md records what that does to AC@1 on every dataset):

| constant | meaning |
|---|---|
| INTRINSIC_WEIGHT, SYMPTOM_WEIGHT | how much a category of evidence counts: a component's own signals (about 1) over symptoms that travel along calls (under 1) |
| EXPLAINED | share of a symptom left when an anomalous callee explains it |
| BLAME_SHARE | a callee explains a caller's symptom only with at least this share of its strength |
| LOAD_EXPLAINED, LOAD_CPU_SLACK | CPU that rose no faster than LOAD_CPU_SLACK x the request rate is load; it keeps LOAD_EXPLAINED of its weight |
| SURGE_RATIO | a request rate at this multiple of its baseline is a rise (below it, normal variation) |
| SURGE_EXPLAINED | share of load-driven evidence (LOAD_FOLLOWS) left below a traffic surge |
| MIN_SIGMA | sigmas from which evidence counts as an anomaly (onsets, fault kind, surges) |
| MIN_SHARE | a signal decides the fault kind only with this share of the component's strongest evidence |
| ONSET_TOLERANCE_S, EARLY_BONUS, LATE_AFTER_S, LATE_PENALTY | onset order: within the tolerance counts as the same time; earliest components gain, those LATE_AFTER_S later lose |
| CHANGE_WEIGHT | how much a recent change adds to an anomalous component |
| COMBINE_DECAY | each further piece of a component's evidence counts this much of the one before |
| SPIKE_WEIGHT | a one-point metric spike counts this much of its sigma |
| COMMON_MODE_WEIGHT | a resource shift shared by most components counts this much |
| MEMORY_GROWTH, MEMORY_GROWTH_BYTES, MEMORY_LIMIT_PCT, MEMORY_LIMIT_RISE | what memory growth is a leak: 1.5x, or 64 MiB, or a rise to 90% of the limit |
| CPU_PINNED_PCT, CPU_PINNED_RISE, PINNED_SIGMA, PINNED_EQUIVALENT | a CPU driven to 80% of its limit counts as saturated whatever its noisy baseline says |
| CPU_STARVES_NETWORK | CPU at this multiple explains slower calls into the component |
| OUT_OF_SCOPE, SCOPE_SIGMA, SYMPTOM_MATCH, CALLER_SUPPORT, MOVES_WITH_ALERT, MIN_MOVES_WEIGHT | alert-guided traversal (only with an alert and a call graph): what the alert cannot reach keeps OUT_OF_SCOPE; showing the alerted symptom multiplies by SYMPTOM_MATCH, more per caller it alone explains; a symptom that does not move with the alerted series is discounted |
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from copilot.diagnosis import Finding, RootCause
from copilot.evidence import DatabaseEvidence, ItemEvidence, LogEvidence, MetricEvidence, RuleEvidence
from copilot.reasons import Reason, cited, reason

from .signals import BAD_DIRECTION, family, is_utilisation

INTRINSIC_WEIGHT = {
    "cpu": 1.0, "memory": 1.0, "disk": 1.2, "gc": 1.2, "packet_loss": 1.1, "net_latency": 1.0,
    "self_latency": 1.2, "error_origin": 1.2, "lost": 1.2, "exception": 1.2, "surge": 1.5,
    "path_change": 1.2, "declared": 1.5,
}
SYMPTOM_WEIGHT = {"latency": 0.8, "errors": 0.8, "log_error": 0.4, "load_drop": 0.3, "other": 0.15}
EXPLAINED = 0.2  # what is left of a symptom a callee explains
LOAD_EXPLAINED = 0.3  # what is left of cpu that a load rise explains
SURGE_EXPLAINED = 0.3  # what is left of load-driven evidence (LOAD_FOLLOWS) below a traffic surge
NOT_FROM_LOAD = ("path_change", "error_origin", "exception", "lost", "disk", "packet_loss")  # what more traffic does not cause
LOAD_FOLLOWS = ("cpu", "latency", "self_latency", "net_latency", "other", "load_drop")  # what more traffic causes
MIN_SIGMA = 4.0  # a family counts for the fault kind from this many sigmas...
MIN_SHARE = 0.25  # ...and at least this share of the component's strongest evidence
SURGE_RATIO = 1.3  # request rate at least 1.3x its baseline
ONSET_TOLERANCE_S = 120.0
EARLY_BONUS = 1.15  # a component anomalous from the earliest onset (within half the tolerance)...
LATE_PENALTY = 0.85  # ...and one anomalous only LATE_AFTER_S later
LATE_AFTER_S = 300.0
CHANGE_WEIGHT = 0.4  # a recent change adds this much of its strength to an anomalous component
COMBINE_DECAY = 0.5  # each further piece of evidence counts this much of the one before
SPIKE_WEIGHT = 0.5
COMMON_MODE_WEIGHT = 0.2
LOAD_CPU_SLACK = 1.5  # CPU may rise up to 1.5x as fast as the load and still be load
MEMORY_GROWTH = 1.5  # memory at 1.5x its baseline is a memory fault signature
MEMORY_GROWTH_BYTES = 64 * 2**20
# what can explain a caller's symptom of each category (others: anything anomalous)
EXPLAINED_BY = {
    "errors": ("errors", "error_origin", "exception", "lost", "path_change", "log_error", "packet_loss", "memory", "disk"),
    "log_error": ("errors", "error_origin", "exception", "lost", "path_change", "log_error", "packet_loss", "memory", "disk"),
}
CPU_STARVES_NETWORK = 1.5  # CPU at 1.5x its baseline or more explains slower calls into the component
BLAME_SHARE = 0.5  # a callee whose strongest anomaly is this weak next to the caller's symptom explains nothing
MOVES_WITH_ALERT = 0.8  # a symptom correlating with the alerted series at least this well moves with it
MIN_MOVES_WEIGHT = 0.2  # a symptom that does not move with the alert at all still keeps this much
OUT_OF_SCOPE = 0.25  # what is left of a component's score when the alerted component does not reach it
SCOPE_SIGMA = 3.0  # showing the alerted symptom, for reachability: what a detector reports at all
SYMPTOM_MATCH = 2.0  # in scope and showing the alerted symptom
CALLER_SUPPORT = 1.0  # each caller only it can explain (shared among those that could) doubles the weight once
# The evidence categories that show an alerted symptom family.
SYMPTOM_CATEGORIES = {
    "latency": ("latency", "self_latency", "net_latency"),
    "net_latency": ("latency", "self_latency", "net_latency"),
    "error_rate": ("errors", "error_origin", "exception", "log_error", "lost"),
    "success_rate": ("errors", "error_origin", "exception", "log_error", "lost"),
}

_EXCEPTION = re.compile(r"exception|traceback|panic|segfault|stack ?trace|\bat [\w.$]+\(|nullpointer|fatal", re.I)
_ERROR = re.compile(r"error|fail|refused|reset by peer|timed? ?out|unavailable|\b5\d\d\b|denied|broken pipe", re.I)
_HINTS = (
    ("disk", re.compile(r"no space left|enospc|disk (usage|full|quota)|filesystem (is )?full|read-only file ?system", re.I)),
    ("memory", re.compile(r"out ?of ?memory|\boom\b|oomkill|memory (usage|limit)|heap space", re.I)),
    ("gc", re.compile(r"\bgc\b|garbage collect|stop-the-world|safepoint", re.I)),
)


def strength(sigma: float) -> float:
    return math.log1p(max(sigma, 0.0) / 3.0)


@dataclass
class Evidence:
    category: str
    finding: Finding

    @property
    def score(self) -> float:
        """The finding's sigma; a one-point metric spike counts half (noise makes those), and a
        resource shift shared by most components (`common_mode`) counts little: a shared cause."""
        sigma = float(self.finding.score or 0.0)
        d = self.finding.details
        if self.finding.source == "metrics" and isinstance(d, MetricEvidence) and d.common_mode:
            sigma *= COMMON_MODE_WEIGHT
        return sigma * SPIKE_WEIGHT if self.finding.source == "metrics" and self.finding.kind == "spike" else sigma


@dataclass
class Candidate:
    component: str
    evidence: dict[str, list[Evidence]] = field(default_factory=lambda: defaultdict(list))
    score: float = 0.0
    onset: float | None = None
    notes: list[Reason] = field(default_factory=list)

    def best(self, category: str) -> Evidence | None:
        items = self.evidence.get(category) or []
        return max(items, key=lambda e: e.score) if items else None

    def sigma(self, category: str) -> float:
        e = self.best(category)
        return e.score if e else 0.0


def _log_category(f: Finding) -> str:
    template = f.details.template if isinstance(f.details, LogEvidence) else None
    text = " ".join(str(x) for x in (template or "", f.signal, f.summary))
    for cat, pattern in _HINTS:
        if pattern.search(text):
            return cat
    if _EXCEPTION.search(text):
        return "exception"
    if _ERROR.search(text) or f.kind == "error_surge":
        return "log_error"
    return "other"


def categorise(f: Finding) -> str | None:
    """The evidence category of a finding (None: not evidence about a component)."""
    declared = declared_category(f)
    if declared is not False:
        return declared
    if f.source == "metrics":
        d = f.details
        fam = (d.family if isinstance(d, MetricEvidence) else None) or family(f.signal)
        direction = d.direction if isinstance(d, (MetricEvidence, ItemEvidence, RuleEvidence)) else None
        up = (direction or "up") == "up"
        if fam == "request_rate":
            ratio = _ratio(f)
            if up and (ratio is None or ratio >= SURGE_RATIO):
                return "load"
            return None if up else "load_drop"
        bad = BAD_DIRECTION.get(fam, 0)
        if bad and (1 if up else -1) != bad:
            return None  # e.g. latency fell: not a problem
        if fam in ("cpu", "memory", "disk", "gc", "packet_loss", "net_latency"):
            return fam
        if fam == "latency":
            return "latency"
        if fam in ("error_rate", "success_rate"):
            return "errors"
        return "other"
    if f.source == "traces":
        return {"latency_origin": "self_latency", "network_latency": "net_latency", "call_path_change": "path_change", "error_origin": "error_origin", "lost_spans": "lost",
                "orphan_spans": "other", "latency": "latency", "errors": "errors"}.get(f.kind, "other")
    if f.source == "logs":
        return _log_category(f)
    if f.source == "changes":
        return "change"
    if f.source == "alerts":
        return "alert"
    return None


def _levels(f: Finding) -> tuple[float | None, float | None]:
    """(baseline, level after the onset) of a metric (or database) finding; (None, None) for others."""
    d = f.details
    return (d.baseline, d.after) if isinstance(d, (MetricEvidence, DatabaseEvidence)) else (None, None)


def _ratio(f: Finding) -> float | None:
    base, after = _levels(f)
    if isinstance(base, (int, float)) and isinstance(after, (int, float)) and base > 0:
        return after / base
    return None


def _dedupe(findings: list[Finding]) -> list[Finding]:
    best: dict[tuple, Finding] = {}
    for f in findings:
        key = (f.source, f.component, f.signal, f.kind)
        if key not in best or f.score > best[key].score:
            best[key] = f
    return list(best.values())


def _graph(edges: list[tuple[str, str]]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    callees: dict[str, set[str]] = defaultdict(set)
    callers: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        if a != b:
            callees[a].add(b)
            callers[b].add(a)
    return callees, callers


def _descendants(start: str, callees: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for d in callees.get(stack.pop(), ()):
            if d not in seen:
                seen.add(d)
                stack.append(d)
    return seen


INTRINSIC = tuple(INTRINSIC_WEIGHT)
SYMPTOMS = tuple(SYMPTOM_WEIGHT)


def _not_later(onset: float | None, ref: float | None) -> bool:
    """Whether a callee's onset is not clearly after ref (either one unknown: it may be)."""
    return ref is None or onset is None or onset <= ref + ONSET_TOLERANCE_S


def _combine(values: list[float]) -> float:
    """Strongest first, each next one counting half as much as the previous."""
    return sum(v * COMBINE_DECAY**i for i, v in enumerate(sorted(values, reverse=True)))


def _candidates(findings: list[Finding]) -> dict[str, Candidate]:
    """Each finding that is evidence about a component, filed under its category."""
    cands: dict[str, Candidate] = {}
    explained = explained_signals(findings)
    for f in _dedupe(findings):
        if (f.component, f.signal) in explained:
            continue  # a confounder (maintenance that recovered) explains it: a symptom, not a cause
        cat = categorise(f)
        if cat is None or not f.component:
            continue
        cands.setdefault(f.component, Candidate(f.component)).evidence[cat].append(Evidence(cat, f))
    return cands


def _onset_of(c: Candidate, cats: tuple[str, ...]) -> float | None:
    times = [e.finding.onset for cat in cats for e in c.evidence.get(cat, ()) if e.finding.onset is not None and e.score >= MIN_SIGMA]
    return min(times) if times else None


def _anomalous(cands: dict[str, Candidate]) -> dict[str, float | None]:
    """The components with any evidence of MIN_SIGMA or more, with their earliest such onset."""
    return {
        name: _onset_of(c, INTRINSIC + SYMPTOMS + ("load",))
        for name, c in cands.items()
        if any(e.score >= MIN_SIGMA for cat in INTRINSIC + SYMPTOMS + ("load",) for e in c.evidence.get(cat, ()))
    }


def _load_falls_below(name: str, cands: dict[str, Candidate], callees: dict[str, set[str]]) -> bool:
    """A request rate falls below it, or something below it shows what more traffic
    does not cause (requests cut short, errors it raises, lost calls): a surge is the
    diagnosis when traffic explains what is seen, not beside a fault it cannot explain."""
    return any(d in cands and (cands[d].sigma("load_drop") >= MIN_SIGMA
                               or any(cands[d].sigma(cat) >= MIN_SIGMA for cat in NOT_FROM_LOAD))
               for d in _descendants(name, callees))


def _surges(cands: dict[str, Candidate], has_graph: bool, callees: dict[str, set[str]],
            callers: dict[str, set[str]]) -> set[str]:
    """Traffic surges: load up here but not in any caller. With a call graph, only where
    traffic enters (nothing calls it): below the entry a request rate that moves is
    carried there by the calls, a symptom of load or of a fault elsewhere, not a cause.
    An entry is a component the graph shows calling others and nothing calling it; one the
    graph does not mention is not known to be an entry. A rise there is more traffic only
    when it reaches what it calls as more traffic too: where a request rate falls below
    it, the mix of requests changed (requests that end early return sooner and come back
    sooner from a closed-loop client), the signature of a fault below, not of more users.
    A surge's component gets "surge" evidence, kept only when it does not have its own fault."""
    entries = {name for name in cands if callees.get(name) and not callers.get(name)} if has_graph else set(cands)
    surges = {
        name for name, c in cands.items()
        if name in entries and c.sigma("load") >= MIN_SIGMA
        and not any(cands.get(p) and cands[p].sigma("load") >= MIN_SIGMA for p in callers.get(name, ()))
        and not _load_falls_below(name, cands, callees)
    }
    for name in list(surges):
        cands[name].evidence["surge"] = list(cands[name].evidence["load"])
        if classify(cands[name], True)[0] != "traffic_surge":  # its own fault, not more traffic
            del cands[name].evidence["surge"]
            surges.discard(name)
    return surges


def _intrinsic_parts(c: Candidate) -> list[tuple[str, float]]:
    """The weighted strength of each of the component's own signals."""
    parts: list[tuple[str, float]] = []
    for cat in INTRINSIC:
        e = c.best(cat)
        if e is None:
            continue
        w = INTRINSIC_WEIGHT[cat]
        sigma = e.score
        if cat == "cpu" and load_explains_cpu(c):
            w *= LOAD_EXPLAINED
            c.notes.append(reason("load_explains_cpu"))
        elif cat == "cpu" and cpu_pinned(c):
            sigma = max(sigma, PINNED_EQUIVALENT)  # at its limit: strong whatever its noisy baseline says
        parts.append((cat, w * strength(sigma)))
    return parts


def _peak(c: Candidate, cats: tuple[str, ...]) -> float:
    return max((c.sigma(cat) for cat in cats), default=0.0)


def _symptom_parts(c: Candidate, near: list[str], cands: dict[str, Candidate]) -> tuple[list[tuple[str, float]], set[str]]:
    """The weighted strength of each symptom, and the callees that explain some. A callee
    explains a caller's symptom only when it shows something that causes that symptom
    (errors are explained by errors, lost calls or resource exhaustion; latency by
    anything) with comparable strength."""
    parts: list[tuple[str, float]] = []
    blamed: set[str] = set()
    for cat in SYMPTOMS:
        e = c.best(cat)
        if e is None:
            continue
        causes = EXPLAINED_BY.get(cat, INTRINSIC + SYMPTOMS)
        by = [d for d in near if strength(_peak(cands[d], causes)) >= BLAME_SHARE * strength(e.score)]
        blamed.update(by)
        w = SYMPTOM_WEIGHT[cat] * (EXPLAINED if by else 1.0)
        parts.append((cat, w * strength(e.score)))
    return parts, blamed


@dataclass
class _Scoring:
    """What scoring a component needs besides its own evidence."""
    cands: dict[str, Candidate]
    callees: dict[str, set[str]]
    anomalous: dict[str, float | None]
    scope: set[str]
    surges: set[str]
    below_surge: dict[str, str]


def _score(name: str, c: Candidate, g: _Scoring) -> None:
    """The component's score from its own signals and the symptoms its callees do not explain."""
    parts = _intrinsic_parts(c)
    my_onset = g.anomalous.get(name)
    near = [d for d in g.callees.get(name, ())
            if d in g.anomalous and (not g.scope or d in g.scope) and _not_later(g.anomalous[d], my_onset)]
    symptom_parts, blamed = _symptom_parts(c, near, g.cands)
    parts += symptom_parts
    if blamed:
        c.notes.append(reason("callees_inherited", names=sorted(blamed)))
    elif g.callees.get(name) and name in g.anomalous:
        c.notes.append(reason("callees_healthy", names=sorted(g.callees[name])))
    # below a surge, only what more traffic causes is explained by it (its load, and the
    # latency and CPU that follow load), and not where its request rate fell
    carried = name in g.below_surge and name not in g.surges and c.sigma("load_drop") < MIN_SIGMA
    if carried:
        values = [v * (SURGE_EXPLAINED if cat in LOAD_FOLLOWS else 1.0) for cat, v in parts]
        c.notes.append(reason("below_surge", at=g.below_surge[name]))
    else:
        values = [v for _, v in parts]
    score = _combine(values)
    change = c.best("change")
    if change is not None and score > 0:
        score += CHANGE_WEIGHT * strength(change.score)
    c.score, c.onset = score, my_onset


def _apply_alert_scope(findings: list[Finding], cands: dict[str, Candidate], callees: dict[str, set[str]],
                       callers: dict[str, set[str]], scope: set[str], symptom_cats: tuple[str, ...]) -> None:
    """Alert-guided traversal: what the alert cannot reach keeps OUT_OF_SCOPE of its score;
    what shows the alerted symptom gains, more for the share of the symptom it holds."""
    alerted = {f.component for f in findings if f.source == "alerts" and f.component}

    def shows(n: str) -> bool:  # an alerted component shows the symptom: the alert says so
        return n in alerted or (n in cands and any(cands[n].sigma(cat) >= SCOPE_SIGMA for cat in symptom_cats))

    # the symptom traced down the call graph: what stops at a component is its share to explain
    def own(n: str) -> bool:  # its own signals show the symptom (its network RTT, errors it raises)
        return n in cands and any(cands[n].sigma(cat) >= SCOPE_SIGMA for cat in symptom_cats if cat in INTRINSIC_WEIGHT)

    held = _symptom_flow(shows, own, callees, callers, set(cands) | alerted)
    for name, c in cands.items():
        if name not in scope:
            c.score *= OUT_OF_SCOPE
            c.notes.append(reason("not_calling_alerted"))
        elif shows(name):
            share = held.get(name, 0.0)
            c.score *= SYMPTOM_MATCH * (1 + CALLER_SUPPORT * share)
            moves = _moves_with_alert(c, symptom_cats)
            if moves is not None and moves < MOVES_WITH_ALERT:
                c.score *= max(moves, MIN_MOVES_WEIGHT) / MOVES_WITH_ALERT
                c.notes.append(reason("symptom_uncorrelated", r=round(moves, 2)))
            c.notes.append(reason("alerted_symptom_stops_here" if share else "alerted_symptom"))


def _apply_onset_order(cands: dict[str, Candidate], anomalous: dict[str, float | None]) -> None:
    """Components anomalous from the earliest onset gain EARLY_BONUS, late ones LATE_PENALTY."""
    onsets = [t for t in anomalous.values() if t is not None]
    if not onsets:
        return
    earliest = min(onsets)
    for c in cands.values():
        if c.onset is None:
            continue
        if c.onset <= earliest + ONSET_TOLERANCE_S / 2:
            c.score *= EARLY_BONUS
        elif c.onset > earliest + LATE_AFTER_S:
            c.score *= LATE_PENALTY


def rank_root_causes(findings: list[Finding], call_graph: list[tuple[str, str]], top_k: int = 5) -> list[RootCause]:
    """Rank components as root causes with a fault kind each. Pure: same input, same output."""
    cands = _candidates(findings)
    if not cands:
        return []
    callees, callers = _graph(call_graph)
    scope, symptom_cats, load_alert = _alert_scope(findings, callees, cands)
    anomalous = _anomalous(cands)
    surges = set() if scope and not load_alert else _surges(cands, bool(call_graph), callees, callers)
    below_surge = {d: s for s in surges for d in _descendants(s, callees)}
    g = _Scoring(cands, callees, anomalous, scope, surges, below_surge)
    for name, c in cands.items():
        _score(name, c, g)
    if scope:
        _apply_alert_scope(findings, cands, callees, callers, scope, symptom_cats)
    _apply_onset_order(cands, anomalous)
    ranked = sorted((c for c in cands.values() if c.score > 0), key=lambda c: (-c.score, c.component))[: max(top_k, 1)]
    total = sum(c.score for c in ranked) or 1.0
    out = []
    for c in ranked:
        kind, why = classify(c, c.component in surges)
        out.append(RootCause(c.component, kind, round(c.score / total, 3), _evidence_ids(c, kind), _reasons(c, why, kind)))
    return out


def _moves_with_alert(c: Candidate, cats: tuple[str, ...]) -> float | None:
    """How closely the component's symptom moved with the alerted series: the best
    `moves_with_alert` among its findings in those categories (None when none carries it)."""
    known = [d.moves_with_alert for cat in cats for e in c.evidence.get(cat, ())
             if isinstance(d := e.finding.details, MetricEvidence) and d.moves_with_alert is not None]
    return max(known) if known else None


def _alert_scope(findings: list[Finding], callees: dict[str, set[str]],
                 cands: dict[str, "Candidate"]) -> tuple[set[str], tuple[str, ...], bool]:
    """(the components the alert can reach; the evidence categories of the alerted symptom;
    whether an alert is about load). Reachable: the alerted components and their callees,
    transitively, through callees that show the alerted symptom themselves, since a fault
    reaches the alerted component only through the components it disturbs on the way.
    Empty without alerts or call graph."""
    alerts = [f for f in findings if f.source == "alerts" and f.component]
    if not alerts or not callees:
        return set(), (), False
    cats: list[str] = []
    load = False
    for a in alerts:
        fam = family(a.signal)
        load |= fam == "request_rate"
        cats += [c for c in SYMPTOM_CATEGORIES.get(fam, ()) if c not in cats]
    symptom = tuple(cats) or tuple(dict.fromkeys(SYMPTOM_CATEGORIES["latency"] + SYMPTOM_CATEGORIES["error_rate"]))

    def shows(n: str) -> bool:
        c = cands.get(n)
        return c is not None and any(c.sigma(cat) >= SCOPE_SIGMA for cat in symptom + INTRINSIC)

    scope: set[str] = set()
    stack = [a.component for a in alerts]
    while stack:
        node = stack.pop()
        if node in scope:
            continue
        scope.add(node)
        stack.extend(d for d in callees.get(node, ()) if shows(d))
    if len(scope) < 2:
        return set(), (), False
    return scope, symptom, load


OWN_KINDS = {
    "disk": "disk_full", "memory": "memory_leak", "gc": "jvm_gc", "cpu": "cpu_saturation",
    "exception": "code_exception", "packet_loss": "network_loss", "net_latency": "network_delay",
    "path_change": "code_exception",
}


def load_explains_cpu(c: Candidate) -> bool:
    """CPU that rose no faster than the request rate is load, not saturation."""
    load, cpu = c.best("load"), c.best("cpu")
    if load is None or load.score < MIN_SIGMA:
        return False
    lr, cr = _ratio(load.finding), _ratio(cpu.finding) if cpu else None
    if lr is None or cr is None:
        return True
    return cr <= LOAD_CPU_SLACK * max(lr, 1.0)


CPU_PINNED_PCT = 80.0  # a CPU percentage of its limit at or above which it is saturated...
CPU_PINNED_RISE = 1.3  # ...when it rose by 30% or more to get there...
PINNED_EQUIVALENT = 30.0  # the sigma a pinned CPU counts as at least
PINNED_SIGMA = 2.0  # ...and stands out this much (less than MIN_SIGMA: the level itself is the evidence)


def cpu_pinned(c: Candidate) -> bool:
    """A CPU series in percent of its limit that now sits at or above CPU_PINNED_PCT, up from below it."""
    for e in c.evidence.get("cpu", ()):
        base, after = _levels(e.finding)
        if is_utilisation(e.finding.signal) and isinstance(base, (int, float)) and isinstance(after, (int, float)) \
                and after >= CPU_PINNED_PCT > base and after >= CPU_PINNED_RISE * base and float(e.finding.score or 0) >= PINNED_SIGMA:
            return True
    return False


def memory_trend(c: Candidate) -> bool:
    return any(e.finding.kind == "trend" and e.score >= MIN_SIGMA for e in c.evidence.get("memory", ()))


MEMORY_LIMIT_PCT = 90.0  # a memory percentage of its limit at or above which it is under pressure...
MEMORY_LIMIT_RISE = 1.3  # ...when it rose by 30% or more to get there (as CPU_PINNED_RISE)


def memory_at_limit(c: Candidate) -> bool:
    """A memory series in percent of its limit that rose to MEMORY_LIMIT_PCT or more from below."""
    for e in c.evidence.get("memory", ()):
        base, after = _levels(e.finding)
        percent = _bytes_grown(e.finding) is None  # not counted in bytes
        if percent and isinstance(base, (int, float)) and isinstance(after, (int, float)) \
                and base < MEMORY_LIMIT_PCT <= after <= 100.0 and after >= MEMORY_LIMIT_RISE * base and e.score >= MIN_SIGMA:
            return True
    return False


def memory_unambiguous(c: Candidate) -> bool:
    """Memory that keeps climbing, or grew by half or more; when counted in bytes, by at
    least MEMORY_GROWTH_BYTES (a busy process adds a few MB, memory pressure far more). The
    unit comes from the value's size or the metric's name (`_bytes`, `(Mi)`, `_mb`, ...);
    when any memory series of the component is in bytes, its absolute growth decides."""
    mem = c.best("memory")
    if mem is None:
        return False
    if memory_trend(c) or memory_at_limit(c):
        return True
    grown = [g for g in (_bytes_grown(e.finding) for e in c.evidence.get("memory", ())) if g is not None]
    if grown:
        return max(grown) >= MEMORY_GROWTH_BYTES
    ratio = _ratio(mem.finding)
    return ratio is not None and ratio >= MEMORY_GROWTH


_BYTE_UNITS = (
    (re.compile(r"(^|[^a-z])(gi|gib|gb)([^a-z]|$)", re.I), 2**30),
    (re.compile(r"(^|[^a-z])(mi|mib|mb)([^a-z]|$)", re.I), 2**20),
    (re.compile(r"(^|[^a-z])(ki|kib|kb)([^a-z]|$)", re.I), 2**10),
    (re.compile(r"bytes?([^a-z]|$)", re.I), 1),
)


def _bytes_grown(f: Finding) -> float | None:
    """How many bytes a memory series grew by, when its unit is bytes (None otherwise)."""
    base, after = _levels(f)
    if not isinstance(base, (int, float)) or not isinstance(after, (int, float)):
        return None
    name = f.signal
    if "%" in name or "percent" in name.lower() or "rate" in name.lower() or "util" in name.lower():
        return None
    factor = next((k for pattern, k in _BYTE_UNITS if pattern.search(name)), 1 if base >= 1e6 else None)
    return None if factor is None else (after - base) * factor


def _declared_kind(c: Candidate, top: float) -> tuple[str, dict[str, str]] | None:
    """The fault kind a strong enough finding names itself, with its own text (None: none does)."""
    declared = c.best("declared")
    if declared is not None and declared.score >= MIN_SIGMA and strength(declared.score) >= MIN_SHARE * top:
        d = declared.finding.details
        return str(d.fault_kind), {"text": str(d.why or declared.finding.summary), "text_zh": str(d.why_zh or "")}
    return None


def _own_signals(c: Candidate, top: float) -> dict[str, float]:
    """The component's own signals strong enough to decide its fault kind, by category (in
    the order of OWN_KINDS): not CPU that load explains, not memory that merely stepped up,
    not network RTT beside a CPU that starves the component's sockets."""
    own: dict[str, float] = {}
    for cat in OWN_KINDS:
        sigma = c.sigma(cat)
        if sigma < MIN_SIGMA or strength(sigma) < MIN_SHARE * top:
            continue
        if cat == "cpu" and load_explains_cpu(c):
            continue
        if cat == "memory" and not memory_unambiguous(c):
            continue  # a step of a few percent is not a leak
        own[cat] = sigma
    cpu = c.best("cpu")
    if "cpu" in own and "net_latency" in own and cpu is not None and (_ratio(cpu.finding) or 0.0) >= CPU_STARVES_NETWORK:
        del own["net_latency"]  # a starved CPU is slow to serve its sockets; a slow network does not raise CPU
    return own


def _deciding_signal(c: Candidate, own: dict[str, float]) -> str | None:
    """Which own signal decides the fault kind. A full disk and clear memory growth are
    unambiguous, unless the CPU is pinned at its limit and memory merely stepped up with it
    (a CPU hog allocates too). A CPU driven to its limit is saturation (starved requests may
    also end early). Requests that stop part-way mean code, whatever else moved. Otherwise
    the strongest own signal decides."""
    pinned = cpu_pinned(c) and not load_explains_cpu(c)
    memory_decides = "memory" in own and memory_unambiguous(c) and not (pinned and not memory_trend(c))
    best = "disk" if "disk" in own else "memory" if memory_decides else None
    if best is None:
        best = "cpu" if pinned else "path_change" if "path_change" in own else None
    if best is None and own:
        best = max(own, key=lambda k: own[k])  # ties: the order of OWN_KINDS
    return best


def _kind_from_symptoms(c: Candidate, recent_change: bool) -> tuple[str, str]:
    """The fault kind of a component with no deciding own signal: errors after a change mean
    a code exception, errors or missing calls mean packet loss, latency means network delay."""
    errors = max(c.sigma("error_origin"), c.sigma("errors"))
    if recent_change and errors >= MIN_SIGMA:
        return "code_exception", "errors_after_change"
    if c.sigma("lost") >= MIN_SIGMA:
        return "network_loss", "network_loss"
    own_errors = max([c.sigma("error_origin")] + [e.score for e in c.evidence.get("errors", ()) if e.finding.source == "metrics"])
    if own_errors >= MIN_SIGMA:
        return "code_exception", "fails_itself"
    if errors >= MIN_SIGMA:
        return "network_loss", "network_loss"
    if max(c.sigma("self_latency"), c.sigma("latency")) >= MIN_SIGMA:
        return "network_delay", "network_delay"
    return "unknown", "unknown"


def classify(c: Candidate, is_surge: bool) -> tuple[str, str | dict[str, str]]:
    """The fault kind from a component's own signature, and why: a key of the ranking's
    reasons (copilot/phrases/reasons.py `WHY`), or a declaring finding's own text.

    Disk filling up, then memory growth, decide first; otherwise the strongest of the
    component's own signals (GC, CPU not explained by load, exceptions, retransmissions,
    network RTT); a request-rate surge with no such signal is a traffic surge; without one,
    errors after a change mean a code exception, errors or missing calls mean packet
    loss, and latency that starts here means network delay."""
    top = max((strength(e.score) for items in c.evidence.values() for e in items), default=0.0)
    declared = _declared_kind(c, top)
    if declared is not None:
        return declared
    best = _deciding_signal(c, _own_signals(c, top))
    if is_surge and best in (None, "net_latency", "packet_loss"):
        return "traffic_surge", "traffic_surge"
    change = c.best("change")
    recent_change = change is not None and change.score >= 3.0
    if best == "path_change":
        return "code_exception", "stopped_steps"
    if best is not None:
        kind = OWN_KINDS[best]
        return kind, "code_exception_after_change" if kind == "code_exception" and recent_change else kind
    return _kind_from_symptoms(c, recent_change)


# The evidence categories that show each fault kind: cited first, since they decided it.
DECIDING = {
    "cpu_saturation": ("cpu",), "memory_leak": ("memory",), "disk_full": ("disk",), "jvm_gc": ("gc",),
    "network_loss": ("packet_loss", "lost", "errors"), "network_delay": ("net_latency", "self_latency", "latency"),
    "code_exception": ("path_change", "exception", "error_origin", "change", "errors"), "traffic_surge": ("surge", "load"),
}


def _ordered(c: Candidate, kind: str, skip: tuple[str, ...] = ()) -> list[Evidence]:
    """The component's evidence, strongest first, with what shows its fault kind ahead."""
    first = DECIDING.get(kind, ("declared",))
    items = [e for cat, v in c.evidence.items() if cat not in skip for e in v]
    return sorted(items, key=lambda e: (e.category not in first, -e.score))


def _evidence_ids(c: Candidate, kind: str = "") -> list[str]:
    ids: list[str] = []
    for e in _ordered(c, kind):
        if e.finding.id and e.finding.id not in ids:
            ids.append(e.finding.id)
    return ids[:10]


def _reasons(c: Candidate, why: str | dict[str, str], kind: str = "") -> list[str]:
    items = _ordered(c, kind, skip=("load", "alert"))
    head = reason("cause", component=c.component, why=why) if isinstance(why, str) else \
        reason("cause_text", component=c.component, **why)
    reasons: list[str] = [head]
    for e in items[:3]:
        reasons.append(cited(e.finding.id, e.finding.summary))
    change = c.best("change")
    if change is not None and all(change.finding.id not in r for r in reasons):
        reasons.append(cited(change.finding.id, change.finding.summary))
    reasons.extend(dict.fromkeys(c.notes))
    return reasons


def _symptom_flow(shows, own, callees: dict[str, set[str]], callers: dict[str, set[str]],
                  nodes: set[str]) -> dict[str, float]:
    """How much of the observed symptom each component holds once it is traced down the call
    graph. Every independent observation of the symptom (a component showing it none of whose
    callers do, such as the alerted component) carries one unit, split evenly among its callees
    that show it too, hop by hop; a share stops at a component whose own signals show the
    symptom (`own`: its network RTT, errors it raises) or none of whose callees show it: the
    likely origin. A callee that alone explains a caller gets its whole
    share; one of three siblings gets a third; a long chain does not multiply it."""
    held: dict[str, float] = defaultdict(float)

    def push(node: str, amount: float, path: frozenset[str]) -> None:
        below = [] if own(node) else sorted(d for d in callees.get(node, ()) if d not in path and shows(d))
        if not below:
            held[node] += amount
            return
        for d in below:
            push(d, amount / len(below), path | {d})

    for source in sorted(n for n in nodes if shows(n) and not any(shows(p) for p in callers.get(n, ()))):
        push(source, 1.0, frozenset({source}))
    return dict(held)


# ---- findings that name their own fault kind ----------------------------------------------
# Platform detectors (the database ones in plugins/cloud/detect.py) recognise a fault's
# signature themselves: such a finding carries `details.fault_kind` and is evidence of that
# kind on its component ("declared"). A confounder (`details.confounder`, e.g. CPU high
# during a checkpoint that recovered) is never a cause, and the metric signals it names in
# `details.explains` are dropped from the ranking (any finding may name signals it accounts for).


def declared_category(f: Finding) -> str | None | Literal[False]:
    """"declared" for a finding naming its fault kind, None for a confounder, False otherwise."""
    if f.details.confounder:
        return None
    if f.details.fault_kind:
        return "declared"
    return False


def explained_signals(findings: list[Finding]) -> set[tuple[str, str]]:
    """(component, signal) pairs a finding accounts for (`details.explains`: a signal of its
    own component, or [component, signal]), so they are not ranked again on their own: what a
    confounder explains, or the write load behind a replica's lag."""
    out: set[tuple[str, str]] = set()
    for f in findings:
        for item in f.details.explains or ():
            if isinstance(item, (list, tuple)) and len(item) == 2:
                out.add((str(item[0]), str(item[1])))
            else:
                out.add((f.component, str(item)))
    return out
