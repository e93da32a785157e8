"""Grouping, deduplication and bounded concurrency of alert investigations.

Every alert is remembered by (group key, fingerprint, status, start): an alert seen before
never starts an investigation again, however often Alertmanager repeats it. New firing
alerts of a group that is still waiting for a slot join that group's investigation instead
of starting another. At most `concurrency` investigations run at once (asyncio.Semaphore).
The remembered keys are appended to a ledger file, so a restart does not run them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

from .payloads import AlertGroup, AlertItem

log = logging.getLogger("copilot.serve")

SEEN_LIMIT = 50_000


def alert_key(group_key: str, alert: AlertItem) -> str:
    return f"{group_key}\x1f{alert.fingerprint}\x1f{alert.status}\x1f{alert.starts_at}"


@dataclass
class Submitted:
    new: int  # alerts not seen before
    duplicates: int  # alerts seen before (re-sent)
    queued: bool  # a new investigation was queued
    merged: bool  # the new alerts joined an investigation still waiting for a slot

    def to_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


class AlertQueue:
    def __init__(
        self,
        handler: Callable[[AlertGroup], Awaitable[None]],
        concurrency: int = 2,
        ledger: Path | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._handler = handler
        self._semaphore = asyncio.Semaphore(concurrency)
        self._pending: dict[str, AlertGroup] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._ledger = ledger
        self.running = 0
        self.peak = 0  # the most investigations that ran at once
        if ledger is not None and ledger.exists():
            for line in ledger.read_text(encoding="utf-8", errors="replace").splitlines()[-SEEN_LIMIT:]:
                self._seen[line] = None

    @property
    def depth(self) -> int:
        """Investigations waiting for a slot plus those running."""
        return len(self._pending) + self.running

    def _remember(self, keys: list[str]) -> None:
        for key in keys:
            self._seen[key] = None
        while len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        if self._ledger is not None and keys:
            self._ledger.parent.mkdir(parents=True, exist_ok=True)
            with self._ledger.open("a", encoding="utf-8") as fh:
                fh.write("".join(k.replace("\n", " ") + "\n" for k in keys))

    def submit(self, group: AlertGroup) -> Submitted:
        fresh: list[AlertItem] = []
        keys: list[str] = []
        for alert in group.alerts:
            key = alert_key(group.key, alert)
            if key in self._seen or key in keys:
                continue
            keys.append(key)
            fresh.append(alert)
        self._remember(keys)
        duplicates = len(group.alerts) - len(fresh)
        firing = [a for a in fresh if a.status == "firing"]
        if not firing:  # re-sent, or only resolutions: nothing new to investigate
            return Submitted(len(fresh), duplicates, False, False)
        waiting = self._pending.get(group.key)
        if waiting is not None:
            waiting.alerts.extend(firing)
            return Submitted(len(fresh), duplicates, False, True)
        self._pending[group.key] = AlertGroup(group.source, group.key, "firing", firing, group.external_url)
        task = asyncio.get_running_loop().create_task(self._run(group.key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return Submitted(len(fresh), duplicates, True, False)

    async def _run(self, key: str) -> None:
        async with self._semaphore:
            group = self._pending.pop(key)
            self.running += 1
            self.peak = max(self.peak, self.running)
            try:
                await self._handler(group)
            except Exception:  # the handler reports its own failures; never kill the queue
                log.exception("investigation of alert group %s failed", key)
            finally:
                self.running -= 1

    async def join(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or running; False when the timeout came first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._tasks:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True
