"""Learning from labels: does accuracy rise as an engineer labels diagnoses?

    .venv/bin/python bench/label_learning.py [--rounds 3] [--json]

A labelled sequence of generated incidents (copilot/demo.py `generate`): a fixed list of
(fault, service) pairs, each repeated once per round with a different seed (so different
onset, noise and request mix). Every incident goes through the real offline Session with
one memory shared by the whole sequence. After each diagnosis an "engineer" labels it
from the generator's ground truth: `correct` when the top cause is right, otherwise the
right component and fault kind (`KnowledgeMemory.label`, what `copilot memory label` does).
The same sequence is also run without labels (memory on, nothing labelled) as a control.

Reported: top-1 accuracy per round with and without labels, how many diagnoses a label
changed (fixed: wrong before, right now; broken: right before, wrong now), and the
similarity of every label that was applied. The pairs include faults the offline rules
get wrong today (packet loss on a service called by the frontend is read as a code
exception on the frontend) and close neighbours that must not borrow a label (a real
code exception on the frontend, the same loss on other services).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAIRS: tuple[tuple[str, str], ...] = (
    ("network_loss", "checkout"), ("network_loss", "cart"), ("network_loss", "catalogue"),
    ("network_loss", "frontend"), ("network_loss", "payment"), ("network_loss", "db"),
    ("code_exception", "frontend"), ("code_exception", "checkout"),
    ("cpu_saturation", "cart"), ("network_delay", "checkout"),
)


async def diagnose(settings: Any, question: str) -> tuple[Any, str, list[dict[str, Any]]]:
    from copilot.approval import DenyAll
    from copilot.events import DiagnosisSaved, FinalAnswer
    from copilot.session import Session

    final, memory_id = None, ""
    async for event in Session(settings, approver=DenyAll()).ask(question):
        if isinstance(event, FinalAnswer):
            final = event.diagnosis
        elif isinstance(event, DiagnosisSaved):
            memory_id = event.memory_id
    return final, memory_id


def run_sequence(rounds: int, labels: bool, work: Path) -> list[dict[str, Any]]:
    from copilot.bench.scenarios import base_settings
    from copilot.demo import generate
    from copilot.kb.memory import KnowledgeMemory

    settings = replace(base_settings(), kb_uri=str(work / "lancedb"), sessions_dir=str(work / "sessions"))
    memory = KnowledgeMemory.from_settings(settings)
    rows = []
    for rnd in range(1, rounds + 1):
        for fault, service in PAIRS:
            data = work / "data" / f"{fault}-{service}-{rnd}"
            truth = generate(data, fault, service, seed=100 + rnd)
            question = (data / "question.txt").read_text(encoding="utf-8").strip()
            started = time.perf_counter()
            final, memory_id = asyncio.run(diagnose(replace(settings, data=str(data)), question))
            top = (final or {}).get("root_causes", [{}])[0] if final and final.get("root_causes") else {}
            got = (top.get("component", ""), top.get("fault_type", ""))
            right = got == (truth["component"], truth["fault_kind"])
            cited = [r for r in top.get("reasons", []) if r.startswith("an engineer ")]
            rows.append({"round": rnd, "fault": fault, "service": service, "got": list(got), "right": right,
                         "label_cited": cited[0] if cited else "", "seconds": round(time.perf_counter() - started, 2)})
            if labels and memory_id:
                if right:
                    memory.label(memory_id, correct=True)
                else:
                    memory.label(memory_id, root_cause=truth["component"], fault_kind=truth["fault_kind"],
                                 note="bench/label_learning.py ground truth")
    return rows


def summarize(with_labels: list[dict[str, Any]], without: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    per_round = []
    for rnd in range(1, rounds + 1):
        a = [r for r in with_labels if r["round"] == rnd]
        b = [r for r in without if r["round"] == rnd]
        per_round.append({"round": rnd, "n": len(a), "top1_with_labels": round(sum(r["right"] for r in a) / len(a), 3),
                          "top1_without_labels": round(sum(r["right"] for r in b) / len(b), 3)})
    fixed = sum(1 for a, b in zip(with_labels, without) if a["right"] and not b["right"])
    broken = sum(1 for a, b in zip(with_labels, without) if b["right"] and not a["right"])
    return {"pairs": len(PAIRS), "rounds": per_round, "fixed_by_labels": fixed, "broken_by_labels": broken,
            "labels_cited": [f"round {r['round']} {r['fault']}@{r['service']}: {r['label_cited']}"
                             for r in with_labels if r["label_cited"]],
            "median_seconds": sorted(r["seconds"] for r in with_labels)[len(with_labels) // 2]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    results = {}
    for arm in ("with", "without"):
        work = Path(tempfile.mkdtemp(prefix=f"copilot-labels-{arm}-"))
        try:
            results[arm] = run_sequence(args.rounds, arm == "with", work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    summary = summarize(results["with"], results["without"], args.rounds)
    if args.json:
        print(json.dumps({"summary": summary, "cases": results}, indent=1))
        return 0
    print(f"{summary['pairs']} (fault, service) pairs x {args.rounds} rounds (seeds 101..{100 + args.rounds})")
    print("round  top-1 with labels  top-1 without labels")
    for r in summary["rounds"]:
        print(f"{r['round']:>5}  {r['top1_with_labels']:>17.3f}  {r['top1_without_labels']:>20.3f}")
    print(f"fixed by labels: {summary['fixed_by_labels']}, broken by labels: {summary['broken_by_labels']}, "
          f"median {summary['median_seconds']} s per incident")
    for line in summary["labels_cited"]:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
