"""`copilot bench NAME`: which module and function run each benchmark.

Entries are "module:function" strings imported only when that benchmark runs, so a
benchmark whose module is absent from this build (loghub and scenarios are written
elsewhere) fails with one line instead of breaking the others. Each function takes the
parsed argparse namespace (`path`, `json`, `time_shift`, `limit`, `benchmark`) and returns
the exit code.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Callable

from copilot.errors import CopilotError

BENCHMARKS: dict[str, tuple[str, str]] = {
    "rcd": ("copilot.bench.rca:run", "root-cause ranking on sockshop-rcd (RCD / RCAEval Sock Shop)"),
    "nezha": ("copilot.bench.rca:run", "root-cause ranking on nezha-ob (Nezha, Online Boutique)"),
    "petshop": ("copilot.bench.rca:run", "root-cause ranking on petshop (PetShop, with call graph)"),
    "detect": ("copilot.bench.detect_bench:run", "copilot detect on ms-cloud-monitoring: point/event P, R, F1"),
    "nab": ("copilot.bench.nab:run", "copilot detect scored NAB-style on a folder in the NAB layout (data/, labels/)"),
    "loghub": ("copilot.bench.loghub:run", "copilot logs parse on loghub-dev: grouping and parsing accuracy"),
    "scenarios": ("copilot.bench.scenarios:run", "end-to-end investigations of the bundled scenarios"),
}
RCA_BENCHMARKS = ("rcd", "nezha", "petshop")


def resolve(name: str) -> Callable[[argparse.Namespace], int]:
    if name not in BENCHMARKS:
        raise CopilotError(f"unknown benchmark {name!r}; choose one of: {', '.join(BENCHMARKS)}")
    target = BENCHMARKS[name][0]
    module_name, _, func_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name:
            raise
        raise CopilotError(f"copilot bench {name} is not available in this build ({module_name} is missing)") from None
    func = getattr(module, func_name, None)
    if func is None:
        raise CopilotError(f"copilot bench {name}: {module_name} has no {func_name}()")
    return func
