"""The alert queue on its own: dedup, grouping into a waiting investigation, and the
concurrency bound (handlers are coroutines the test releases)."""

from __future__ import annotations

import asyncio

from copilot.service.payloads import AlertGroup, AlertItem
from copilot.service.queue import AlertQueue


def group(key: str, *fingerprints: str, status: str = "firing") -> AlertGroup:
    return AlertGroup("alertmanager", key, status,
                      [AlertItem("A", status, {"alertname": "A"}, {}, 1.0e9, fp) for fp in fingerprints])


async def test_bounded_concurrency_grouping_and_dedup(tmp_path):
    started: list[AlertGroup] = []
    release = asyncio.Event()

    async def handler(g: AlertGroup) -> None:
        started.append(g)
        await release.wait()

    q = AlertQueue(handler, concurrency=2, ledger=tmp_path / "seen.txt")
    for i in range(5):
        assert q.submit(group(f"g{i}", f"f{i}")).queued
    await asyncio.sleep(0.05)
    assert len(started) == 2 and q.running == 2 and q.depth == 5
    # a new alert of a waiting group joins it; a repeat of a known alert is skipped
    merged = q.submit(group("g4", "f4", "f4b"))
    assert merged.merged and merged.new == 1 and merged.duplicates == 1 and not merged.queued
    assert q.submit(group("g0", "f0")).duplicates == 1
    # a resolution is new but starts nothing
    resolved = q.submit(group("g0", "f0", status="resolved"))
    assert resolved.new == 1 and not resolved.queued
    release.set()
    assert await q.join(timeout=5)
    assert [g.key for g in started] == ["g0", "g1", "g2", "g3", "g4"]
    assert [a.fingerprint for a in started[-1].alerts] == ["f4", "f4b"]
    assert q.peak == 2 and q.depth == 0
    # the ledger outlives the process: a restarted queue skips what it saw
    again = AlertQueue(handler, concurrency=1, ledger=tmp_path / "seen.txt")
    assert again.submit(group("g1", "f1")).duplicates == 1


async def test_a_failing_handler_does_not_stop_the_queue():
    seen: list[str] = []

    async def handler(g: AlertGroup) -> None:
        seen.append(g.key)
        if g.key == "bad":
            raise RuntimeError("boom")

    q = AlertQueue(handler, concurrency=1)
    q.submit(group("bad", "x"))
    q.submit(group("good", "y"))
    assert await q.join(timeout=5)
    assert seen == ["bad", "good"]
