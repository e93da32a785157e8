"""`copilot memory`: the memory of past diagnoses — list, show, and label with a human
verdict. A confirmed or corrected diagnosis is offered as a new experience entry."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from copilot.terminal_text import terminal_safe


def _memory(args: argparse.Namespace) -> Any:
    from copilot.config import load_settings
    from copilot.kb.memory import KnowledgeMemory

    return KnowledgeMemory.from_settings(getattr(args, "settings", None) or load_settings())


def _reader(args: argparse.Namespace) -> Any:
    from copilot.config import load_settings
    from copilot.kb.memory import KnowledgeMemory

    return KnowledgeMemory.reader(getattr(args, "settings", None) or load_settings())


@terminal_safe  # data reaches a terminal: no raw control characters
def cmd_list(args: argparse.Namespace) -> int:
    from copilot.kb.memory import summary

    entries = _reader(args).list()
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
        return 0
    if not entries:
        print("(no diagnoses in memory yet)")
    for e in entries:
        print(f"{e['id']:<30} {summary(e)}")
    return 0


@terminal_safe  # data reaches a terminal: no raw control characters
def cmd_show(args: argparse.Namespace) -> int:
    import yaml

    entry = _reader(args).get(args.id)
    if args.json:
        print(json.dumps(entry, ensure_ascii=False, indent=2))
    else:
        shown = {k: v for k, v in entry.items() if k != "diagnosis"}
        print(yaml.safe_dump(shown, allow_unicode=True, sort_keys=False, width=100), end="")
    return 0


@terminal_safe  # data reaches a terminal: no raw control characters
def cmd_label(args: argparse.Namespace) -> int:
    import yaml

    memory = _memory(args)
    if args.learn:  # the verdict and the learned entry: one commit, so a kill keeps both or neither
        entry, learned = memory.label_and_learn(args.id, correct=args.correct, root_cause=args.root_cause or "",
                                                fault_kind=args.fault_kind or "", note=args.note or "")
        print(f"labelled {entry['id']}: {entry['verdict']}")
        print(f"added experience {learned}")
        return 0
    entry = memory.label(args.id, correct=args.correct, root_cause=args.root_cause or "",
                         fault_kind=args.fault_kind or "", note=args.note or "")
    print(f"labelled {entry['id']}: {entry['verdict']}")
    proposal = memory.proposed_experience(args.id)
    learn = args.learn
    if learn is None:
        print("\nProposed experience entry (the learning loop):")
        print(yaml.safe_dump(proposal, allow_unicode=True, sort_keys=False, width=100), end="")
        if sys.stdin.isatty():
            learn = input("Add it to the knowledge base? [y/N] ").strip().lower() in ("y", "yes")
        else:
            print("Run again with --learn to add it to the knowledge base.")
    if learn:
        print(f"added experience {memory.learn(args.id)}")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("memory", help="past diagnoses: list, show, label with a human verdict",
                              description=__doc__)
    sub = p.add_subparsers(dest="memory_command", metavar="COMMAND")
    sub.required = True

    ls = sub.add_parser("list", help="list remembered diagnoses, newest first")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)

    sh = sub.add_parser("show", help="show one diagnosis")
    sh.add_argument("id")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_show)

    lb = sub.add_parser("label", help="record a human verdict on a diagnosis")
    lb.add_argument("id")
    verdict = lb.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--correct", action="store_true", help="the diagnosis was right")
    verdict.add_argument("--root-cause", help="the real root cause (component or description)")
    lb.add_argument("--fault-kind", help="the real fault kind (with --root-cause)")
    lb.add_argument("--note", help="what the human found")
    learn = lb.add_mutually_exclusive_group()
    learn.add_argument("--learn", dest="learn", action="store_true", default=None,
                       help="add the confirmed/corrected diagnosis as an experience entry")
    learn.add_argument("--no-learn", dest="learn", action="store_false", help="do not offer an experience entry")
    lb.set_defaults(func=cmd_label)


