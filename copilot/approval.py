"""Approval of tools that change systems. Front ends inject their own approver."""

from __future__ import annotations

from typing import Any, Protocol


class Approver(Protocol):
    async def approve(self, tool: str, arguments: dict[str, Any], description: str) -> bool: ...


class DenyAll:
    """`--query` without `--yes`: never change a system unattended."""

    async def approve(self, tool: str, arguments: dict[str, Any], description: str) -> bool:
        return False


class AllowAll:
    """`--query --yes`: the user approved every change in advance."""

    async def approve(self, tool: str, arguments: dict[str, Any], description: str) -> bool:
        return True
