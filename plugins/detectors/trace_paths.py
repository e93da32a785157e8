"""Code-path changes seen in traces: requests that stop part-way (early return, exception).

A span's *call pattern* is the set of steps it made: its child spans, each named by
(component, operation). In a healthy service an operation makes a few recurring patterns
(the home page, the product page, the checkout page all go through `Recv.`). When code
returns early or throws, requests end before their usual later steps, so spans appear
whose pattern is a strict part of a pattern the operation used to make, one that was rare
or absent before. Per (component, operation) this detector counts such *truncated*
spans in the baseline and in the window and scores the rise (binomial z).

Attribution follows the call tree: a span that stopped because something it called
stopped first (a truncated span further down, in another component) is inherited; the
finding goes to the component where truncation starts, the one whose own steps went
missing while what it called completed. The missing steps are named, since they tell an
engineer where in the code to look (Nezha's "event pattern" view of the same faults).
A step that is a client span (a caller-side span around one server span) is named by the
call it makes, since HTTP clients name every outgoing call alike (`GET`). When callers stop
right after calling the same component, that component is blamed: if two or more callers
do, or if the calls that ended the requests took at most GAVE_UP_EARLY of their usual time
(the callee gave up part-way; a caller's own early return leaves its last call as usual).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from copilot.diagnosis import Finding
from copilot.evidence import TraceEvidence

from ..telemetry.model import Span
from .metrics import hhmm
from .spanstats import flag_onset, is_client_span, op_key, ratio_score

MIN_BASE = 10  # baseline spans of an operation below which it is not judged
MIN_WINDOW = 3  # window spans of an operation below which it is not judged (the z score weighs the rest)
MIN_CUT = 3  # truncated window spans below which nothing is reported
COMMON_SHARE = 0.02  # a pattern is usual when at least this share of baseline spans make it...
COMMON_COUNT = 3  # ...and at least this many
MIN_SCORE = 4.0
MIN_RISE = 0.02  # the truncated share must rise by at least two points
OWN_SHARE = 0.5  # a group is reported when at least half its truncated spans stopped on their own
GAVE_UP_EARLY = 0.5  # a callee whose calls that ended a request took at most half their usual time gave up part-way

Step = tuple[str, str]


class Changed(NamedTuple):
    """An operation whose requests now stop part-way, before attribution."""
    key: Step
    score: float
    ratio_before: float
    ratio_after: float
    spans: int
    truncated: int
    onset: float | None
    own: list[Span]  # the cut-short spans nothing below them explains


Counts = dict[Step, Counter]
Window = dict[Step, list[tuple[Span, frozenset[Step]]]]
Flagged = dict[Step, dict[frozenset[Step], frozenset[Step]]]


def _step(c: Span, children: Mapping[str, list[Span]]) -> Step:
    """A child span as a step. A client span is named by the call it makes (the server span
    it wraps): Java and HTTP clients name every outgoing call alike (`GET`), so their own
    names would hide which calls a request skipped."""
    kids: Sequence[Span] = children.get(c.span_id, ())
    target = kids[0] if is_client_span(c, kids) else c
    return (target.component, op_key(target.operation))


def _pattern(s: Span, children: Mapping[str, list[Span]]) -> frozenset[Step]:
    return frozenset(_step(c, children) for c in children.get(s.span_id, ()))


def _by_operation(spans: list[Span], periods: Sequence[int],
                  patterns: Sequence[frozenset[Step] | None]) -> tuple[Counts, Window, dict[Step, list[float]]]:
    """Per (component, operation): the baseline's pattern counts, the window's spans with
    their patterns, and the baseline's span durations."""
    base: Counts = defaultdict(Counter)
    win: Window = defaultdict(list)
    base_durations: dict[Step, list[float]] = defaultdict(list)
    for s, when, pat in zip(spans, periods, patterns):
        if when < 0 or pat is None:
            continue
        key = (s.component, op_key(s.operation))
        if when == 0:
            base[key][pat] += 1
            base_durations[key].append(s.duration_ms)
        else:
            win[key].append((s, pat))
    return base, win, base_durations


