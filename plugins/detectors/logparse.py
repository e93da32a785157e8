"""Log template mining: header stripping, variable masking, Drain clustering, merging.

`mine_templates(lines)` gives one template per input line. The pipeline:
1. the header (timestamp, level, pid, host, component) is learnt from the whole batch
   and cut off (`logparse_header`);
2. obvious variables are masked (`logparse_mask`) so lines differing only in numbers,
   ids, addresses or paths collapse before clustering;
3. the maintained `drain3` Drain tree clusters the masked messages;
4. each cluster is rebuilt from its members and split where a position holds a few
   plain words (constants of several templates);
5. templates that are one event with differently shaped variables are merged
   (`logparse_merge`), and the result is put in canonical (Loghub-2.0) spelling.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from copilot.plugins.detectors.logparse_header import strip_headers
from copilot.plugins.detectors.logparse_mask import WILDCARD, canonical_template, mask_variables
from copilot.plugins.detectors.logparse_merge import SPLIT_MAX_VALUES, common_prefix, generalise_token, merge_templates

DRAIN_DEPTH = 4
DRAIN_SIM = 0.5
DOMINANT_SHARE = 0.9


@dataclass
class MinedLog:
    content: str  # the message without its header
    template: str


def mine_templates(lines: list[str], strip_header: bool = True) -> list[MinedLog]:
    """One (content, template) per line, in input order."""
    from drain3.drain import Drain

    contents = strip_headers(lines) if strip_header else [line.strip() for line in lines]
    masked = [mask_variables(c) for c in contents]
    drain = Drain(depth=DRAIN_DEPTH, sim_th=DRAIN_SIM, max_children=100, param_str=WILDCARD)
    cluster_of: dict[str, int] = {}
    counts: Counter[str] = Counter(masked)
    members: dict[int, list[str]] = defaultdict(list)
    for text in masked:
        if text not in cluster_of:
            cluster, _ = drain.add_log_message(text)
            cluster_of[text] = cluster.cluster_id
            members[cluster.cluster_id].append(text)
    template_of: dict[str, str] = {}
    for texts in members.values():
        groups: dict[int, list[tuple[str, ...]]] = defaultdict(list)
        for text in texts:
            tokens = tuple(text.split())
            groups[len(tokens)].append(tokens)
        for group in groups.values():
            for part in _split_constants(group, counts):
                template = canonical_template(" ".join(_generalise(part)), default_strings=False)
                for tokens in part:
                    template_of[" ".join(tokens)] = template
    # Merging compares what the lines show ("user=root" against "user=guest"); the
    # default-string convention ("root" spelt <*>) is applied to the final spelling only.
    merged = {t: canonical_template(m) for t, m in merge_templates(set(template_of.values())).items()}
    return [
        MinedLog(content, merged[template_of[" ".join(text.split())]])
        for content, text in zip(contents, masked)
    ]


_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SUBTOKEN_RE = re.compile(r"([^\w<>*])")


def _split_constants(group: list[tuple[str, ...]], counts: Counter[str]) -> list[list[tuple[str, ...]]]:
    """Split a cluster where a position holds a few different plain words.

    Drain merges "cupsd startup succeeded" with "cupsd shutdown succeeded"; a position
    whose varying part is one of at most SPLIT_MAX_VALUES plain words is a constant
    of several templates, not a variable (user names, hosts, ids vary more). A single
    word that covers nearly all lines of a cluster is a constant too: the few lines
    that differ there belong to another template."""
    if len(group) < 2:
        return [group]
    weights = [counts[" ".join(tokens)] for tokens in group]
    total = sum(weights)
    for p in range(len(group[0])):
        values: Counter[str] = Counter()
        for tokens, w in zip(group, weights):
            values[tokens[p]] += w
        if len(values) < 2:
            continue
        cores = _varying_cores(list(values))
        if not all(_WORD_RE.fullmatch(c) for c in cores):
            continue
        top_share = values.most_common(1)[0][1] / total
        if len(values) <= SPLIT_MAX_VALUES or (total >= 10 and top_share >= DOMINANT_SHARE):
            parts: dict[str, list[tuple[str, ...]]] = defaultdict(list)
            for tokens in group:
                parts[tokens[p]].append(tokens)
            return [piece for part in parts.values() for piece in _split_constants(part, counts)]
    return [group]


def _varying_cores(values: list[str]) -> list[str]:
    """What differs between the values once their shared start and end are removed."""
    split = [_SUBTOKEN_RE.split(v) for v in values]
    prefix = common_prefix(split)
    suffix = common_prefix([list(reversed(s[len(prefix):])) for s in split])
    return ["".join(s[len(prefix):len(s) - len(suffix)]) for s in split]


def _generalise(group: list[tuple[str, ...]]) -> list[str]:
    """Token-wise template: constant tokens kept; a varying token keeps the delimiters
    and sub-tokens all its values share at the start and end ("rhost=<*>", "(<*>),")."""
    return [generalise_token(list(values)) for values in zip(*group)]
