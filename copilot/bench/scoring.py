"""RCA scores as RCAEval defines them (Nezha's AS@k are the same numbers).

AC@k: the share of cases whose true root-cause component is among the top k.
Avg@5: the mean of AC@1..AC@5. Fault-kind accuracy: the share of cases whose top-1 is the
right component with the right fault kind (both must be right).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CaseScore:
    rank: int | None  # 1-based position of the true component, None if absent
    kind_right: bool  # top-1 is the true component with the true fault kind


def normalise(name: str) -> str:
    return name.strip().lower()


def score_ranking(ranking: list[tuple[str, str]], component: str, fault_kind: str) -> CaseScore:
    target = normalise(component)
    rank = next((i for i, (c, _) in enumerate(ranking, start=1) if normalise(c) == target), None)
    kind_right = rank == 1 and ranking[0][1] == fault_kind
    return CaseScore(rank, kind_right)


def ac_at(scores: list[CaseScore], k: int) -> float:
    if not scores:
        return 0.0
    return sum(1 for s in scores if s.rank is not None and s.rank <= k) / len(scores)


def summarize(scores: list[CaseScore]) -> dict[str, float | int]:
    n = len(scores)
    return {
        "cases": n,
        "ac@1": round(ac_at(scores, 1), 4),
        "ac@3": round(ac_at(scores, 3), 4),
        "avg@5": round(sum(ac_at(scores, k) for k in range(1, 6)) / 5, 4) if n else 0.0,
        "fault_kind_accuracy": round(sum(s.kind_right for s in scores) / n, 4) if n else 0.0,
    }
