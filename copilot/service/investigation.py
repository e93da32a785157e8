"""One alert group -> one saved investigation session.

The question names the alerts, where they fire and since when; the alerts' start is the
window's start. The run uses the service's settings (data, model ...) and a `DenyAll`
approver: nothing that changes a system runs from an alert.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..config import Settings
from .payloads import AlertGroup


def _names(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def alert_question(group: AlertGroup) -> str:
    """"Alert HighLatency firing on checkout since 2024-05-14 14:05 UTC: what is wrong?" """
    alerts = group.firing or group.alerts
    names = _names([a.name for a in alerts])
    components = _names([a.component for a in alerts])
    head = ("Alert " if len(names) == 1 else "Alerts ") + ", ".join(names[:5])
    if len(names) > 5:
        head += f" and {len(names) - 5} more"
    where = f" on {', '.join(components[:5])}" if components else ""
    start = alert_start(group)
    when = f" since {datetime.fromtimestamp(start, timezone.utc):%Y-%m-%d %H:%M} UTC" if start else ""
    return f"{head} firing{where}{when}: what is wrong?"


def alert_start(group: AlertGroup) -> float | None:
    starts = [a.starts_at for a in (group.firing or group.alerts) if a.starts_at]
    return min(starts) if starts else None


def alert_settings(settings: Settings, group: AlertGroup) -> Settings:
    start = alert_start(group)
    since = datetime.fromtimestamp(start, timezone.utc).isoformat() if start else settings.since
    return dataclasses.replace(settings, since=since, auto_approve=False)


def verdict_of(diagnosis: dict[str, Any]) -> str:
    if diagnosis.get("verdict"):
        return str(diagnosis["verdict"])
    return "fault" if diagnosis.get("root_causes") else "unknown"


@dataclass
class Investigation:
    session_id: str
    question: str
    verdict: str = "unknown"
    root_causes: list[dict[str, Any]] = field(default_factory=list)
    report: str = ""  # Markdown
    remediation: dict[str, Any] | None = None  # proposed, never run by the service
    error: str = ""  # why it failed; empty when it answered
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.error)


def investigate(settings: Settings, group: AlertGroup) -> Investigation:
    """Run the investigation to its end (blocking: call it in a worker thread) and return it."""
    from ..approval import DenyAll
    from ..events import FinalAnswer, RunFailed
    from ..remediation import proposal
    from ..session import Session

    question = alert_question(group)
    session = Session(alert_settings(settings, group), approver=DenyAll())
    result = Investigation(session.id, question)
    started = time.monotonic()

    async def consume() -> None:
        async for event in session.ask(question):
            if isinstance(event, FinalAnswer):
                diagnosis = event.diagnosis or {}
                result.verdict = verdict_of(diagnosis)
                result.root_causes = list(diagnosis.get("root_causes") or [])
                result.report = event.answer
                result.remediation = proposal(diagnosis, session.id)
            elif isinstance(event, RunFailed) and not result.report:
                result.error = event.error

    try:
        asyncio.run(consume())
    except Exception as exc:  # noqa: BLE001 - a broken run is reported, not raised into the queue
        result.error = f"{type(exc).__name__}: {exc}"
    if not result.report and not result.error:
        result.error = "the investigation reached no conclusion (step limit)"
    result.seconds = time.monotonic() - started
    return result
