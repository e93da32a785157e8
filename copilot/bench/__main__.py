"""`python -m copilot.bench NAME PATH ...`: the benchmarks without the full CLI."""

from __future__ import annotations

import argparse
import sys

from copilot.commands import bench
from copilot.errors import CopilotError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m copilot.bench")
    sub = parser.add_subparsers(dest="command", required=True)
    bench.register(sub)
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except CopilotError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