def _truncations(counts: Counter, usual: Sequence[frozenset[Step]],
                 items: list[tuple[Span, frozenset[Step]]]) -> dict[frozenset[Step], frozenset[Step]]:
    """The parts of an operation's usual patterns whose share rose significantly (requests
    that now end early), each with the steps it misses: those of the usual pattern it
    replaced (the superset whose share fell most)."""
    nb, nw = sum(counts.values()), len(items)
    now = Counter(p for _, p in items)
    found = {}
    for p, kw in now.items():
        supers = [q for q in usual if p < q]
        if not supers or kw < MIN_CUT:
            continue
        score, pb, pw = ratio_score(counts.get(p, 0), nb, kw, nw)
        if score >= MIN_SCORE and pw - pb >= MIN_RISE:
            replaced = max(supers, key=lambda q: (counts[q] / nb - now.get(q, 0) / nw, -len(q)))
            found[p] = replaced - p
    return found


def _flagged(base: Counts, win: Window) -> Flagged:
    """Per operation, its truncated patterns (see `_truncations`) and the steps each misses."""
    usual: dict[Step, list[frozenset[Step]]] = {}
    for key, counts in base.items():
        n = sum(counts.values())
        usual[key] = [p for p, k in counts.items() if k >= COMMON_COUNT and k >= COMMON_SHARE * n]
    flagged: Flagged = {}
    for key, items in win.items():
        counts, patterns = base.get(key) or Counter(), usual.get(key, ())
        if not counts or not patterns:
            continue
        found = _truncations(counts, patterns, items)
        if found:
            flagged[key] = found
    return flagged


def _inherited(s: Span, children: Mapping[str, list[Span]], cut: Mapping[str, frozenset[Step]]) -> bool:
    """Did a span below it, in another component, stop part-way first?"""
    stack = list(children.get(s.span_id, ()))
    while stack:
        c = stack.pop()
        if c.component != s.component and c.span_id in cut:
            return True
        stack.extend(children.get(c.span_id, ()))
    return False


def _last_call(s: Span, children: Mapping[str, list[Span]]) -> Span | None:
    """The span in another component that a span's last finished step called (None: its own work)."""
    kids = children.get(s.span_id, ())
    if not kids:
        return None
    last = max(kids, key=lambda c: (c.start + c.duration_ms / 1000.0, c.span_id))
    if last.component != s.component:
        return last
    inner = [c for c in children.get(last.span_id, ()) if c.component != s.component]
    return inner[0] if inner else None


def _cut_short(entry: Changed, target: str, children: Mapping[str, list[Span]], base_ms: Mapping[Step, float]) -> bool:
    """The calls into `target` that a caller's truncated requests ended on took at most
    GAVE_UP_EARLY of that operation's usual time: the callee gave up part-way (an
    exception or an early return in its code), so it, not the caller, stopped first."""
    ratios = []
    for sp in entry.own:
        c = _last_call(sp, children)
        if c is None or c.component != target:
            continue
        usual = base_ms.get((c.component, op_key(c.operation)))
        if usual:
            ratios.append(c.duration_ms / usual)
    return len(ratios) >= MIN_CUT and float(np.median(ratios)) <= GAVE_UP_EARLY


def _changed(base: Counts, win: Window, flagged: Flagged, cut: Mapping[str, frozenset[Step]],
             children: Mapping[str, list[Span]]) -> list[Changed]:
    """The operations whose requests now stop part-way on their own, by operation."""
    changed: list[Changed] = []
    for key, items in sorted(win.items()):
        counts = base.get(key) or Counter()
        nb, nw = sum(counts.values()), len(items)
        if nb < MIN_BASE or nw < MIN_WINDOW:
            continue
        kb = sum(k for p, k in counts.items() if p in flagged.get(key, {}))
        flags = np.array([s.span_id in cut for s, _ in items])
        kw = int(flags.sum())
        if kw < MIN_CUT:
            continue
        own = [s for s, _ in items if s.span_id in cut and not _inherited(s, children, cut)]
        if len(own) < OWN_SHARE * kw:
            continue
        score, pb, pw = ratio_score(kb, nb, kw, nw)
        if score < MIN_SCORE or pw - pb < MIN_RISE:
            continue
        onset = flag_onset(np.array([s.start for s, _ in items]), flags)
        changed.append(Changed(key, score, pb, pw, nw, kw, onset, own))
    return changed


