"""Finding ids ("M1", "L3", "T2"): unique in a run, also among the findings a tool is still
building. Every detector takes a `next_id(prefix)` callable made here.

    next_free(prefix, taken)  the next id for a prefix: one past how many it has, skipping any taken
    allocator(taken)          a `next_id(prefix)` that remembers what it issued
"""

from __future__ import annotations

from typing import Callable, Iterable


def next_free(prefix: str, taken: set[str]) -> str:
    n = 1 + sum(1 for i in taken if i.startswith(prefix) and i[len(prefix):].isdigit())
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


def allocator(taken: Iterable[str] = ()) -> Callable[[str], str]:
    issued = set(taken)

    def next_id(prefix: str) -> str:
        found = next_free(prefix, issued)
        issued.add(found)
        return found

    return next_id
