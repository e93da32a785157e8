"""jq response filters (the PyPI `jq` library), run safely.

A filter runs in a child Python process started with an EMPTY environment (so jq's `env`
and `$ENV` see nothing), under a time limit (the child is killed when it is over) and an
output cap (the child stops emitting; the result says it was truncated).
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from typing import Any

from copilot.errors import CopilotError

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_CAP_BYTES = 256_000

_CHILD = r"""
import json, sys
import jq
req = json.loads(sys.stdin.buffer.read())
try:
    prog = jq.compile(req["filter"])
    out, used = [], 0
    for value in prog.input_value(req["data"]):
        text = json.dumps(value, ensure_ascii=False)
        used += len(text.encode())
        if used > req["cap"]:
            sys.stdout.write(json.dumps({"outputs": out, "truncated": True}))
            break
        out.append(value)
    else:
        sys.stdout.write(json.dumps({"outputs": out, "truncated": False}))
except ValueError as exc:
    sys.stdout.write(json.dumps({"error": str(exc).splitlines()[0] if str(exc) else "jq error"}))
"""


@dataclass
class FilterResult:
    outputs: list[Any]
    truncated: bool = False


def check_filter(text: str) -> str | None:
    """Compile only (never runs it): the jq error message, or None when the filter is valid."""
    import jq

    try:
        jq.compile(text)
    except ValueError as exc:
        return str(exc).splitlines()[0] if str(exc) else "does not compile"
    return None


async def run_filter(text: str, data: Any, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                     cap_bytes: int = DEFAULT_CAP_BYTES, what: str = "filter") -> FilterResult:
    payload = json.dumps({"filter": text, "data": data, "cap": cap_bytes}, ensure_ascii=False).encode()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-c", _CHILD, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={},
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(payload), timeout=timeout_s)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise CopilotError(f"{what} ran longer than {timeout_s:g}s and was stopped; simplify the jq filter") from None
    try:
        answer = json.loads(out.decode() or "{}")
    except json.JSONDecodeError:
        answer = {"error": (err.decode(errors="replace").strip().splitlines() or ["the filter process failed"])[-1]}
    if "error" in answer or "outputs" not in answer:
        raise CopilotError(f"{what} failed: {answer.get('error', 'no output')}; check the jq filter against the response")
    return FilterResult(answer["outputs"], bool(answer.get("truncated")))
