"""Approval of tools that change systems. Front ends inject their own approver.

`--query` never asks: it approves only with `--yes` AND only the tools named by
`--allow-tool` / `approved_tools`. Every approver is wrapped per run by `WriteGuard`,
which runs one write (same tool, same arguments) at most once and caps the writes of a run.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Protocol

MAX_WRITES_PER_RUN = 3


class Approver(Protocol):
    async def approve(self, tool: str, arguments: dict[str, Any], description: str) -> bool: ...


class DenyAll:
    """`--query` without `--yes`: never change a system unattended."""

    async def approve(self, tool: str, arguments: dict[str, Any], description: str) -> bool:
        return False


class AllowAll:
    """Approve everything: for tests and embedders that approved in advance (never the CLI)."""

    async def approve(self, tool: str, arguments: dict[str, Any], description: str) -> bool:
        return True


class AllowListed:
    """`--query --yes --allow-tool NAME`: approve only the named tools."""

    def __init__(self, tools: Iterable[str]) -> None:
        self.tools = {t.strip() for t in tools if t and t.strip()}

    async def approve(self, tool: str, arguments: dict[str, Any], description: str) -> bool:
        return tool in self.tools


def query_approver(yes: bool, allowed: Iterable[str]) -> Approver:
    """The approver of `--query`: `--yes` plus an allowlist, nothing else."""
    return AllowListed(allowed) if yes else DenyAll()


class WriteGuard:
    """Per run: a write with the same tool and arguments runs at most once, and at most
    `max_writes` writes run. `reason` says why the last call was refused (or "")."""

    def __init__(self, inner: Approver, max_writes: int = MAX_WRITES_PER_RUN) -> None:
        self.inner = inner
        self.max_writes = max_writes
        self.done: set[str] = set()
        self.reason = ""

    async def approve(self, tool: str, arguments: dict[str, Any], description: str) -> bool:
        key = tool + " " + json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str)
        if key in self.done:
            self.reason = f"{tool} already ran with these arguments in this run; it runs at most once"
            return False
        if len(self.done) >= self.max_writes:
            self.reason = f"this run already made {self.max_writes} changes, the most one run may make"
            return False
        self.reason = ""
        approved = await self.inner.approve(tool, arguments, description)
        if approved:
            self.done.add(key)
        return approved