def _blamed(changed: list[Changed], children: Mapping[str, list[Span]],
            base_ms: Mapping[Step, float]) -> dict[str, dict[str, list[Changed]]]:
    """Components blamed by their callers, with the entries of each caller that blame them.
    Several components that all stop right after calling the same component, or one whose
    requests stop right after a call into it that ended far sooner than usual: what it
    returns makes them give up (an error or an empty result), so the fault is its code."""
    after: dict[str, dict[str, list[Changed]]] = defaultdict(lambda: defaultdict(list))
    for entry in changed:
        targets = Counter(t for t in (_called(s, children) for s in entry.own) if t)
        if targets:
            target, k = targets.most_common(1)[0]
            if k >= MIN_CUT and k >= OWN_SHARE * sum(targets.values()):
                after[target][entry.key[0]].append(entry)
    return {t: by for t, by in after.items()
            if len(by) >= 2 or any(_cut_short(e, t, children, base_ms) for es in by.values() for e in es)}


def _called(s: Span, children: Mapping[str, list[Span]]) -> str | None:
    c = _last_call(s, children)
    return c.component if c is not None else None


def _blamed_finding(target: str, by: dict[str, list[Changed]], next_id: Callable[[str], str] | None) -> Finding:
    entries = [e for es in by.values() for e in es]
    score = max(e.score for e in entries)
    onsets = [e.onset for e in entries if e.onset is not None]
    onset = min(onsets) if onsets else None
    callers = sorted(by)
    stopped = sum(len(e.own) for e in entries)
    return Finding(
        next_id("T") if next_id else "", "traces", target, f"calls into {target}", "call_path_change",
        f"{' and '.join(callers)} stop their requests right after calling {target} ({stopped} requests "
        f"cut short since {hhmm(onset)}): {target} returns errors or unusable results, an early return "
        f"or exception in its code, {round(score, 2):.1f} sigma",
        round(score, 2), onset, TraceEvidence(callers=callers, requests=stopped, blamed_by_callers=True),
    )


def _own_finding(entry: Changed, cut: Mapping[str, frozenset[Step]], next_id: Callable[[str], str] | None) -> Finding:
    key, score, pb, pw, nw, kw, onset, own = entry
    missing = Counter(step for s in own for step in cut[s.span_id])
    # most missed first; ties by name (the steps come from frozensets, whose order varies by process)
    top = sorted(missing.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    names = [f"{comp}:{op}" if comp != key[0] else op for (comp, op), _ in top]
    comp, op = key
    return Finding(
        next_id("T") if next_id else "", "traces", comp, f"{comp} {op} call path", "call_path_change",
        f"{comp} stops part-way through {op}: {pw:.1%} of its requests end without steps they took "
        f"before ({pb:.1%} in the baseline), missing {', '.join(names)}, since {hhmm(onset)}; "
        f"an early return or exception in its code, {round(score, 2):.1f} sigma",
        round(score, 2), onset,
        TraceEvidence(operation=op, ratio_before=round(pb, 4), ratio_after=round(pw, 4), spans=nw,
                      missing=names, own_share=round(len(own) / kw, 3)),
    )


def detect_path_changes(
    spans: Iterable[Span],
    children: Mapping[str, list[Span]],
    period: Callable[[Span], int],
    next_id: Callable[[str], str] | None = None,
    periods: Sequence[int] | None = None,
    patterns: Sequence[frozenset[Step] | None] | None = None,
) -> list[Finding]:
    """Findings of kind `call_path_change`, one per (component, operation) whose requests
    now stop part-way. `period(span)` is 0 for the baseline, 1 for the window, -1 otherwise.
    `periods` and `patterns`, when given, are those of every span already computed (one per
    span, in order; see `span_groups`)."""
    spans = list(spans)
    if periods is None or patterns is None:
        periods = [period(s) for s in spans]
        patterns = [_pattern(s, children) if when >= 0 else None for s, when in zip(spans, periods)]
    base, win, base_durations = _by_operation(spans, periods, patterns)
    base_ms = {k: float(np.median(v)) for k, v in base_durations.items() if len(v) >= MIN_BASE}
    flagged = _flagged(base, win)
    # window spans that stopped part-way, by span id: the steps they are missing
    cut: dict[str, frozenset[Step]] = {}
    for key, items in win.items():
        for s, p in items:
            if p in flagged.get(key, {}):
                cut[s.span_id] = flagged[key][p]
    changed = _changed(base, win, flagged, cut, children)
    blamed = _blamed(changed, children, base_ms)
    explained = {id(e) for by in blamed.values() for entries in by.values() for e in entries}
    out = [_blamed_finding(target, by, next_id) for target, by in sorted(blamed.items())]
    out += [_own_finding(entry, cut, next_id) for entry in changed if id(entry) not in explained]
    return out
