"""`copilot demo generate|question|path`: the bundled demo incident.

    copilot demo generate --fault KIND [--service NAME] [--seed N] --out DIR
    copilot demo question [--fault KIND]     # the on-call question for that demo
    copilot demo path [--fault KIND]         # where the cached default demo lives
"""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("demo", help="generate the bundled demo incident (telemetry files with one injected fault)")
    ds = p.add_subparsers(dest="demo_command", metavar="ACTION")
    gen = ds.add_parser("generate", help="write a demo incident into a directory")
    gen.add_argument("--fault", default="cpu_saturation", help="fault kind to inject (default: cpu_saturation)")
    gen.add_argument("--service", default=None, help="component to inject it into (default: one per fault kind)")
    gen.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same files")
    gen.add_argument("--out", required=True, help="output directory (created)")
    gen.set_defaults(func=_generate)
    q = ds.add_parser("question", help="print the demo's on-call question")
    q.add_argument("--fault", default="cpu_saturation", help="fault kind of the demo (default: cpu_saturation)")
    q.set_defaults(func=_question)
    path = ds.add_parser("path", help="print the directory of the cached default demo (generating it once)")
    path.add_argument("--fault", default="cpu_saturation", help="fault kind of the demo (default: cpu_saturation)")
    path.set_defaults(func=_path)
    p.set_defaults(func=_help, demo_parser=p)


def _help(args) -> int:
    args.demo_parser.print_help()
    return 0


def _generate(args) -> int:
    from copilot.demo import generate

    truth = generate(Path(args.out), args.fault, args.service, args.seed)
    print(f"wrote the demo incident to {args.out}: {truth['description']}")
    print(f"ask: copilot --data {args.out} --query \"$(cat {Path(args.out) / 'question.txt'})\"")
    return 0


def _question(args) -> int:
    from copilot.demo import ensure_demo

    print((ensure_demo(args.fault) / "question.txt").read_text(encoding="utf-8").strip())
    return 0


def _path(args) -> int:
    from copilot.demo import ensure_demo

    print(ensure_demo(args.fault))
    return 0
