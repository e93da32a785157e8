"""jq response filters (the PyPI `jq` library), run safely.

Filters run in child Python processes started with an EMPTY environment (so jq's `env`
and `$ENV` see nothing), under a time limit (a child that is over it is killed and
replaced) and an output cap (the child stops emitting; the result says it was truncated).
Children are kept in a small pool and reused: starting an interpreter per filter costs
more CPU than the filter.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import select
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from copilot.errors import CopilotError

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_CAP_BYTES = 256_000
MAX_WORKERS = 4

_CHILD = r"""
import json, sys
import jq
for line in sys.stdin:
    req = json.loads(line)
    try:
        prog = jq.compile(req["filter"])
        out, used, cut = [], 0, False
        for value in prog.input_value(req["data"]):
            used += len(json.dumps(value, ensure_ascii=False).encode())
            if used > req["cap"]:
                cut = True
                break
            out.append(value)
        answer = {"outputs": out, "truncated": cut}
    except ValueError as exc:
        answer = {"error": str(exc).splitlines()[0] if str(exc) else "jq error"}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
"""


@dataclass
class FilterResult:
    outputs: list[Any]
    truncated: bool = False


class _Timeout(Exception):
    pass


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-I", "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env={})

    def call(self, payload: bytes, timeout_s: float) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(payload + b"\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        if not ready:
            raise _Timeout()
        line = self.proc.stdout.readline()
        if not line:
            raise OSError("the filter process ended")
        return json.loads(line)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class _Pool:
    def __init__(self, size: int) -> None:
        self.size = size
        self.idle: list[_Worker] = []
        self.count = 0
        self.cond = threading.Condition()

    def take(self) -> _Worker:
        with self.cond:
            while not self.idle and self.count >= self.size:
                self.cond.wait()
            if self.idle:
                return self.idle.pop()
            self.count += 1
        try:
            return _Worker()
        except OSError:
            with self.cond:
                self.count -= 1
                self.cond.notify()
            raise

    def give(self, worker: _Worker | None) -> None:
        with self.cond:
            if worker is None:
                self.count -= 1
            else:
                self.idle.append(worker)
            self.cond.notify()

    def warm(self) -> None:
        """Start a child ahead of need (called while a request is in flight)."""
        with self.cond:
            if self.idle or self.count >= self.size:
                return
            self.count += 1
        try:
            worker = _Worker()
        except OSError:
            with self.cond:
                self.count -= 1
            return
        self.give(worker)

    def run(self, payload: bytes, timeout_s: float) -> dict[str, Any]:
        worker = self.take()
        try:
            answer = worker.call(payload, timeout_s)
        except _Timeout:
            worker.kill()
            self.give(None)
            raise
        except (OSError, ValueError) as exc:
            worker.kill()
            self.give(None)
            return {"error": f"the filter process failed ({exc})"}
        self.give(worker)
        return answer

    def close(self) -> None:
        with self.cond:
            for w in self.idle:
                w.kill()
            self.idle.clear()


_POOL = _Pool(MAX_WORKERS)
atexit.register(_POOL.close)


def check_filter(text: str) -> str | None:
    """Compile only (never runs it): the jq error message, or None when the filter is valid."""
    import jq

    try:
        jq.compile(text)
    except ValueError as exc:
        return str(exc).splitlines()[0] if str(exc) else "does not compile"
    return None


async def warm() -> None:
    await asyncio.to_thread(_POOL.warm)


async def run_filter(text: str, data: Any, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                     cap_bytes: int = DEFAULT_CAP_BYTES, what: str = "filter") -> FilterResult:
    payload = json.dumps({"filter": text, "data": data, "cap": cap_bytes}, ensure_ascii=False).encode()
    try:
        answer = await asyncio.to_thread(_POOL.run, payload, timeout_s)
    except _Timeout:
        raise CopilotError(f"{what} ran longer than {timeout_s:g}s and was stopped; simplify the jq filter") from None
    if "error" in answer or "outputs" not in answer:
        raise CopilotError(f"{what} failed: {answer.get('error', 'no output')}; check the jq filter against the response")
    return FilterResult(answer["outputs"], bool(answer.get("truncated")))
