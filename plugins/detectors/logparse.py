"""Log template mining: header stripping, variable masking, Drain clustering, merging.

`mine_templates(lines)` gives one template per input line. The pipeline:
1. the header (timestamp, level, pid, host, component) is learnt from the whole batch
   and cut off (`logparse_header`);
2. obvious variables are masked (`logparse_mask`) so lines differing only in numbers,
   ids, addresses or paths collapse before clustering;
3. the maintained `drain3` Drain tree clusters the masked messages;
4. clusters whose templates differ only where one of them already has a variable are
   merged into the more general one, and every template is put in canonical form.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from plugins.detectors.logparse_header import strip_headers
from plugins.detectors.logparse_mask import WILDCARD, canonical_template, mask_variables

DRAIN_DEPTH = 4
DRAIN_SIM = 0.5


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
    for text in masked:
        if text not in cluster_of:
            cluster, _ = drain.add_log_message(text)
            cluster_of[text] = cluster.cluster_id
    templates = {c.cluster_id: canonical_template(c.get_template()) for c in drain.clusters}
    merged = _merge_general(set(templates.values()))
    return [
        MinedLog(content, merged[templates[cluster_of[text]]])
        for content, text in zip(contents, masked)
    ]


def _merge_general(templates: set[str]) -> dict[str, str]:
    """Map each template to the most general template that covers it token by token."""
    by_len: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    for t in templates:
        tokens = tuple(t.split(" "))
        by_len[len(tokens)].append(tokens)
    result = {t: t for t in templates}
    for group in by_len.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda toks: -sum(tok == WILDCARD for tok in toks))
        for i, specific in enumerate(group):
            for general in group[:i]:
                if general != specific and _covers(general, specific):
                    result[" ".join(specific)] = result[" ".join(general)]
                    break
    return result


def _covers(general: tuple[str, ...], specific: tuple[str, ...]) -> bool:
    differing = 0
    for g, s in zip(general, specific):
        if g != s:
            if g != WILDCARD:
                return False
            differing += 1
    # Require most tokens to agree, so "<*> <*> <*>" does not swallow everything.
    constant = sum(g != WILDCARD for g in general)
    return constant > 0 and differing <= constant
