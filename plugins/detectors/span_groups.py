"""The per-group samples `traces.detect_trace_anomalies` judges, computed with arrays.

A span table becomes integer codes (span, parent, component, operation) once; every
per-span quantity (own time, client span or not, missing expected calls, failing
children) is then an array operation, and each group's samples are cut out of one
stable sort, so within a group they keep the spans' order (which `flag_onset` relies on
for equal start times). The results equal those of the plain per-span loop, which
tests/test_span_groups.py keeps as the reference.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from itertools import repeat
from typing import Hashable, Iterable, Iterator, Mapping, Sequence, TypeVar

import numpy as np

from ..telemetry.model import Span
from .spanstats import op_key

K = TypeVar("K", bound=Hashable)
_FIELDS = operator.attrgetter("span_id", "parent_id", "component", "operation", "start", "duration_ms", "status")

Latency = tuple[np.ndarray, np.ndarray, np.ndarray]  # baseline values, window values, window start times
Ratio = tuple[tuple[int, int], tuple[int, int], np.ndarray, np.ndarray]  # (k, n) baseline, (k, n) window, window times, window flags


@dataclass
class SpanGroups:
    """Samples per group, baseline and window (see `span_groups`)."""
    self_ms: dict[str, Latency] = field(default_factory=dict)  # own time of a component's spans
    wire_ms: dict[str, Latency] = field(default_factory=dict)  # client span minus server span, by callee
    edge_ms: dict[tuple[str, str], Latency] = field(default_factory=dict)  # callee span durations per call edge
    edge_err: dict[tuple[str, str], Ratio] = field(default_factory=dict)  # failed callee spans per call edge
    origin_err: dict[str, Ratio] = field(default_factory=dict)  # failed spans with no failing child nor missing call
    lost: dict[tuple[str, str], Ratio] = field(default_factory=dict)  # expected calls that went missing
    orphans: dict[str, Ratio] = field(default_factory=dict)  # spans whose parent never arrived
    period: list[int] = field(default_factory=list)  # per span: 0 baseline, 1 window, -1 neither
    # per span in either period, the steps its children made (see `trace_paths`); None outside both
    patterns: list[frozenset[tuple[str, str]] | None] = field(default_factory=list)
    children: Mapping[str, list[Span]] = field(default_factory=dict)  # child spans by parent span id


def _codes(values: Sequence[K]) -> tuple[np.ndarray, list[K]]:
    """Integer codes of hashable values, and the values by code."""
    names = list(dict.fromkeys(values))
    table = dict(zip(names, range(len(names))))
    return np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=len(values)), names


def _split(key: np.ndarray, mask: np.ndarray) -> Iterable[tuple[int, np.ndarray]]:
    """(key, indices in original order) per key among the masked rows."""
    idx = np.flatnonzero(mask)
    if not len(idx):
        return
    idx = idx[np.argsort(key[idx], kind="stable")]
    keys, starts = np.unique(key[idx], return_index=True)
    ends = np.append(starts[1:], len(idx))
    for k, a, b in zip(keys.tolist(), starts.tolist(), ends.tolist()):
        yield k, idx[a:b]


def _latency(key: np.ndarray, names: Sequence[K], period: np.ndarray, values: np.ndarray,
             starts: np.ndarray, mask: np.ndarray) -> dict[K, Latency]:
    out: dict[K, Latency] = {}
    for k, rows in _split(key, mask):
        p = period[rows]
        win = rows[p == 1]
        out[names[k]] = (values[rows[p == 0]], values[win], starts[win])
    return out


def _ratio(key: np.ndarray, names: Sequence[K], period: np.ndarray, flags: np.ndarray,
           starts: np.ndarray, mask: np.ndarray) -> dict[K, Ratio]:
    out: dict[K, Ratio] = {}
    for k, rows in _split(key, mask):
        p = period[rows]
        base, win = rows[p == 0], rows[p == 1]
        out[names[k]] = ((int(flags[base].sum()), len(base)), (int(flags[win].sum()), len(win)),
                         starts[win], flags[win])
    return out


def _csr(owner: np.ndarray, n: int) -> np.ndarray:
    """Row pointers of entries sorted by owner (0..n-1)."""
    return np.concatenate(([0], np.cumsum(np.bincount(owner, minlength=n))))


def span_groups(spans: Sequence[Span], window: tuple[float, float], baseline: tuple[float, float],
                min_spans: int, expected_call: float) -> SpanGroups:
    """Per component, call edge and expected call, the baseline and window samples of:
    own time (duration minus the children's), wire time (a client span minus the server
    span it wraps, see `spanstats.is_client_span`), callee durations and failures, failures
    that originate in a span, calls an operation made in at least `expected_call` of its
    baseline spans (when it had `min_spans` of them) that went missing, and orphans.
    Also each span's period and, in either period, its call pattern: the steps
    (component, `op_key` of the operation) its children made, a client child named by the
    server span it wraps (`trace_paths`).
    Spans sharing an id share their children, and a parent id means the last span with it."""
    n = len(spans)
    groups = SpanGroups()
    if not n:
        return groups
    sid, pid, comps, ops, starts, durs, status = zip(*map(_FIELDS, spans))
    by_id = dict(zip(sid, range(n)))  # the last span with an id
    node = np.fromiter(map(by_id.__getitem__, sid), dtype=np.int64, count=n)
    # parent's span index; -1 root, -2 a parent that never arrived
    parent_of = {**by_id, "": -1}  # an empty parent id: a root, even if some span has no id
    pnode = np.fromiter(map(parent_of.get, pid, repeat(-2)), dtype=np.int64, count=n)
    comp, comp_names = _codes(comps)
    op, op_strings = _codes(ops)
    opk, inverse = np.unique(comp * len(op_strings) + op, return_inverse=True)
    op_names = [(comp_names[k // len(op_strings)], op_strings[k % len(op_strings)]) for k in opk.tolist()]
    opk = inverse.reshape(-1)
    start = np.array(starts, dtype=np.float64)
    dur = np.array(durs, dtype=np.float64)
    failed = np.fromiter(map("error".__eq__, status), dtype=bool, count=n)
    period = np.full(n, -1, dtype=np.int64)
    period[(window[0] <= start) & (start <= window[1])] = 1
    period[(baseline[0] <= start) & (start < baseline[1])] = 0
    nc = len(comp_names)

    # children, aggregated at their parent's span index (summed in span order, as a loop would)
    child = np.flatnonzero(pnode >= 0)
    par = pnode[child]
    kid_n = np.bincount(par, minlength=n)[node]
    kid_sum = np.bincount(par, weights=dur[child], minlength=n)[node]
    kid_err = (np.bincount(par, weights=failed[child], minlength=n) > 0)[node]
    first_kid = np.full(n, -1, dtype=np.int64)
    parents, first = np.unique(par, return_index=True)
    first_kid[parents] = child[first]
    first_kid = first_kid[node]
    own = np.maximum(dur - kid_sum, 0.0)

    # a client span: one child, in another component, with a matching operation name
    one = np.flatnonzero((kid_n == 1) & (comp[np.maximum(first_kid, 0)] != comp))
    pair_match: dict[tuple[int, int], bool] = {}
    client = np.zeros(n, dtype=bool)
    for i, (a, b) in zip(one.tolist(), zip(opk[one].tolist(), opk[first_kid[one]].tolist())):
        m = pair_match.get((a, b))
        if m is None:
            x, y = op_key(op_names[a][1]), op_key(op_names[b][1])
            m = pair_match[(a, b)] = bool(x and y) and (x.startswith(y) or y.startswith(x))
        client[i] = m

    # which components each span index calls: sorted unique (parent, child component) codes
    called = np.unique(par * nc + comp[child])
    called_node, called_comp = called // nc, called % nc
    ptr = _csr(called_node, n)

    # expected calls per operation: in >= expected_call of its (>= min_spans) baseline spans
    base = np.flatnonzero(period == 0)
    per_span = (ptr[node[base] + 1] - ptr[node[base]])
    rows = np.repeat(base, per_span)
    offs = np.arange(len(rows)) - np.repeat(np.cumsum(per_span) - per_span, per_span)
    svc = called_comp[ptr[node[rows]] + offs]
    op_count = np.bincount(opk[base], minlength=len(op_names))
    calls = np.unique(opk[rows] * nc + svc, return_counts=True)
    exp_op, exp_svc = [], []
    for code, k in zip(calls[0].tolist(), calls[1].tolist()):
        key, s = divmod(code, nc)
        if op_count[key] >= min_spans and k / op_count[key] >= expected_call:
            exp_op.append(key)
            exp_svc.append(s)
    exp_op_a, exp_svc_a = np.array(exp_op, dtype=np.int64), np.array(exp_svc, dtype=np.int64)
    exp_ptr = _csr(exp_op_a, len(op_names))  # exp_op is sorted: calls[0] is

    judged = period >= 0
    span_i = np.flatnonzero(judged)
    n_exp = exp_ptr[opk[span_i] + 1] - exp_ptr[opk[span_i]]
    e_span = np.repeat(span_i, n_exp)
    e_off = np.arange(len(e_span)) - np.repeat(np.cumsum(n_exp) - n_exp, n_exp)
    e_svc = exp_svc_a[exp_ptr[opk[e_span]] + e_off]
    e_missing = ~np.isin(node[e_span] * nc + e_svc, called)
    any_missing = np.zeros(n, dtype=bool)
    any_missing[e_span[e_missing]] = True

    originates = failed & ~any_missing & ~kid_err
    parent_comp = comp[np.maximum(pnode, 0)]
    edge = judged & (pnode >= 0) & (parent_comp != comp)

    wire_comp = comp[np.maximum(first_kid, 0)]
    groups.self_ms = _latency(comp, comp_names, period, own, start, judged & ~client)
    groups.wire_ms = _latency(wire_comp, comp_names, period, own, start, judged & client)
    edge_names = [(a, b) for a in comp_names for b in comp_names]
    edge_key = parent_comp * nc + comp
    groups.edge_ms = _latency(edge_key, edge_names, period, dur, start, edge)
    groups.edge_err = _ratio(edge_key, edge_names, period, failed, start, edge)
    groups.origin_err = _ratio(comp, comp_names, period, originates, start, judged)
    groups.orphans = _ratio(comp, comp_names, period, pnode == -2, start, judged)
    groups.period = period.tolist()
    order = child[np.argsort(par, kind="stable")]  # children grouped by parent, in span order
    ptr = _csr(par, n).tolist()
    groups.children = Children(spans, by_id, order, ptr)
    groups.patterns = _patterns(node, order, ptr, np.where(client, first_kid, np.arange(n)), opk, op_names, judged)
    groups.lost = _ratio(comp[e_span] * nc + e_svc, edge_names, period[e_span], e_missing, start[e_span],
                         np.ones(len(e_span), dtype=bool))
    return groups


def _patterns(node: np.ndarray, order: np.ndarray, ptr: list[int], target: np.ndarray,
              opk: np.ndarray, op_names: Sequence[tuple[str, str]], judged: np.ndarray,
              ) -> list[frozenset[tuple[str, str]] | None]:
    """Per judged span, the frozenset of its children's steps, built in child order (one
    frozenset per sequence of steps: spans that made the same calls in the same order share it)."""
    step_names = [(comp, op_key(op)) for comp, op in op_names]
    kid_codes = opk[target[order]].tolist()
    built: dict[tuple[int, ...], frozenset[tuple[str, str]]] = {}
    out: list[frozenset[tuple[str, str]] | None] = [None] * len(node)
    for i, j in zip(np.flatnonzero(judged).tolist(), node[judged].tolist()):
        seq = tuple(kid_codes[ptr[j]:ptr[j + 1]])
        pattern = built.get(seq)
        if pattern is None:
            pattern = built[seq] = frozenset(step_names[k] for k in seq)
        out[i] = pattern
    return out


class Children(Mapping[str, list[Span]]):
    """The child spans of a span id, in span order (the spans of the last span with that id)."""

    def __init__(self, spans: Sequence[Span], by_id: dict[str, int], order: np.ndarray, ptr: list[int]) -> None:
        self._spans, self._by_id, self._order, self._ptr = spans, by_id, order, ptr

    def __getitem__(self, span_id: str) -> list[Span]:
        j = self._by_id[span_id]
        kids = [self._spans[k] for k in self._order[self._ptr[j]:self._ptr[j + 1]].tolist()]
        if not kids:
            raise KeyError(span_id)
        return kids

    def __iter__(self) -> Iterator[str]:
        return (sid for sid, j in self._by_id.items() if self._ptr[j + 1] > self._ptr[j])

    def __len__(self) -> int:
        return sum(1 for _ in self)
