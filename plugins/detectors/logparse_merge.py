"""Merge mined templates that are one event written with different variable shapes.

Drain only compares lines of the same token count whose first tokens agree, so one
event can end up as several templates: a value that varies in shape ("00:01" against
"<1 sec"), an optional bracketed restatement ("12 bytes" against "12 bytes (1.2 KB)"),
a variable that sits where Drain's tree looks for constants ("com.apple.A: job ..." /
"com.apple.B: job ..."), or a host written without a dot ("wpad:80"). Three generic
rules put them back together, each needing the shared constant text to agree:

1. cover: a template whose every token is matched by another template's token, with
   "<*>" matching any text inside a token ("<*>:<*>" covers "wpad:<*>");
2. variable position: templates of the same length that agree everywhere but one
   position where more than SPLIT_MAX_VALUES different values occur (the dual of the
   cluster-splitting rule in `logparse`: a few plain words there are constants of
   several templates, many are a variable);
3. variable alignment: templates whose token alignment differs only in runs made of
   variables (and punctuation), with at most one plain word in all the runs together.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from difflib import SequenceMatcher

WILDCARD = "<*>"
SPLIT_MAX_VALUES = 3
MIN_SHARED_CONSTANTS = 2
MAX_CONSTANT_DIFF = 2  # distinct constant tokens two aligned templates may differ in
# A lone differing position needs more context: in "cupsd startup succeeded" the first
# word names the event; in a long message one differing token is a variable.
MIN_CONTEXT_FOR_POSITION = 3

_VAR_TOKEN_RE = re.compile(r"[^\w<]*(?:<\*>[^\w<]*)+")
_SUBTOKEN_RE = re.compile(r"([^\w<>*])")


def is_variable_token(token: str) -> bool:
    """A token made only of wildcards and punctuation ("<*>", "<*>:<*>", "(<*>),")."""
    return _VAR_TOKEN_RE.fullmatch(token) is not None


class _UnionFind:
    def __init__(self, items: list[str]) -> None:
        self.parent = {i: i for i in items}

    def find(self, item: str) -> str:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item


def merge_templates(templates: set[str]) -> dict[str, str]:
    """Map every template to the template of the group it is merged into."""
    result = {t: t for t in templates}
    for step in (_merge_covered, _merge_variable_positions, _merge_aligned):
        current = set(result.values())
        mapping = step(current)
        result = {t: mapping.get(m, m) for t, m in result.items()}
    return result


# 1. cover ---------------------------------------------------------------------------

_TOKEN_PATTERNS: dict[str, re.Pattern[str]] = {}


def _token_covers(general: str, specific: str) -> bool:
    if general == specific or general == WILDCARD:
        return True
    if WILDCARD not in general:
        return False
    pattern = _TOKEN_PATTERNS.get(general)
    if pattern is None:
        pattern = re.compile(".+?".join(re.escape(p) for p in general.split(WILDCARD)), re.DOTALL)
        _TOKEN_PATTERNS[general] = pattern
    return pattern.fullmatch(specific) is not None


def covers(general: tuple[str, ...], specific: tuple[str, ...]) -> bool:
    """True when `general` matches `specific` token by token and most tokens agree."""
    if len(general) != len(specific):
        return False
    differing = 0
    for g, s in zip(general, specific):
        if g != s:
            if not _token_covers(g, s):
                return False
            differing += 1
    # Require most tokens to agree, so "<*> <*> <*>" does not swallow everything.
    constant = sum(not is_variable_token(g) for g in general)
    return constant > 0 and differing <= constant


def _merge_covered(templates: set[str]) -> dict[str, str]:
    by_len: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    for t in templates:
        tokens = tuple(t.split(" "))
        by_len[len(tokens)].append(tokens)
    result = {t: t for t in templates}
    for group in by_len.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda toks: (-sum(tok.count(WILDCARD) for tok in toks), toks))
        # Earlier (more general) templates by first token; one with a wildcard there
        # may cover any first token.
        by_first: dict[str | None, list[int]] = defaultdict(list)
        for i, specific in enumerate(group):
            candidates = sorted(by_first[None] + by_first[specific[0]])
            for j in candidates:
                general = group[j]
                if general != specific and covers(general, specific):
                    result[" ".join(specific)] = result[" ".join(general)]
                    break
            by_first[None if WILDCARD in specific[0] else specific[0]].append(i)
    return result


# 2. variable position ----------------------------------------------------------------


def generalise_token(values: list[str]) -> str:
    """One token for several values: the sub-tokens they all share at the start and the
    end are kept, the middle becomes <*> ("com.apple.A:", "com.apple.B:" -> "com.apple.<*>:")."""
    distinct = sorted(set(values))
    if len(distinct) == 1:
        return distinct[0]
    split = [_SUBTOKEN_RE.split(v) for v in distinct]
    prefix = common_prefix(split)
    suffix = common_prefix([list(reversed(s[len(prefix):])) for s in split])
    middle_empty = all(len(s) == len(prefix) + len(suffix) for s in split)
    return "".join(prefix) + ("" if middle_empty else WILDCARD) + "".join(reversed(suffix))


def common_prefix(seqs: list[list[str]]) -> list[str]:
    prefix: list[str] = []
    for items in zip(*seqs):
        if len(set(items)) != 1:
            break
        prefix.append(items[0])
    return prefix


def _merge_variable_positions(templates: set[str]) -> dict[str, str]:
    result = {t: t for t in templates}
    by_len: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    for t in templates:
        tokens = tuple(t.split(" "))
        by_len[len(tokens)].append(tokens)
    for group in by_len.values():
        if len(group) <= SPLIT_MAX_VALUES:
            continue
        for p in range(len(group[0])):
            buckets: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
            for tokens in group:
                if result[" ".join(tokens)] == " ".join(tokens):  # not merged yet
                    buckets[tokens[:p] + tokens[p + 1:]].append(tokens)
            for rest, members in buckets.items():
                if len(members) <= SPLIT_MAX_VALUES:
                    continue
                if sum(not is_variable_token(t) for t in rest) < MIN_CONTEXT_FOR_POSITION:
                    continue
                merged_token = generalise_token([m[p] for m in members])
                merged = " ".join(rest[:p] + (merged_token,) + rest[p:])
                for m in members:
                    result[" ".join(m)] = merged
    return result


# 3. variable alignment ---------------------------------------------------------------


def aligned_merge(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...] | None:
    """The merged template when `a` and `b` differ only in variable runs, else None."""
    if a == b:
        return a
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    merged: list[str] = []
    plain_in_diffs = 0
    shared_constants = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            merged.extend(a[i1:i2])
            shared_constants += sum(not is_variable_token(t) for t in a[i1:i2])
            continue
        side_a, side_b = a[i1:i2], b[j1:j2]
        plain_a = sum(not is_variable_token(t) for t in side_a)
        plain_b = sum(not is_variable_token(t) for t in side_b)
        if plain_a and plain_b:
            return None
        plain = plain_a + plain_b
        if plain:
            # One plain word is allowed beside a variable that replaces a variable
            # ("<*>:<*>" against "<*> sec"); never a plain word inserted on its own.
            other = side_b if plain_a else side_a
            with_plain = side_a if plain_a else side_b
            if not other or len(with_plain) > plain + 1 or len(with_plain) == plain:
                return None
        plain_in_diffs += plain
        if plain_in_diffs > 1:
            return None
        if not merged or merged[-1] != WILDCARD:
            merged.append(WILDCARD)
    if shared_constants < MIN_SHARED_CONSTANTS:
        return None
    return tuple(merged)


def _merge_aligned(templates: set[str]) -> dict[str, str]:
    """Greedy: each template joins the first earlier group it aligns with.

    A group is compared through the constant tokens of the template that founded it;
    they may differ from the newcomer's in at most MAX_CONSTANT_DIFF tokens."""
    order = sorted(templates, key=lambda t: (-sum(not is_variable_token(x) for x in t.split(" ")), t))
    constants_of = {t: frozenset(x for x in t.split(" ") if not is_variable_token(x)) for t in order}
    frequency: Counter[str] = Counter(c for cs in constants_of.values() for c in cs)
    heads: list[tuple[str, ...]] = []
    founders: list[frozenset[str]] = []
    members: list[list[str]] = []
    # (constant token, founder's number of constants) -> groups
    index: dict[tuple[str, int], list[int]] = defaultdict(list)
    for template in order:
        tokens = tuple(template.split(" "))
        constants = constants_of[template]
        # A matching founder lacks at most 2 of these constants, so it holds one of
        # any 3 of them (the 3 rarest are looked up), and its size is within 2.
        rarest = sorted(constants, key=lambda c: (frequency[c], c))[:MAX_CONSTANT_DIFF + 1]
        size = len(constants)
        sizes = range(size - MAX_CONSTANT_DIFF, size + MAX_CONSTANT_DIFF + 1)
        candidates = sorted({g for c in rarest for n in sizes for g in index.get((c, n), ())})
        for g in candidates:
            if len(constants ^ founders[g]) > MAX_CONSTANT_DIFF:
                continue
            merged = aligned_merge(heads[g], tokens)
            if merged is not None:
                heads[g] = merged
                members[g].append(template)
                break
        else:
            heads.append(tokens)
            founders.append(constants)
            members.append([template])
            for c in constants:
                index[(c, size)].append(len(heads) - 1)
    return {m: " ".join(head) for head, group in zip(heads, members) for m in group}
