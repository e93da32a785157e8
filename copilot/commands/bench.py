"""`copilot bench NAME PATH`: benchmarks on published, real data.

  copilot bench rcd|nezha|petshop PATH [--time-shift SECONDS] [--signals metrics,traces,logs] [--json]
      root-cause ranking: AC@1, AC@3, Avg@5, fault-kind accuracy, per case, beside a
      naive N-sigma floor. Ground truth is used for scoring only.
  copilot bench detect PATH [--json]
      `copilot detect` on ms-cloud-monitoring: point-wise and event-wise P/R/F1.
  copilot bench loghub PATH / copilot bench scenarios, where this build has them.
"""

from __future__ import annotations

import argparse

from copilot.bench.registry import BENCHMARKS, RCA_BENCHMARKS, resolve  # light: imports nothing heavy
from copilot.errors import CopilotError


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="benchmarks on published datasets",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmark", choices=list(BENCHMARKS), metavar="{" + ",".join(BENCHMARKS) + "}",
                   help="which benchmark: " + "; ".join(f"{k}: {v[1]}" for k, v in BENCHMARKS.items()))
    p.add_argument("path", nargs="?", default=None, help="the dataset folder (e.g. ../shared/datasets/sockshop-rcd)")
    p.add_argument("--time-shift", type=float, default=0.0, metavar="SECONDS",
                   help="move the alert time given to the ranking by SECONDS (RCA benchmarks)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="run only the first N cases")
    p.add_argument("--signals", default=None, metavar="LIST",
                   help="RCA benchmarks: the telemetry the ranking reads, metrics plus any of traces,logs (default: all)")
    p.add_argument("--raw-truth", dest="raw_truth", action="store_true",
                   help="loghub: score the uncorrected Android/Windows annotations as written")
    from copilot.cli import add_settings_flags  # here, not at the top: cli imports this module

    add_settings_flags(p, nested=True)
    p.add_argument("--case", action="append", metavar="NAME", help="scenarios: run the cases whose name contains NAME")
    p.add_argument("--shared-memory", dest="shared_memory", action="store_true",
                   help="scenarios: use the configured memory store instead of a temporary one")
    p.add_argument("--detector", choices=("copilot", "gaussian"), default="copilot",
                   help="nab: score copilot detect (default) or a plain windowed Gaussian for reference")
    p.add_argument("--mode", choices=("onset", "level"), default="onset",
                   help="detect, nab: the scoring mode of copilot detect (default onset, as the command)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.path is None and args.benchmark in (*RCA_BENCHMARKS, "detect", "nab"):
        raise CopilotError(f"copilot bench {args.benchmark} needs the dataset folder: copilot bench {args.benchmark} PATH")
    return resolve(args.benchmark)(args)
